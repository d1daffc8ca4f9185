"""Administration: users and roles (settings and privacy requests come later)."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from crm.admin import views  # noqa: E402, F401
