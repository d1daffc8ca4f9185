"""Global search over organisations, contacts, agreements, activities and enquiries."""

from flask import Blueprint

bp = Blueprint("search", __name__)

# The index model and the session event that keeps it in step with every change.
from crm.search import index, models, views  # noqa: E402, F401
