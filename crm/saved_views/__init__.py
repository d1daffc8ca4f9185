"""Saved views: a user keeps a list's filters and sort under a name, may share it with
everyone, and may pick one as the default that opening the list without a query applies."""

from flask import Blueprint

bp = Blueprint("saved_views", __name__)

from crm.saved_views import views  # noqa: E402, F401
