"""The audit history: who changed which fields of a core record, when, from what to what."""

import enum
from datetime import date, datetime, time
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _

from crm.core.models import AuditEntry
from crm.core.types import LabelledEnum
from crm.extensions import db

# Never copied into the history, only noted as changed.
SECRET_FIELDS = {"password_hash", "totp_secret"}
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
}

# How each domain's fields read in the history: {entity_type: {field: (label, kind)}}, where
# kind is a LabelledEnum class, bool, a kind of reference ("user", "organisation", …) or None
# for plain text. Filled by the domains.
_FIELD_DESCRIPTIONS = {}

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


def field_label(entity_type, field):
    description = _FIELD_DESCRIPTIONS.get(entity_type, {}).get(field)
    return description[0] if description else field.replace("_", " ")


def display_value(entity_type, field, value):
    """A stored history value as a reader would say it: labels, yes/no, names."""
    if value is None or value == "" or value == []:
        return "—"
    description = _FIELD_DESCRIPTIONS.get(entity_type, {}).get(field)
    kind = description[1] if description else None
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
    return str(value)
