"""Staff users, roles, sign-in, the role decorator and the staff navigation."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from crm.auth import navigation, oidc_views, views  # noqa: E402, F401
