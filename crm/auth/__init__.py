"""Staff users, roles, sign-in, the role decorator and the staff navigation."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from crm.auth import (  # noqa: E402, F401
    api_token_views,
    navigation,
    oidc_views,
    password_views,
    profile_views,
    two_factor_views,
    views,
)
