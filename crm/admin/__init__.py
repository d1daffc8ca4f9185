"""Administration, for admins only: staff users and their roles, their API tokens, the office
settings (name, public page texts, retention, notifications) and the consent text of the
contact form. Privacy requests and the notice are in crm/privacy, the outbox in crm/mail."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from crm.admin import api_token_views, user_access, user_two_factor, views  # noqa: E402, F401
