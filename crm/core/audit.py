"""The audit history: who changed which fields of a core record, when, from what to what."""

import enum
from datetime import UTC, date, datetime, time
from decimal import Decimal

import sqlalchemy as sa
from flask import g, has_app_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm.core.formatting import file_size, format_clock, format_day, format_moment
from crm.core.models import AuditEntry
from crm.core.types import LabelledEnum
from crm.extensions import db

# Never copied into the history, only noted as changed; never shown even if an older entry
# holds a value.
SECRET_FIELDS = {
    "password_hash",
    "totp_secret",
    "calendar_token",
    "submission_token",
    "token",
    "token_hash",
    "code_hash",
    "stored_name",
}
# Bookkeeping that changes with every save, or is derived, and says nothing to a reader.
IGNORED_FIELDS = {
    "updated_at",
    "created_by_id",
    "deleted_at",
    "deleted_by_id",
    "session_version",
    "failed_logins",
    "locked_until",
    "totp_last_step",
    "last_login_at",
    "search_text",
    "name_key",
    "website_domain",
    "email_domain",
}

# How each domain's fields read in the history: {entity_type: {field: (label, kind)}}, where
# kind is a LabelledEnum class, bool, a kind of reference ("user", "organisation", …) or None
# for plain text. Filled by the domains.
_FIELD_DESCRIPTIONS = {}

# Fields many records share, read the same everywhere; a domain's own description of a
# field comes first. Kinds as above, plus "date", "datetime", "time" (stored as ISO text)
# and "filesize" (bytes).
COMMON_FIELDS = {
    "name": (_l("Name"), None),
    "title": (_l("Title"), None),
    "description": (_l("Description"), None),
    "email": (_l("E-mail"), None),
    "phone": (_l("Phone"), None),
    "message": (_l("Message"), None),
    "body": (_l("Text"), None),
    "reference": (_l("Reference"), None),
    "language": (_l("Language"), "language"),
    "version": (_l("Version"), None),
    "source": (_l("Source"), None),
    "issuer": (_l("Single sign-on provider"), None),
    "organisation_name": (_l("Organisation (as given)"), None),
    "organisation_type": (_l("Kind of organisation (as given)"), None),
    "organisation_id": (_l("Organisation"), "organisation"),
    "agreement_id": (_l("Agreement"), "agreement"),
    "activity_id": (_l("Activity"), "activity"),
    "enquiry_id": (_l("Enquiry"), "enquiry"),
    "contact_id": (_l("Contact"), "contact"),
    "email_id": (_l("E-mail"), None),
    "owner_id": (_l("Owner"), "user"),
    "assignee_id": (_l("Assignee"), "user"),
    "created_at": (_l("Created"), "datetime"),
    "received_at": (_l("Received"), "datetime"),
    "assigned_at": (_l("Assigned"), "datetime"),
    "first_response_at": (_l("First response"), "datetime"),
    "converted_at": (_l("Converted"), "datetime"),
    "closed_at": (_l("Closed"), "datetime"),
    "consent_given_at": (_l("Consent given"), "datetime"),
    "anonymised_at": (_l("Anonymised"), "datetime"),
    "password_changed_at": (_l("Password changed"), "datetime"),
    "totp_enabled_at": (_l("Two-factor sign-in turned on"), "datetime"),
    "done_at": (_l("Done at"), "datetime"),
    "legal_hold": (_l("Legal hold"), bool),
    "legal_hold_reason": (_l("Reason for the legal hold"), None),
    "size_bytes": (_l("Size"), "filesize"),
    "password_hash": (_l("Password"), None),
    "totp_secret": (_l("Two-factor key"), None),
    "calendar_token": (_l("Calendar link"), None),
    "submission_token": (_l("Submission key"), None),
    "stored_name": (_l("Stored file"), None),
    "consent_text_id": (_l("Consent text"), None),
    "privacy_notice_id": (_l("Privacy notice"), None),
}

_LANGUAGE_NAMES = {"sv": _l("Swedish"), "en": _l("English")}

# How a stored id of each kind of reference reads: {kind: name_of(record_id) → str or None}.
# Filled by the domain that owns the records (auth: "user", organisations: "organisation").
_REFERENCE_NAMES = {}


# What each action reads as in the history ("… · Maja · assigned"); domains add their own.
_ACTION_LABELS = {}


def describe_fields(entity_type, fields):
    _FIELD_DESCRIPTIONS[entity_type] = fields


def describe_references(kind, name_of):
    """Register how an id stored under `kind` reads: name_of(record_id) gives the record's
    name, or None when there is no such record."""
    _REFERENCE_NAMES[kind] = name_of


