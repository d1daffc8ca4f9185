"""What the overview shows a staff member. Each part is one query (or a fixed few), whatever
the amount of data, and each list is capped."""

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from crm.activities.models import Activity, ActivityOrganisation
from crm.activities.task_services import TaskFilters, task_select
from crm.agreements.lifecycle import IN_FORCE
from crm.agreements.models import Agreement, ReminderEvent
from crm.auth.models import Role
from crm.core.listing import count_rows
from crm.enquiries.models import Enquiry
from crm.enquiries.services import OPEN_STATUSES
from crm.extensions import db

LIST_LIMIT = 20
RECENT_ACTIVITIES = 10
AGREEMENT_WINDOW_DAYS = 90


@dataclass
class Capped:
    """The first `items` of a list and how many there are in all."""

    items: list
    total: int

    @property
    def more(self):
        return self.total > len(self.items)


def _capped(select, limit=LIST_LIMIT):
    """The first `limit` rows of `select`, and how many there are in all.

    Two queries rather than one with COUNT(*) OVER (): the window makes the database read and
    sort every matching row to hand out the first few, where the rows alone come in index
    order and the count needs no sort."""
    items = db.session.scalars(select.limit(limit)).all()
    return Capped(items, count_rows(select))


def my_open_tasks(user):
    """The user's first open tasks, overdue and soonest due first, and how many there are."""
    return _capped(task_select(TaskFilters(), user=user))


def my_open_enquiries(user):
    """Open enquiries assigned to the user; none for a viewer, who may not read enquiries."""
    if not user.has_role(Role.MEMBER):
        return Capped([], 0)
    conditions = (
        Enquiry.deleted_at.is_(None),
        Enquiry.assignee_id == user.id,
        Enquiry.status.in_(OPEN_STATUSES),
    )
    return _capped(
        sa.select(Enquiry)
        .where(*conditions)
        .options(selectinload(Enquiry.organisation))
        .order_by(Enquiry.received_at, Enquiry.id)
    )


def unassigned_enquiries(user):
    """Open enquiries nobody has taken, oldest first; only coordinators and admins see them."""
    if not user.has_role(Role.COORDINATOR):
        return None
    conditions = (
        Enquiry.deleted_at.is_(None),
        Enquiry.assignee_id.is_(None),
        Enquiry.status.in_(OPEN_STATUSES),
    )
    return _capped(sa.select(Enquiry).where(*conditions).order_by(Enquiry.received_at, Enquiry.id))


@dataclass(frozen=True)
class AgreementEvent:
    agreement: Agreement
    event: ReminderEvent
    day: date


def _notice_date(agreement_table_end, notice_days):
    """end_date − renewal_notice_days as SQL, on SQLite and PostgreSQL."""
    if db.session.get_bind().dialect.name == "postgresql":
        return agreement_table_end - notice_days
    return sa.func.date(
        agreement_table_end,
        sa.literal("-") + sa.cast(notice_days, sa.String) + " days",
        type_=sa.Date,
    )


def agreement_events(today, days=AGREEMENT_WINDOW_DAYS):
    """Notice and end dates of agreements in force that fall within `days` from today,
    soonest first. An agreement can appear twice: once for its notice date, once for its end."""
    last = today + timedelta(days=days)
    notice = _notice_date(Agreement.end_date, Agreement.renewal_notice_days)
    agreements = db.session.scalars(
        sa.select(Agreement).where(
            Agreement.deleted_at.is_(None),
            Agreement.status.in_(IN_FORCE),
            Agreement.end_date.is_not(None),
            Agreement.end_date >= today,
            sa.or_(Agreement.end_date <= last, notice <= last),
        )
    ).all()
    events = []
    for agreement in agreements:
        notice_day = agreement.end_date - timedelta(days=agreement.renewal_notice_days)
        if agreement.renewal_notice_days and today <= notice_day <= last:
            events.append(AgreementEvent(agreement, ReminderEvent.NOTICE, notice_day))
        if agreement.end_date <= last:
            events.append(AgreementEvent(agreement, ReminderEvent.END, agreement.end_date))
    return sorted(events, key=lambda event: (event.day, event.agreement.title, event.event))


def recent_activities(today, limit=RECENT_ACTIVITIES):
    """The latest activities that have started, newest first."""
    return db.session.scalars(
        sa.select(Activity)
        .where(Activity.deleted_at.is_(None), Activity.start_date <= today)
        .options(
            selectinload(Activity.organisations).selectinload(ActivityOrganisation.organisation)
        )
        .order_by(Activity.start_date.desc(), Activity.id.desc())
        .limit(limit)
    ).all()
