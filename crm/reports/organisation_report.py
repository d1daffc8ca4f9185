"""The yearly report per organisation: its activities, enquiries and agreements in a year.

Enquiries are shown as the user may read them (SPEC §4): coordinators and admins see the
list, members only the ones assigned to them, viewers none. Everyone sees how many there
were in all: a count is an aggregate figure, like those on the report page, not an
enquiry's contents.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from crm.activities.models import Activity, ActivityOrganisation
from crm.agreements.coverage import agreements_covering
from crm.auth.models import Role
from crm.enquiries.models import Enquiry
from crm.extensions import db


@dataclass
class OrganisationYear:
    organisation: object
    year: int
    # [(activity, the organisation's role in it)]
    activities: list
    enquiries: list
    enquiry_total: int
    # Which enquiries the list holds: "all", "own" or "none".
    enquiry_scope: str
    coverages: list

    @property
    def activities_by_kind(self):
        counts = {}
        for activity, _role in self.activities:
            counts[activity.kind] = counts.get(activity.kind, 0) + 1
        return sorted(counts.items(), key=lambda item: str(item[0].label))


def _overlaps_year(start, end, year):
    """True when [start, end] (None for open) overlaps the calendar year."""
    return (start is None or start <= date(year, 12, 31)) and (
        end is None or end >= date(year, 1, 1)
    )


def enquiry_scope(user):
    if user.has_role(Role.COORDINATOR):
        return "all"
    if user.has_role(Role.MEMBER):
        return "own"
    return "none"


def organisation_year(organisation, year, *, user):
    first, last = date(year, 1, 1), date(year, 12, 31)
    activities = db.session.execute(
        sa.select(Activity, ActivityOrganisation.role)
        .join(ActivityOrganisation, ActivityOrganisation.activity_id == Activity.id)
        .where(
            ActivityOrganisation.organisation_id == organisation.id,
            Activity.deleted_at.is_(None),
            Activity.start_date <= last,
            sa.func.coalesce(Activity.end_date, Activity.start_date) >= first,
        )
        .order_by(Activity.start_date, Activity.id)
    ).all()

    in_year = (
        Enquiry.organisation_id == organisation.id,
        Enquiry.deleted_at.is_(None),
        Enquiry.received_at >= datetime(year, 1, 1, tzinfo=UTC),
        Enquiry.received_at < datetime(year + 1, 1, 1, tzinfo=UTC),
    )
    total = db.session.scalar(sa.select(sa.func.count(Enquiry.id)).where(*in_year))
    scope = enquiry_scope(user)
    enquiries = []
    if scope != "none" and total:
        select = sa.select(Enquiry).where(*in_year)
        if scope == "own":
            select = select.where(Enquiry.assignee_id == user.id)
        enquiries = db.session.scalars(select.order_by(Enquiry.received_at, Enquiry.id)).all()

    coverages = [
        coverage
        for coverage in agreements_covering(organisation.id)
        if _overlaps_year(coverage.agreement.start_date, coverage.agreement.end_date, year)
    ]
    return OrganisationYear(
        organisation=organisation,
        year=year,
        activities=[(activity, role) for activity, role in activities],
        enquiries=enquiries,
        enquiry_total=total,
        enquiry_scope=scope,
        coverages=coverages,
    )


def coverage_text(coverage):
    if coverage.via is not None:
        return _("Through membership of %(association)s", association=coverage.via.name)
    return str(coverage.role.label) if coverage.role else ""


CSV_HEADER = ("section", "date", "end_date", "kind", "title", "status", "role")


def csv_rows(report):
    """The report as CSV rows: activities, then the enquiries the user may read, then
    agreements."""
    for activity, role in report.activities:
        yield (
            "activity",
            activity.start_date.isoformat(),
            activity.end_date.isoformat() if activity.end_date else None,
            activity.kind.label,
            activity.title,
            activity.status.label,
            role.label,
        )
    for enquiry in report.enquiries:
        yield (
            "enquiry",
            enquiry.received_at.date().isoformat(),
            None,
            enquiry.topic.label,
            enquiry.reference or f"#{enquiry.id}",
            enquiry.status.label,
            None,
        )
    for coverage in report.coverages:
        agreement = coverage.agreement
        yield (
            "agreement",
            agreement.start_date.isoformat() if agreement.start_date else None,
            agreement.end_date.isoformat() if agreement.end_date else None,
            agreement.kind.label,
            agreement.title,
            agreement.status.label,
            coverage_text(coverage),
        )
