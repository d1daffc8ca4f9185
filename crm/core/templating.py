"""Helpers available in every template."""

from urllib.parse import urlencode

from flask import current_app, request, url_for
from flask_babel import format_decimal, get_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from markupsafe import escape

from crm.core import audit
from crm.core.formatting import file_size, format_clock, format_day, format_moment
from crm.core.icons import icon
from crm.core.links import external_url
from crm.core.listing import page_count, page_total
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
        url_with=url_with,
        external_url=external_url,
        audit_action_label=audit.action_label,
        audit_field_label=audit.field_label,
        audit_value=audit.display_value,
        icon=icon,
    )
    app.jinja_env.filters["number"] = format_decimal
    app.jinja_env.filters["page_total"] = page_total
    app.jinja_env.filters["page_count"] = page_count
    app.jinja_env.filters["filesize"] = file_size
    # Jinja's own filter writes "1.2 kB" in every language; ours follows the reader's.
    app.jinja_env.filters["filesizeformat"] = file_size
    app.jinja_env.filters["date"] = format_day
    app.jinja_env.filters["datetime"] = format_moment
    app.jinja_env.filters["time"] = format_clock


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
