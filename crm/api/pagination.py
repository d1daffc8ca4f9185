"""Cursor pagination for the API's lists: each page continues after the last row of the one
before, by the list's sort order, so a client walking a register while it changes neither
skips nor repeats a record, and a deep page costs what the first does (no OFFSET).

The cursor is opaque to clients: base64 of the sort key and the last row's sort values.
"""

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

import marshmallow as ma
import sqlalchemy as sa
from flask import current_app, request, url_for
from flask_babel import lazy_gettext as _l

from crm.api.problems import Problem
from crm.extensions import db


@dataclass(frozen=True)
class SortKey:
    """A sort key that is an expression, not a column (the inbox's "unassigned first"): how
    to read its value off a row, and its type."""

    expression: object
    value_of: Callable
    python_type: type


BAD_CURSOR = _l("The cursor is not one this list gave out (for this sort order).")


def sort_columns(sorts, requested, default):
    """(key as given back, columns, descending) for ?sort=key or ?sort=-key from `sorts`."""
    requested = requested or default
    descending = requested.startswith("-")
    key = requested.lstrip("-")
    if key not in sorts:
        raise Problem(
            422,
            errors=[
                {
                    "field": "sort",
                    "detail": str(_l("Sort by one of: %(keys)s.", keys=", ".join(sorted(sorts)))),
                }
            ],
        )
    columns = sorts[key]
    return ("-" if descending else "") + key, list(columns), descending


def list_page(select, sorts, args, *, default_sort, updated_column, rows_of=None, present=None):
    """A list operation's answer: the page of `select` that args (sort, cursor, limit,
    updated_since) ask for, with the Link header of the next one.

    With `rows_of(select)` (the rows, as a list) and `present(rows)` (their JSON), the
    answer is made here rather than by the operation's schema (see crm/api/organisations.py).
    """
    if args.get("updated_since"):
        select = select.where(updated_column >= args["updated_since"])
    sort_key, columns, descending = sort_columns(sorts, args.get("sort"), default_sort)
    items, next_cursor = cursor_page(
        select,
        columns,
        descending=descending,
        sort_key=sort_key,
        cursor=args.get("cursor"),
        limit=args["limit"],
        rows_of=rows_of,
    )
    headers = next_link(next_cursor) if next_cursor else {}
    if present is not None:
        return json_response({"items": present(items), "next_cursor": next_cursor}, 200, headers)
    return {"items": items, "next_cursor": next_cursor}, 200, headers


def json_response(body, status=200, headers=None):
    """A JSON answer made by the operation itself; flask-smorest passes it on undumped."""
    response = current_app.response_class(
        current_app.json.dumps(body), status=status, mimetype="application/json"
    )
    response.headers.update(headers or {})
    return response


def sort_argument(sorts, default):
    """The ?sort= argument of a list: one of the keys, "-" before it for descending."""
    return ma.fields.String(
        load_default=default,
        validate=ma.validate.OneOf([*sorts, *[f"-{key}" for key in sorts]]),
        metadata={"description": "A key, or -key for the reverse order."},
    )


def cursor_page(select, columns, *, descending, sort_key, cursor, limit, rows_of=None):
    """(rows, next cursor or None) of `select` ordered by `columns` (the last one unique);
    the rows are records unless `rows_of(select)` reads them otherwise."""
    if cursor:
        values = _decode(cursor, sort_key, columns)
        select = select.where(_after([_sql(c) for c in columns], values, descending))
    order = [_ordered(_sql(column), descending) for column in columns]
    select = select.order_by(None).order_by(*order).limit(limit + 1)
    rows = rows_of(select) if rows_of else db.session.scalars(select).unique().all()
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, _encode(sort_key, [_value(rows[-1], column) for column in columns])


def next_link(next_cursor):
    """The Link header for the next page: this URL with the new cursor."""
    args = request.args.to_dict(flat=False)
    args["cursor"] = [next_cursor]
    url = url_for(request.endpoint, **(request.view_args or {}), **args, _external=False)
    return {"Link": f'<{url}>; rel="next"'}


def _sql(column):
    return column.expression if isinstance(column, SortKey) else column


def _nullable(column):
    return bool(getattr(getattr(column, "expression", column), "nullable", False))


def _ordered(column, descending):
    # NULLs sort first going up and last going down, the same on SQLite and PostgreSQL (whose
    # defaults differ), so the keyset condition below knows where they are. Only for columns
    # that may hold NULL: the clause would stop PostgreSQL from reading a plain index in order.
    if descending:
        ordered = column.desc()
        return ordered.nulls_last() if _nullable(column) else ordered
    ordered = column.asc()
    return ordered.nulls_first() if _nullable(column) else ordered


def _after(columns, values, descending):
    """Rows that come after `values` in the order of `columns`."""
    if not any(_nullable(column) for column in columns):
        # A row-value comparison, which both databases read as one range of an index.
        # Compared with a plain tuple, each value is bound with its column's type.
        left, right = sa.tuple_(*columns), tuple(values)
        return left < right if descending else left > right
    return _after_from(list(zip(columns, values, strict=True)), descending)


def _after_from(pairs, descending):
    (column, value), rest = pairs[0], pairs[1:]
    if isinstance(value, bool):
        # A condition as a key ("no end date"): SQL compares it only for equality, so it is
        # compared as 0 or 1 (the order it sorts in).
        column, value = sa.case((column, 1), else_=0), int(value)
    if not rest:
        return column < value if descending else column > value
    after_rest = _after_from(rest, descending)
    if value is None:
        if descending:  # NULLs last: only the NULLs after this row's remain
            return sa.and_(column.is_(None), after_rest)
        return sa.or_(column.is_not(None), sa.and_(column.is_(None), after_rest))
    beyond = column < value if descending else column > value
    if descending and _nullable(column):
        beyond = sa.or_(beyond, column.is_(None))
    return sa.or_(beyond, sa.and_(column == value, after_rest))


def _value(row, column):
    value = column.value_of(row) if isinstance(column, SortKey) else getattr(row, column.key)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "value"):  # an enum
        return value.value
    return value


def _encode(sort_key, values):
    raw = json.dumps({"s": sort_key, "v": values}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor, sort_key, columns):
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        values = data["v"]
        if data["s"] != sort_key or len(values) != len(columns):
            raise ValueError
        return [_typed(column, value) for column, value in zip(columns, values, strict=True)]
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeError):
        raise Problem(
            400, errors=[{"field": "cursor", "detail": str(BAD_CURSOR)}], detail=BAD_CURSOR
        ) from None


def _typed(column, value):
    if value is None:
        if not _nullable(column):
            raise ValueError
        return None
    python_type = _python_type(column)
    if python_type is datetime:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError
        return moment
    if python_type is date:
        return date.fromisoformat(value)
    if python_type is int:
        if not isinstance(value, int) or isinstance(value, bool) or abs(value) > 2**63:
            raise ValueError
        return value
    if python_type is bool:
        if not isinstance(value, bool):
            raise ValueError
        return value
    if not isinstance(value, str):
        raise ValueError
    enums = getattr(getattr(_sql(column), "type", None), "enums", None)
    if enums is not None and value not in enums:
        raise ValueError  # a made-up cursor would otherwise fail in the enum type
    return value


def _python_type(column):
    if isinstance(column, SortKey):
        return column.python_type
    column_type = column.type
    impl = getattr(column_type, "impl", column_type)
    if isinstance(impl, sa.DateTime):
        return datetime
    if isinstance(impl, sa.Date):
        return date
    if isinstance(impl, sa.Boolean):
        return bool
    if isinstance(impl, sa.Integer):
        return int
    return str
