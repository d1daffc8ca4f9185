"""The outbox of e-mail messages, the worker that sends them, and the admin's outbox page."""

from flask import Blueprint

bp = Blueprint("mail", __name__)

from crm.mail import views  # noqa: E402, F401
