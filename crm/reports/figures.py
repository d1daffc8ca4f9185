"""Figures per quarter: activities by kind; enquiries received, assigned and converted; median
times to assignment and to first response.

Every figure is one aggregate query over the whole period, so the number of queries does not
grow with the data. Quarters are calendar quarters of the date (activities) or of the UTC
timestamp (enquiries). A median over an even number of enquiries is the mean of the middle two.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import sqlalchemy as sa

from crm.activities.models import Activity, ActivityKind, ActivityOrganisation
from crm.enquiries.models import Enquiry
from crm.extensions import db
from crm.organisations.models import Membership, OrganisationSector, Sector


@dataclass(frozen=True)
class FigureFilters:
    kind: ActivityKind | None = None
    sector: Sector | None = None
    association_id: int | None = None


@dataclass
class QuarterFigures:
    year: int
    quarter: int
    activities_by_kind: dict = field(default_factory=dict)
    received: int = 0
    assigned: int = 0
    converted: int = 0
    # Seconds, or None when no enquiry of the quarter was assigned / answered.
    median_to_assignment: float | None = None
    median_to_first_response: float | None = None

    @property
    def activities(self):
        return sum(self.activities_by_kind.values())

    @property
    def key(self):
        return self.year * 10 + self.quarter


def quarter_of(day):
    return day.year, (day.month - 1) // 3 + 1


def quarters_between(first, last):
    """[(year, quarter), …] from `first` to `last`, both included."""
    year, quarter = first
    result = []
    while (year, quarter) <= last:
        result.append((year, quarter))
        year, quarter = (year, quarter + 1) if quarter < 4 else (year + 1, 1)
    return result


def last_quarters(count, today):
    """The `count` quarters up to and including today's."""
    year, quarter = quarter_of(today)
    result = []
    for _ in range(count):
        result.append((year, quarter))
        year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    return list(reversed(result))


def _quarter_start(year, quarter):
    return date(year, 3 * (quarter - 1) + 1, 1)


def _after_quarter(year, quarter):
    return _quarter_start(year + 1, 1) if quarter == 4 else _quarter_start(year, quarter + 1)


def _as_utc(day):
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _quarter_key(column):
    """year * 10 + quarter of a date or timestamp column, on SQLite and PostgreSQL alike.

    The constants are literal SQL, not bound parameters: PostgreSQL must see the same
    expression in SELECT and GROUP BY."""
    year = sa.cast(sa.extract("year", column), sa.Integer)
    month = sa.cast(sa.extract("month", column), sa.Integer)
    return year * _number(10) + (month + _number(2)) // _number(3)


def _number(value):
    return sa.literal_column(str(int(value)), sa.Integer)


def _seconds_between(start, end):
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.extract("epoch", end - start)
    return (sa.func.julianday(end) - sa.func.julianday(start)) * 86400.0


# ---------------------------------------------------------------- filters


def _activity_conditions(filters):
    conditions = [Activity.deleted_at.is_(None)]
    if filters.kind:
        conditions.append(Activity.kind == filters.kind)
    if filters.sector:
        conditions.append(
            Activity.id.in_(
                sa.select(ActivityOrganisation.activity_id)
                .join(
                    OrganisationSector,
                    OrganisationSector.organisation_id == ActivityOrganisation.organisation_id,
                )
                .where(OrganisationSector.sector == filters.sector)
            )
        )
    if filters.association_id:
        conditions.append(
            Activity.id.in_(
                sa.select(ActivityOrganisation.activity_id)
                .join(Membership, Membership.member_id == ActivityOrganisation.organisation_id)
                .where(Membership.association_id == filters.association_id)
            )
        )
    return conditions


