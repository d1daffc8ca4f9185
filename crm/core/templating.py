"""Helpers available in every template."""

from flask import current_app, request, url_for
from flask_babel import format_date, format_datetime, get_locale
from flask_login import current_user

from crm.core.security import is_safe_next


def register(app):
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.globals.update(
        current_language=lambda: str(get_locale() or current_app.config["LANGUAGES"][0]),
        language_switch_url=language_switch_url,
        nav_items=nav_items,
    )
    app.jinja_env.filters["date"] = lambda value, fmt="medium": (
        format_date(value, fmt) if value else ""
    )
    app.jinja_env.filters["datetime"] = lambda value, fmt="medium": (
        format_datetime(value, fmt) if value else ""
    )


def language_switch_url(language):
    here = request.full_path if request.endpoint else "/"
    here = here.rstrip("?")
    return url_for("core.set_language", language=language, next=here if is_safe_next(here) else "/")


def nav_items():
    """Navigation entries the signed-in user may use: (endpoint, label)."""
    from flask_babel import gettext as _

    from crm.auth.models import Role

    if not current_user.is_authenticated:
        return []
    items = [("dashboard.index", _("Overview"))]
    if current_user.has_role(Role.ADMIN):
        items.append(("admin.users", _("Users")))
    return items
