"""Reports: figures per quarter and the yearly report per organisation."""

from flask import Blueprint

bp = Blueprint("reports", __name__)

from crm.reports import views  # noqa: E402, F401
