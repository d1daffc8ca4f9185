"""List pages: sorting by a whitelisted key, and pagination."""

import sqlalchemy as sa
from flask import request
from flask_sqlalchemy.pagination import SelectPagination

from crm.extensions import db

PER_PAGE_CHOICES = (25, 50, 100)
# Beyond this a page number is nonsense (and an OFFSET the database would refuse).
MAX_PAGE = 100_000


# How the lists' search boxes find records by words: the search index (crm/search/index.py,
# a package above the domains) registers itself here, so the domains' lists can use it.
_WORD_INDEX = {}


def register_word_index(matcher):
    """matcher(kind, id_column, query): a condition on id_column, or None for a blank query."""
    _WORD_INDEX["matcher"] = matcher


def words_match(kind, id_column, query):
    """The records of `kind` with words starting as each word of `query` does."""
    return _WORD_INDEX["matcher"](kind, id_column, query)


def sort_order(sorts, default):
    """The ORDER BY for ?sort=key or ?sort=-key, from the `sorts` {key: column(s)} whitelist."""
    requested = request.args.get("sort", default)
    descending = requested.startswith("-")
    key = requested.lstrip("-")
    if key not in sorts:
        key, descending = default.lstrip("-"), default.startswith("-")
    columns = sorts[key]
    if not isinstance(columns, list | tuple):
        columns = [columns]
    order = [column.desc() if descending else column.asc() for column in columns]
    return ("-" if descending else "") + key, order


def count_rows(select, *, session=None):
    """How many rows a select of one model gives, counting their ids alone.

    Counting the whole select as a subquery (Flask-SQLAlchemy's way) takes every column of
    every row along, which makes the database read each row rather than an index."""
    entity = select.column_descriptions[0]["entity"]
    ids = select.with_only_columns(entity.id).options(sa.orm.lazyload("*")).order_by(None)
    count = sa.select(sa.func.count()).select_from(ids.subquery())
    return (session or db.session).execute(count).scalar()


# From this offset on, a page's ids are found first and then their rows loaded.
DEFERRED_JOIN_OFFSET = 1000


class IdsFirstPagination(SelectPagination):
    """Deep pages without reading every skipped row.

    OFFSET makes the database walk past every earlier row. Walking only the ids, in the order
    of an index that holds the sort columns, is cheap; the 25 rows of the page are then loaded
    by primary key (a "deferred join").
    """

    def _query_count(self):
        select = self._query_args["select"]
        if select.column_descriptions[0]["entity"] is None:
            return super()._query_count()
        return count_rows(select, session=self._query_args["session"])

    def _query_items(self):
        select = self._query_args["select"]
        session = self._query_args["session"]
        entity = select.column_descriptions[0]["entity"]
        if self._query_offset < DEFERRED_JOIN_OFFSET or entity is None:
            return super()._query_items()
        ids = session.scalars(
            select.with_only_columns(entity.id)
            .options(sa.orm.lazyload("*"))
            .limit(self.per_page)
            .offset(self._query_offset)
        ).all()
        if not ids:
            return []
        rows = session.scalars(select.where(entity.id.in_(ids))).unique().all()
        position = {row_id: index for index, row_id in enumerate(ids)}
        return sorted(rows, key=lambda row: position[row.id])


def paginate(select):
    """A page of `select`, with ?page and ?per_page read safely (bad values fall back)."""
    page = request.args.get("page", 1, type=int) or 1
    page = min(max(page, 1), MAX_PAGE)
    per_page = request.args.get("per_page", PER_PAGE_CHOICES[0], type=int)
    if per_page not in PER_PAGE_CHOICES:
        per_page = PER_PAGE_CHOICES[0]
    return IdsFirstPagination(
        select=select, session=db.session(), page=page, per_page=per_page, error_out=False
    )
