"""The staff navigation: which entries a signed-in user's role shows, and which is current.

Template globals of the whole app, registered with the auth blueprint (the roles live here).
"""

from flask import request
from flask_babel import gettext as _
from flask_login import current_user

from crm.auth import bp
from crm.auth.models import Role


@bp.app_template_global()
def nav_groups():
    """The navigation in groups: (heading or None, [(endpoint, label, icon), ...]).

    The everyday registers come first; the office's mail and administration, which only
    coordinators and admins have, follow under a heading of their own.
    """
    if not current_user.is_authenticated:
        return []
    work = [("dashboard.index", _("Overview"), "overview")]
    if current_user.has_role(Role.MEMBER):
        # Members see the enquiries assigned to them; viewers none (SPEC §4).
        work.append(("enquiries.index", _("Enquiries"), "enquiries"))
    work += [
        ("activities.index", _("Activities"), "activities"),
        ("tasks.index", _("Tasks"), "tasks"),
        ("organisations.index", _("Organisations"), "organisations"),
        ("contacts.index", _("Contacts"), "contacts"),
        ("agreements.index", _("Agreements"), "agreements"),
        ("documents.index", _("Documents"), "documents"),
        ("reports.index", _("Reports"), "reports"),
    ]
    office = []
    if current_user.has_role(Role.COORDINATOR):
        office.append(("mailbox.unmatched", _("Unmatched mail"), "mail"))
    if current_user.has_role(Role.ADMIN):
        office += [
            ("admin.users", _("Users"), "users"),
            ("admin.api_tokens", _("API tokens"), "key"),
            ("admin.settings", _("Settings"), "settings"),
            ("privacy.requests", _("Privacy"), "privacy"),
            ("mail.outbox", _("Outbox"), "outbox"),
            ("webhooks.index", _("Webhooks"), "webhooks"),
        ]
    groups = [(None, work)]
    if office:
        groups.append((_("The office"), office))
    return groups


# Blueprints with more than one entry in the navigation: which pages belong to which entry.
_NAV_SECTIONS = {
    "admin.users": ("admin.users", "admin.create_user", "admin.edit_user", "admin.user"),
    "admin.api_tokens": ("admin.api_tokens", "admin.revoke_api_token"),
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
