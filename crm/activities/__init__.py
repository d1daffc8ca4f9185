"""Collaboration activities, follow-up tasks and the calendar feed."""

from flask import Blueprint

bp = Blueprint("activities", __name__)
tasks_bp = Blueprint("tasks", __name__)
calendar_bp = Blueprint("calendar", __name__)

from crm.activities import bulk_views, calendar_views, task_views, views  # noqa: E402, F401, I001
