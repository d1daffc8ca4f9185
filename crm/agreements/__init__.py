"""Agreements (framework agreements, MoUs, NDAs, …), their parties, coverage and reminders."""

from flask import Blueprint

bp = Blueprint("agreements", __name__)

from crm.agreements import board_views, views  # noqa: E402, F401
