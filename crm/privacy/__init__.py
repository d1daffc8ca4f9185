"""Privacy: the public notice, subject access and erasure requests, and retention."""

from flask import Blueprint

bp = Blueprint("privacy", __name__)

from crm.privacy import views  # noqa: E402, F401