def _enquiry_conditions(filters):
    """The activity kind does not apply to enquiries; sector and association do, through the
    organisation the enquiry is linked to."""
    conditions = [Enquiry.deleted_at.is_(None)]
    if filters.sector:
        conditions.append(
            Enquiry.organisation_id.in_(
                sa.select(OrganisationSector.organisation_id).where(
                    OrganisationSector.sector == filters.sector
                )
            )
        )
    if filters.association_id:
        conditions.append(
            Enquiry.organisation_id.in_(
                sa.select(Membership.member_id).where(
                    Membership.association_id == filters.association_id
                )
            )
        )
    return conditions


# ---------------------------------------------------------------- queries


def _counts_by_quarter(column, start, end, conditions):
    key = _quarter_key(column)
    rows = db.session.execute(
        sa.select(key, sa.func.count(Enquiry.id))
        .where(column >= start, column < end, *conditions)
        .group_by(key)
    ).all()
    return {int(row[0]): row[1] for row in rows}


def _medians_by_quarter(end_column, start, end, conditions):
    """{quarter key: median seconds from receipt to `end_column`} over the enquiries received
    in each quarter that have `end_column` set. Computed in SQL with window functions."""
    key = _quarter_key(Enquiry.received_at).label("key")
    seconds = _seconds_between(Enquiry.received_at, end_column).label("seconds")
    ranked = (
        sa.select(
            key,
            seconds,
            sa.func.row_number().over(partition_by=key, order_by=seconds).label("position"),
            sa.func.count().over(partition_by=key).label("total"),
        )
        .where(
            Enquiry.received_at >= start,
            Enquiry.received_at < end,
            end_column.is_not(None),
            *conditions,
        )
        .subquery()
    )
    # The middle row, or the middle two when the count is even.
    rows = db.session.execute(
        sa.select(ranked.c.key, sa.func.avg(ranked.c.seconds))
        .where(
            ranked.c.position.in_(
                [(ranked.c.total + 1) // 2, (ranked.c.total + 2) // 2],
            )
        )
        .group_by(ranked.c.key)
    ).all()
    return {int(row[0]): max(float(row[1]), 0.0) for row in rows}


def quarter_figures(first, last, filters=None):
    """[QuarterFigures] for every quarter from `first` to `last` ((year, quarter) pairs)."""
    filters = filters or FigureFilters()
    quarters = [QuarterFigures(year, quarter) for year, quarter in quarters_between(first, last)]
    if not quarters:
        return []
    by_key = {row.key: row for row in quarters}
    start_day = _quarter_start(*first)
    end_day = _after_quarter(*last)

    activity_key = _quarter_key(Activity.start_date)
    activity_rows = db.session.execute(
        sa.select(activity_key, Activity.kind, sa.func.count(Activity.id))
        .where(
            Activity.start_date >= start_day,
            Activity.start_date < end_day,
            *_activity_conditions(filters),
        )
        .group_by(activity_key, Activity.kind)
    ).all()
    for key, kind, count in activity_rows:
        row = by_key.get(int(key))
        if row is not None:
            row.activities_by_kind[ActivityKind(kind)] = count

    start, end = _as_utc(start_day), _as_utc(end_day)
    conditions = _enquiry_conditions(filters)
    for name, column in (
        ("received", Enquiry.received_at),
        ("assigned", Enquiry.assigned_at),
        ("converted", Enquiry.converted_at),
    ):
        for key, count in _counts_by_quarter(column, start, end, conditions).items():
            if key in by_key:
                setattr(by_key[key], name, count)
    for name, column in (
        ("median_to_assignment", Enquiry.assigned_at),
        ("median_to_first_response", Enquiry.first_response_at),
    ):
        for key, seconds in _medians_by_quarter(column, start, end, conditions).items():
            if key in by_key:
                setattr(by_key[key], name, seconds)
    return quarters


def year_figures(year, filters=None):
    return quarter_figures((year, 1), (year, 4), filters)


def hours(seconds):
    """Seconds as hours with one decimal, or None."""
    return None if seconds is None else round(seconds / 3600, 1)
