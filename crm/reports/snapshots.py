"""Figures of quarters (the overview's last four, the report's year), computed once per
period and kept.

Computing them reads every activity and enquiry of a year (counts and medians); at the
scale of SPEC §6 that is most of the overview's and the report's cost. They are figures of
quarters, so the pages show them as computed at most FIGURES_REFRESH_MINUTES ago, with the
time they were computed; the first view after that computes them again. Each set of report
filters is kept apart, and the report's CSV reads the same snapshot as its page.

The snapshot is written on a connection of its own, in a transaction that starts with the
write: a read-only page does not turn its own transaction into a writing one (on SQLite that
could fail at once instead of waiting for the lock), and the write does not count as a change
of data that would empty the page cache.
"""

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from crm.activities.models import ActivityKind
from crm.core.database import upsert_insert
from crm.core.types import utcnow
from crm.extensions import db
from crm.reports import figures
from crm.reports.models import FigureSnapshot


def quarter_figures(first, last, filters=None):
    """(figures.quarter_figures(first, last, filters), when they were computed), from the
    snapshot while it is fresh."""
    key = f"quarters:{first[0]}Q{first[1]}-{last[0]}Q{last[1]}"
    if filters is not None and (filters.kind or filters.sector or filters.association_id):
        kind = filters.kind.value if filters.kind else ""
        sector = filters.sector.value if filters.sector else ""
        key += f":{kind}:{sector}:{filters.association_id or ''}"
    now = utcnow()
    refresh = timedelta(minutes=current_app.config["FIGURES_REFRESH_MINUTES"])
    stored = db.session.execute(
        sa.select(FigureSnapshot.computed_at, FigureSnapshot.figures).where(
            FigureSnapshot.key == key
        )
    ).first()
    if stored is not None and now - stored.computed_at < refresh:
        return [_from_json(row) for row in stored.figures], stored.computed_at
    rows = figures.quarter_figures(first, last, filters)
    _store(key, now, [_to_json(row) for row in rows])
    return rows, now


def _store(key, computed_at, values):
    table = FigureSnapshot.__table__
    statement = upsert_insert(table, db.engine.dialect).values(
        key=key, computed_at=computed_at, figures=values
    )
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={"computed_at": statement.excluded.computed_at, "figures": statement.excluded.figures},
    )
    with db.engine.begin() as connection:
        connection.execute(statement)


def _to_json(row):
    return {
        "year": row.year,
        "quarter": row.quarter,
        "activities_by_kind": {kind.value: count for kind, count in row.activities_by_kind.items()},
        "received": row.received,
        "assigned": row.assigned,
        "converted": row.converted,
        "median_to_assignment": row.median_to_assignment,
        "median_to_first_response": row.median_to_first_response,
    }


def _from_json(values):
    values = dict(values)
    values["activities_by_kind"] = {
        ActivityKind(kind): count for kind, count in values["activities_by_kind"].items()
    }
    return figures.QuarterFigures(**values)