def describe_actions(labels):
    """Register {action: lazy label} for actions a domain records (assign, convert, …)."""
    _ACTION_LABELS.update(labels)


def action_label(action):
    return _ACTION_LABELS.get(action, action)


def pending_changes(record):
    """{field: [old, new]} for the column attributes changed on `record` since it was loaded."""
    state = sa.inspect(record)
    changes = {}
    for attribute in state.mapper.column_attrs:
        key = attribute.key
        if key in IGNORED_FIELDS:
            continue
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old == new:
            continue
        if key in SECRET_FIELDS:
            changes[key] = ["***", "***"]
        else:
            changes[key] = [_jsonable(old), _jsonable(new)]
    return changes


def act_through_token(name):
    """Say that the rest of this request (or app context) acts through the API token called
    `name`: every entry recorded from now on names it after its actor. None stops it."""
    if has_app_context():
        g.audit_api_token_name = name[:100] if name else None


def _api_token_name():
    return g.get("audit_api_token_name") if has_app_context() else None


def record(record, action, *, actor, changes=None):
    """Add an audit entry for `record`; flushes first so a new record has its id."""
    if changes is None:
        changes = pending_changes(record)
    db.session.flush()
    entry = AuditEntry(
        entity_type=record.__tablename__,
        entity_id=record.id,
        action=action,
        changes=changes,
        actor_id=getattr(actor, "id", None),
        api_token_name=_api_token_name(),
    )
    db.session.add(entry)
    return entry


def record_new(entity_type, entity_id, action, *, changes, at, actor=None):
    """An audit entry for a record written without the ORM: one insert, no flush."""
    db.session.execute(
        _INSERT_ENTRY,
        {
            "entity_type": entity_type,
            "entity_id": entity_id,
            "action": action,
            "changes": changes,
            "actor_id": getattr(actor, "id", None),
            "created_at": at,
            "api_token_name": _api_token_name(),
        },
    )


_INSERT_ENTRY = sa.insert(AuditEntry.__table__)


def history(entity_type, entity_id):
    return db.session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.entity_type == entity_type, AuditEntry.entity_id == entity_id)
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
    ).all()


def _jsonable(value):
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def _description(entity_type, field):
    description = _FIELD_DESCRIPTIONS.get(entity_type, {}).get(field)
    common = COMMON_FIELDS.get(field)
    if description is None:
        return common
    if description[1] is None:
        # A domain that names a field but not its kind: take the kind the name implies.
        return (description[0], common[1] if common else _kind_from_name(field))
    return description


def _kind_from_name(field):
    if field.endswith("_at"):
        return "datetime"
    if field.endswith("_date") or field in {"since", "until", "day"}:
        return "date"
    if field.endswith("_time"):
        return "time"
    if field.endswith("_id"):
        return field[: -len("_id")]
    return None


def field_label(entity_type, field):
    """The label a person knows `field` by; a readable form of the name as a last resort."""
    description = _description(entity_type, field)
    if description:
        return str(description[0])
    name = field.removesuffix("_id").removesuffix("_at").replace("_", " ").strip()
    return name[:1].upper() + name[1:]


def display_value(entity_type, field, value):
    """A stored history value as a reader would say it: labels, yes/no, names, dates in the
    reader's language; a secret never."""
    if field in SECRET_FIELDS:
        return _("(not shown)")
    if value is None or value == "" or value == []:
        return "—"
    description = _description(entity_type, field)
    kind = description[1] if description else _kind_from_name(field)
    if isinstance(value, list):
        return ", ".join(display_value(entity_type, field, item) for item in value)
    if isinstance(value, bool) or kind is bool:
        return _("Yes") if value else _("No")
    if isinstance(kind, type) and issubclass(kind, LabelledEnum):
        try:
            return str(kind(value).label)
        except ValueError:
            return str(value)
    if kind in _REFERENCE_NAMES and isinstance(value, int):
        name = _REFERENCE_NAMES[kind](value)
        return name if name is not None else f"#{value}"
    if kind in {"date", "datetime", "time"} and isinstance(value, str):
        return _format_iso(kind, value)
    if kind == "filesize" and isinstance(value, int):
        return file_size(value)
    if kind == "language" and isinstance(value, str):
        return str(_LANGUAGE_NAMES.get(value, value))
    if isinstance(value, int) and isinstance(kind, str) and field.endswith("_id"):
        return f"#{value}"
    return str(value)


def _format_iso(kind, value):
    try:
        if kind == "time":
            return format_clock(time.fromisoformat(value))
        if kind == "date" or len(value) == 10:
            return format_day(date.fromisoformat(value[:10]))
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    # Stored in UTC; naive values were written as UTC too. Babel shows the office's zone.
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return format_moment(moment)
