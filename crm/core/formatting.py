"""Dates, times and sizes as people read them, in the reader's language (Babel)."""

from datetime import datetime
from functools import lru_cache

from babel import dates as babel_dates
from flask_babel import format_date, format_decimal, format_time, get_locale, to_user_timezone
from flask_babel import gettext as _


def file_size(size_bytes):
    """A file's size in one unit style everywhere: bytes, kB, MB or GB (powers of 1,000, as
    file managers show them), with the language's decimal sign."""
    if size_bytes is None:
        return ""
    if size_bytes < 1000:
        return _("%(size)s bytes", size=format_decimal(size_bytes))
    for unit in ("kB", "MB", "GB"):
        size_bytes /= 1000
        if size_bytes < 1000 or unit == "GB":
            break
    return f"{format_decimal(round(size_bytes, 1), '#,##0.#')}\u00a0{unit}"


# One way to write a date, and one a date with its time, per language, on every page: the
# format argument older templates pass ('short', 'medium') is accepted and ignored, so a page
# never mixes "2026-12-06" with "6 dec. 2026".
def format_day(value, _fmt=None):
    if not value:
        return ""
    if isinstance(value, datetime):
        value = to_user_timezone(value).date()
    # A list shows the same few days on many rows, and a day reads the same for everyone in
    # a language: each is formatted once per process.
    return _day_in(value, get_locale())


@lru_cache(maxsize=4096)
def _day_in(day, locale):
    return babel_dates.format_date(day, "medium", locale=locale)


def format_clock(value, _fmt=None):
    return format_time(value, "short") if value else ""


def format_moment(value, _fmt=None):
    """A date and time, in the office's time zone: "6 dec. 2026 14:05" / "Dec 6, 2026, 2:05 PM"."""
    if not value:
        return ""
    pattern = get_locale().datetime_formats["medium"]
    return (
        str(pattern)
        .replace("{1}", format_date(value, "medium"))
        .replace("{0}", format_time(value, "short"))
    )
