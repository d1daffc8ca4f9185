"""Uploaded documents attached to organisations, agreements and activities."""

from flask import Blueprint

bp = Blueprint("documents", __name__)

from crm.documents import views  # noqa: E402, F401
