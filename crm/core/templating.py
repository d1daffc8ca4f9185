"""Helpers available in every template."""

from urllib.parse import urlencode

from flask import current_app, request, url_for
from flask_babel import format_date, format_datetime, format_decimal, get_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_login import current_user
from markupsafe import escape

from crm.core import audit
from crm.core.links import external_url
from crm.core.security import is_safe_next


def register(app):
    app.jinja_env.add_extension("jinja2.ext.do")
    # Flask-Babel's lazy strings declare themselves safe HTML (their __html__ returns the
    # raw text), so a message like _l("%(domain)s is not a domain", domain=typed) or a
    # label with "&" would reach the page unescaped, through templates, WTForms and join
    # alike. They are plain text in this app: make their HTML form the escaped text.
    LazyString.__html__ = _escaped_lazy_string
    app.jinja_env.globals.update(
        current_language=lambda: str(get_locale() or current_app.config["LANGUAGES"][0]),
        language_switch_url=language_switch_url,
        nav_items=nav_items,
        is_current_section=is_current_section,
        url_with=url_with,
        external_url=external_url,
        audit_action_label=audit.action_label,
        audit_field_label=audit.field_label,
        audit_value=audit.display_value,
    )
    app.jinja_env.filters["number"] = format_decimal
    app.jinja_env.filters["date"] = lambda value, fmt="medium": (
        format_date(value, fmt) if value else ""
    )
    app.jinja_env.filters["datetime"] = lambda value, fmt="medium": (
        format_datetime(value, fmt) if value else ""
    )


def language_switch_url(language):
    if request.endpoint:
        # Without ?lang=, which would switch the page straight back to the other language.
        args = [(key, value) for key, value in request.args.items(multi=True) if key != "lang"]
        here = request.path + ("?" + urlencode(args) if args else "")
    else:
        here = "/"
    return url_for("core.set_language", language=language, next=here if is_safe_next(here) else "/")


def _escaped_lazy_string(self):
    return escape(str(self))


audit.describe_actions(
    {
        "create": _l("created"),
        "update": _l("changed"),
        "delete": _l("deleted"),
        "restore": _l("restored"),
        "merge": _l("merged"),
        "change_password": _l("changed the password"),
    }
)


def url_with(**changes):
    """This page's URL with some query arguments changed (None removes one)."""
    args = request.args.to_dict(flat=False)
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = [value]
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def nav_items():
    """Navigation entries the signed-in user may use: (endpoint, label)."""
    from flask_babel import gettext as _

    from crm.auth.models import Role

    if not current_user.is_authenticated:
        return []
    items = [("dashboard.index", _("Overview"))]
    if current_user.has_role(Role.MEMBER):
        # Members see the enquiries assigned to them; viewers none (SPEC §4).
        items.append(("enquiries.index", _("Enquiries")))
    items += [
        ("activities.index", _("Activities")),
        ("tasks.index", _("Tasks")),
        ("organisations.index", _("Organisations")),
        ("contacts.index", _("Contacts")),
        ("agreements.index", _("Agreements")),
        ("reports.index", _("Reports")),
    ]
    if current_user.has_role(Role.ADMIN):
        items += [
            ("admin.users", _("Users")),
            ("admin.settings", _("Settings")),
            ("privacy.requests", _("Privacy")),
            ("mail.outbox", _("Outbox")),
        ]
    # A domain whose pages are not built yet has no endpoint; leave it out.
    return [item for item in items if item[0] in current_app.view_functions]


# Blueprints with more than one entry in the navigation: which pages belong to which entry.
_NAV_SECTIONS = {
    "admin.users": ("admin.users", "admin.create_user", "admin.edit_user"),
    "admin.settings": ("admin.settings", "admin.consent_texts"),
}


def is_current_section(endpoint):
    """Whether the page being shown belongs to the navigation entry `endpoint`."""
    here = request.endpoint or ""
    if endpoint in _NAV_SECTIONS:
        return here in _NAV_SECTIONS[endpoint]
    return here.split(".")[0] == endpoint.split(".")[0]
