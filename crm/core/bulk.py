"""Bulk actions on a list: which records a request chose, and applying one service to each.

The records are always read again through the list's own "may see" condition, so an id
that a user may not see (or that was tampered into the form) is never touched; each record
then goes through the same service as a change made one by one, with its own audit entry.
"""

from dataclasses import dataclass, field
from urllib.parse import urlencode

import sqlalchemy as sa

from crm.core import records
from crm.core.forms import FieldError
from crm.extensions import db

# More than this in one go is refused: the confirmation page lists the ids in its form.
MAX_RECORDS = 1000
# The query-string keys that are not filters (the bulk form's own fields, paging).
# The bulk forms' fields carry this prefix, so a field never clashes with a filter ("status").
FORM_PREFIX = "bulk-"
NOT_FILTERS = {"id", "scope", "action", "page", "csrf_token"}


def chosen_ids(values):
    """The record ids among `values` (form or query values), without duplicates or junk."""
    ids = []
    for value in values:
        record_id = records.parse_id(value)
        if record_id and record_id not in ids:
            ids.append(record_id)
    return ids


def filter_args(args):
    """The list's filters (and sort) from a request's args, as (key, value) pairs."""
    return [
        (key, value)
        for key, value in args.items(multi=True)
        if key not in NOT_FILTERS and not key.startswith(FORM_PREFIX)
    ]


def filter_query(args):
    """The list's filters as a query string, to go back to the list as it was."""
    return urlencode(filter_args(args))


def chosen(select, model, args):
    """The records of `select` (the list's select for the user, filters applied) the request
    chose: every one when scope is "all", else those whose ids were ticked. At most
    MAX_RECORDS + 1 rows are read, so the caller can refuse too many."""
    if args.get("scope") != "all":
        ids = chosen_ids(args.getlist("id"))
        if not ids:
            return []
        select = select.where(model.id.in_(ids[: MAX_RECORDS + 1]))
    return db.session.scalars(select.limit(MAX_RECORDS + 1)).unique().all()


def by_ids(select, model, ids):
    """The records with these ids that `select` (already limited to what the user may see)
    returns; the others are left out silently."""
    if not ids:
        return []
    return (
        db.session.scalars(select.where(model.id.in_(ids[:MAX_RECORDS])).order_by(None))
        .unique()
        .all()
    )


@dataclass
class BulkResult:
    changed: int = 0
    unchanged: int = 0
    # (record's name, why it could not be changed)
    failed: list = field(default_factory=list)


def apply(items, change, *, name):
    """Call `change(item)` on each item: True when it changed, False when it already was so.

    A FieldError (the service refusing, before it changes anything) is noted with the item's
    `name(item)` and the others go on.
    """
    result = BulkResult()
    for item in items:
        try:
            if change(item):
                result.changed += 1
            else:
                result.unchanged += 1
        except FieldError as error:
            result.failed.append((name(item), str(error)))
    return result


def id_condition(model, ids):
    return model.id.in_(ids) if ids else sa.false()
