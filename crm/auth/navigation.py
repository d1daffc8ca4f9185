"""The staff navigation: which entries a signed-in user's role shows, and which is current.

Template globals of the whole app, registered with the auth blueprint (the roles live here).
"""

from flask import request
from flask_babel import gettext as _
from flask_login import current_user

from crm.auth import bp
from crm.auth.models import Role


@bp.app_template_global()
def nav_items():
    """Navigation entries the signed-in user may use: (endpoint, label)."""
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
        ("documents.index", _("Documents")),
        ("reports.index", _("Reports")),
    ]
    if current_user.has_role(Role.COORDINATOR):
        items.append(("mailbox.unmatched", _("Unmatched mail")))
    if current_user.has_role(Role.ADMIN):
        items += [
            ("admin.users", _("Users")),
            ("admin.settings", _("Settings")),
            ("privacy.requests", _("Privacy")),
            ("mail.outbox", _("Outbox")),
        ]
    return items


# Blueprints with more than one entry in the navigation: which pages belong to which entry.
_NAV_SECTIONS = {
    "admin.users": ("admin.users", "admin.create_user", "admin.edit_user", "admin.user"),
    "admin.settings": (
        "admin.settings",
        "admin.consent_texts",
        "admin.reply_templates",
        "admin.create_reply_template",
        "admin.edit_reply_template",
        "admin.delete_reply_template",
    ),
}


@bp.app_template_global()
def is_current_section(endpoint):
    """Whether the page being shown belongs to the navigation entry `endpoint`."""
    here = request.endpoint or ""
    if endpoint in _NAV_SECTIONS:
        return here in _NAV_SECTIONS[endpoint]
    return here.split(".")[0] == endpoint.split(".")[0]
