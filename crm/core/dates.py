"""The office's calendar: its time zone and today's date there."""

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app


def office_zone():
    return ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Europe/Stockholm"))


def local_today():
    """Today in the office's time zone (a task is due, an agreement ends, on a local day)."""
    return datetime.now(office_zone()).date()
