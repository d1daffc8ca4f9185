"""The public collaboration page (a first version; the public-page issue completes it)."""

from flask import Blueprint

bp = Blueprint("public", __name__)

from crm.public import views  # noqa: E402, F401
