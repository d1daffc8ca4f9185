"""List pages: sorting by a whitelisted key, and pagination."""

import sqlalchemy as sa
from flask import current_app, request
from flask_babel import format_decimal
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


def count_rows(select, *, session=None, limit=None):
    """How many rows a select of one model gives, counting their ids alone; with `limit`,
    counting stops after limit + 1 of them.

    Counting the whole select as a subquery (Flask-SQLAlchemy's way) takes every column of
    every row along, which makes the database read each row rather than an index."""
    entity = select.column_descriptions[0]["entity"]
    ids = select.with_only_columns(entity.id).options(sa.orm.lazyload("*")).order_by(None)
    if limit is not None:
        ids = ids.limit(limit + 1)
    count = sa.select(sa.func.count()).select_from(ids.subquery())
    return (session or db.session).execute(count).scalar()


# From this offset on, a page's ids are found first and then their rows loaded.
DEFERRED_JOIN_OFFSET = 1000


class IdsFirstPagination(SelectPagination):
    """Deep pages without reading every skipped row, and a count that stops.

    OFFSET makes the database walk past every earlier row. Walking only the ids, in the order
    of an index that holds the sort columns, is cheap; the 25 rows of the page are then loaded
    by primary key (a "deferred join").

    The count stops at LIST_COUNT_LIMIT: counting reads every matching index entry, so an
    exact count of a register of a million costs a page more than its rows do, and grows
    with it. Past the limit, `total_capped` is set, the page says "10,000+", and the pages
    go on as long as there are rows (`pages` is then at least one more than a full page).
    """

    total_capped = False

    def _query_count(self):
        select = self._query_args["select"]
        if select.column_descriptions[0]["entity"] is None:
            return super()._query_count()
        limit = current_app.config["LIST_COUNT_LIMIT"]
        total = count_rows(select, session=self._query_args["session"], limit=limit)
        if total > limit:
            self.total_capped = True
            return limit
        return total

    @property
    def pages(self):
        pages = super().pages
        if self.total_capped and len(self.items) == self.per_page:
            return max(pages, self.page + 1)
        return max(pages, self.page) if self.total_capped else pages

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


def page_total(page):
    """A page's total as the list says it: "1,234", or "10,000+" past the counting limit."""
    total = format_decimal(page.total)
    return f"{total}+" if getattr(page, "total_capped", False) else total


def page_count(page):
    """The number of pages as the list says it: "40", or "401+" past the counting limit."""
    return f"{page.pages}+" if getattr(page, "total_capped", False) else str(page.pages)
