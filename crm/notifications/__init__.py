"""What is new for each user: assignments, replies to their enquiries, tasks due."""

from flask import Blueprint

bp = Blueprint("notifications", __name__)

from crm.notifications import views  # noqa: E402, F401
