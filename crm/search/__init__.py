"""Global search over organisations, contacts, agreements, activities and enquiries."""

from flask import Blueprint

bp = Blueprint("search", __name__)

from crm.search import views  # noqa: E402, F401
