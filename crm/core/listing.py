"""List pages: sorting by a whitelisted key, and pagination."""

from flask import request

from crm.extensions import db

PER_PAGE_CHOICES = (25, 50, 100)
# Beyond this a page number is nonsense (and an OFFSET the database would refuse).
MAX_PAGE = 100_000


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


def paginate(select):
    """db.paginate with ?page and ?per_page read safely (bad values fall back, never 404)."""
    page = request.args.get("page", 1, type=int) or 1
    page = min(max(page, 1), MAX_PAGE)
    per_page = request.args.get("per_page", PER_PAGE_CHOICES[0], type=int)
    if per_page not in PER_PAGE_CHOICES:
        per_page = PER_PAGE_CHOICES[0]
    return db.paginate(select, page=page, per_page=per_page, error_out=False)
