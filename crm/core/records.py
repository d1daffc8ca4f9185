"""Loading records the user may see, and soft delete / restore with an audit entry."""

from flask import abort

from crm.core import audit
from crm.core.types import utcnow
from crm.extensions import db

# Ids are 32-bit integers on PostgreSQL; anything outside cannot exist (and must not 500).
MAX_ID = 2**31 - 1


def is_valid_id(value):
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def parse_id(value):
    """A record id from a query argument or form field, or None when it cannot be one."""
    if isinstance(value, int):
        return value if is_valid_id(value) else None
    text = str(value or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    number = int(text)
    return number if is_valid_id(number) else None


def get_visible_or_404(model, record_id, *, include_deleted=False):
    """The record, or 404 when it does not exist, is deleted, or the user may not read it.

    A record the user may not read answers 404, not 403, so ids leak nothing.
    """
    record = db.session.get(model, record_id) if is_valid_id(record_id) else None
    if record is None:
        abort(404)
    if getattr(record, "is_deleted", False) and not include_deleted:
        abort(404)
    can_view = getattr(record, "can_view", None)
    if can_view is not None and not can_view():
        abort(404)
    return record


def touch(record):
    """Mark `record` changed now. A change to its collections alone (an organisation's
    sectors or tags, a contact's affiliations, an activity's links) changes no column of its
    own, so updated_at would not move, and lists sorted by it, and API clients that sync by
    updated_since, would miss the change."""
    record.updated_at = utcnow()


def soft_delete(record, *, actor):
    record.deleted_at = utcnow()
    record.deleted_by_id = getattr(actor, "id", None)
    audit.record(record, "delete", actor=actor, changes={})


def restore(record, *, actor):
    record.deleted_at = None
    record.deleted_by_id = None
    audit.record(record, "restore", actor=actor, changes={})
