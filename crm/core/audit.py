"""The audit history: who changed which fields of a core record, when, from what to what."""

import enum
from datetime import date, datetime, time
from decimal import Decimal

import sqlalchemy as sa

from crm.core.models import AuditEntry
from crm.extensions import db

# Never copied into the history, only noted as changed.
SECRET_FIELDS = {"password_hash"}
# Bookkeeping that changes with every save and says nothing to a reader.
IGNORED_FIELDS = {"updated_at", "session_version", "failed_logins", "locked_until", "last_login_at"}


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
