"""What the boards (enquiries by status, agreements by stage) share: their columns of cards,
read in a fixed number of queries, and a refused move to show on its card."""

from dataclasses import dataclass, field

import sqlalchemy as sa

from crm.extensions import db

# Cards per column: a column of closed or ended records grows for ever; the list has the rest.
CARD_LIMIT = 50


@dataclass
class Column:
    status: object
    total: int = 0
    cards: list = field(default_factory=list)


@dataclass
class MoveError:
    """A move the board refused, shown on its card with what the person had chosen."""

    record_id: int
    message: str
    field: str = "status"
    status: str = ""
    reason: str = ""


def board_columns(model, statuses, *, where, order, options=(), limit=None):
    """One Column per status (in `statuses`' order) with the first `limit` records of
    `model` that match `where`, in `order`, and the number of them all.

    The cards are ranked within their column in the database (row_number over the status),
    so every column is cut at its limit in one statement: three queries and the eager loads
    in `options`, however many columns and cards there are.
    """
    limit = limit or CARD_LIMIT
    position = (
        sa.func.row_number().over(partition_by=model.status, order_by=order).label("position")
    )
    ranked = sa.select(model.id, position).where(where).subquery()
    records = db.session.scalars(
        sa.select(model)
        .join(ranked, ranked.c.id == model.id)
        .where(ranked.c.position <= limit)
        .options(*options)
        .order_by(*order)
    ).all()
    columns = {status: Column(status) for status in statuses}
    for status, count in db.session.execute(
        sa.select(model.status, sa.func.count()).where(where).group_by(model.status)
    ):
        columns[status].total = count
    for record in records:
        columns[record.status].cards.append(record)
    return list(columns.values())
