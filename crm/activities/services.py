"""Activity services: create and update with organisations, contacts and staff, audited;
the list's query.

Services never commit; the view or CLI commits once.
"""

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from blinker import Namespace
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from crm.activities.models import (
    Activity,
    ActivityKind,
    ActivityOrganisation,
    ActivityOrganisationRole,
    ActivityStatus,
    activity_contacts,
    activity_staff,
)
from crm.core import audit, records
from crm.core.audit import describe_fields
from crm.core.forms import FieldError
from crm.documents.services import register_owner
from crm.extensions import db
from crm.organisations.models import Membership, Organisation, OrganisationSector, Sector

register_owner("activity_id", Activity, endpoint="activities.detail")

_signals = Namespace()
# Sent in the transaction that creates an activity (its id known), the activity as the
# sender, with `actor`: for packages above this one (crm.webhooks announces it). Every way an
# activity is made sends it: the forms, quick log, the mailbox, an enquiry's conversion.
activity_created = _signals.signal("activity-created")

describe_fields(
    "activities",
    {
        "kind": (_l("Kind"), ActivityKind),
        "title": (_l("Title"), None),
        "start_date": (_l("Start date"), None),
        "start_time": (_l("Start time"), None),
        "end_date": (_l("End date"), None),
        "end_time": (_l("End time"), None),
        "place": (_l("Place"), None),
        "is_online": (_l("Online"), bool),
        "agreement_id": (_l("Agreement"), None),
        "enquiry_id": (_l("Enquiry"), None),
        "description": (_l("Description"), None),
        "outcome": (_l("Outcome"), None),
        "status": (_l("Status"), ActivityStatus),
        "is_public": (_l("Public"), bool),
        "public_summary": (_l("Public summary"), None),
        "organisations": (_l("Organisations"), None),
        "contacts": (_l("Contacts"), None),
        "staff": (_l("Staff"), None),
    },
)


def _activity_title(activity_id):
    activity = db.session.get(Activity, activity_id)
    return activity.title if activity is not None else None


audit.describe_references("activity", _activity_title)

COLUMN_FIELDS = (
    "kind",
    "title",
    "start_date",
    "start_time",
    "end_date",
    "end_time",
    "place",
    "is_online",
    "agreement_id",
    "description",
    "outcome",
    "status",
    "is_public",
    "public_summary",
)


class ActivityError(FieldError):
    """An activity change that cannot be made (see FieldError)."""


def _validate(data):
    start, end = data.get("start_date"), data.get("end_date")
    if start is None:
        raise ActivityError(_l("Enter the start date."), field="start_date")
    if end is not None:
        if end < start:
            raise ActivityError(
                _l("The end date cannot be before the start date."), field="end_date"
            )
        start_time, end_time = data.get("start_time"), data.get("end_time")
        if end == start and start_time and end_time and end_time < start_time:
            raise ActivityError(
                _l("The end time cannot be before the start time."), field="end_time"
            )
    if not (data.get("title") or "").strip():
        raise ActivityError(_l("Enter a title."), field="title")
    organisation_ids = [organisation.id for organisation, _role in data.get("organisations", [])]
    if len(organisation_ids) != len(set(organisation_ids)):
        raise ActivityError(
            _l("An organisation is listed twice; give it one role."), field="organisations"
        )


def _organisation_texts(activity):
    return sorted(
        f"{link.organisation.name} ({ActivityOrganisationRole(link.role).value})"
        for link in activity.organisations
    )


def _links_snapshot(activity):
    return {
        "organisations": _organisation_texts(activity),
        "contacts": sorted(contact.full_name for contact in activity.contacts),
        "staff": sorted(user.name for user in activity.staff),
    }


def _apply(activity, data):
    for name in COLUMN_FIELDS:
        if name in data:
            setattr(activity, name, data[name])
    if "organisations" in data:
        wanted = {
            organisation.id: (organisation, ActivityOrganisationRole(role or "participant"))
            for organisation, role in data["organisations"]
        }
        for link in list(activity.organisations):
            if link.organisation_id not in wanted:
                activity.organisations.remove(link)
            else:
                link.role = wanted.pop(link.organisation_id)[1]
        for organisation, role in wanted.values():
            activity.organisations.append(
                ActivityOrganisation(organisation=organisation, role=role)
            )
    if "contacts" in data:
        activity.contacts = _unique(data["contacts"])
    if "staff" in data:
        activity.staff = _unique(data["staff"])


def _unique(records):
    seen, result = set(), []
    for record in records:
        if record is not None and record.id not in seen:
            seen.add(record.id)
            result.append(record)
    return result


def create_activity(data, *, actor):
    _validate(data)
    activity = Activity(status=ActivityStatus.PLANNED, is_online=False, is_public=False)
    _apply(activity, data)
    db.session.add(activity)
    changes = audit.pending_changes(activity)
    for key, values in _links_snapshot(activity).items():
        if values:
            changes[key] = [None, values]
    audit.record(activity, "create", actor=actor, changes=changes)
    activity_created.send(activity, actor=actor)
    return activity


def update_activity(activity, data, *, actor):
    merged = {name: getattr(activity, name) for name in COLUMN_FIELDS}
    merged["organisations"] = [(link.organisation, link.role) for link in activity.organisations]
    merged.update(data)
    _validate(merged)
    before = _links_snapshot(activity)
    _apply(activity, data)
    changes = audit.pending_changes(activity)
    after = _links_snapshot(activity)
    for key in before:
        if before[key] != after[key]:
            changes[key] = [before[key], after[key]]
            records.touch(activity)
    if changes:
        audit.record(activity, "update", actor=actor, changes=changes)
    return activity


# ---------------------------------------------------------------- lists


@dataclass
class ActivityFilters:
    kind: str | None = None
    status: str | None = None
    organisation: Organisation | None = None
    sector: str | None = None
    staff_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    deleted: bool = False


def _in_period(first, last):
    """Activities going on at some time from `first` to `last` (either may be None).

    One going on in the period starts within it, or started before it and ends within it or
    later (an end date is never before the start). Asked as the ids of those two, each read
    from its own index (ix_activities_start_date, ix_activities_end_date), rather than as
    coalesce(end_date, start_date) >= first: with that, the database checked every activity
    that started before `last` to count the period's few."""
    if first is None:
        return Activity.start_date <= last
    starts_within = sa.select(Activity.id).where(Activity.start_date >= first)
    started_before = sa.select(Activity.id).where(
        Activity.start_date < first, Activity.end_date >= first
    )
    if last is not None:
        starts_within = starts_within.where(Activity.start_date <= last)
        started_before = started_before.where(Activity.start_date <= last)
    return Activity.id.in_(sa.union_all(starts_within, started_before))


def activity_select(filters):
    """The activities the list shows for these filters (unsorted, unpaginated)."""
    select = sa.select(Activity)
    if filters.deleted:
        select = select.where(Activity.deleted_at.is_not(None))
    else:
        select = select.where(Activity.deleted_at.is_(None))
    if filters.kind:
        select = select.where(Activity.kind == ActivityKind(filters.kind))
    if filters.status:
        select = select.where(Activity.status == ActivityStatus(filters.status))
    if filters.organisation is not None:
        select = select.where(
            Activity.id.in_(
                sa.select(ActivityOrganisation.activity_id).where(
                    ActivityOrganisation.organisation_id == filters.organisation.id
                )
            )
        )
    if filters.sector:
        select = select.where(
            Activity.id.in_(
                sa.select(ActivityOrganisation.activity_id)
                .join(
                    OrganisationSector,
                    OrganisationSector.organisation_id == ActivityOrganisation.organisation_id,
                )
                .where(OrganisationSector.sector == Sector(filters.sector))
            )
        )
    if filters.staff_id:
        select = select.where(
            Activity.id.in_(
                sa.select(activity_staff.c.activity_id).where(
                    activity_staff.c.user_id == filters.staff_id
                )
            )
        )
    if filters.date_from or filters.date_to:
        select = select.where(_in_period(filters.date_from, filters.date_to))
    return select.options(
        selectinload(Activity.organisations).selectinload(ActivityOrganisation.organisation),
        selectinload(Activity.staff),
    )


def status_for_date(day, today):
    """Completed when it happened today or earlier, else planned (the quick-log's rule)."""
    return ActivityStatus.COMPLETED if day <= today else ActivityStatus.PLANNED


def member_activities(association, *, limit=50):
    """Live activities of the association's current members, newest first.

    Each activity comes with the members it involves, sorted by name: [(activity, [org, …])].
    """
    today = date.today()
    member_ids = sa.select(Membership.member_id).where(
        Membership.association_id == association.id,
        sa.or_(Membership.until.is_(None), Membership.until >= today),
    )
    activities = db.session.scalars(
        sa.select(Activity)
        .where(
            Activity.deleted_at.is_(None),
            Activity.id.in_(
                sa.select(ActivityOrganisation.activity_id)
                .join(Organisation, Organisation.id == ActivityOrganisation.organisation_id)
                .where(
                    ActivityOrganisation.organisation_id.in_(member_ids),
                    Organisation.deleted_at.is_(None),
                )
            ),
        )
        .options(
            selectinload(Activity.organisations).selectinload(ActivityOrganisation.organisation)
        )
        .order_by(Activity.start_date.desc(), Activity.id.desc())
        .limit(limit)
    ).all()
    ids = set(db.session.scalars(member_ids))
    return [
        (
            activity,
            sorted(
                (
                    link.organisation
                    for link in activity.organisations
                    if link.organisation_id in ids
                ),
                key=lambda organisation: organisation.name.lower(),
            ),
        )
        for activity in activities
    ]


# ---------------------------------------------------------------- what other pages list


def activities_with_organisation(organisation, *, limit):
    """[(activity, the organisation's role in it)] of live activities, newest first."""
    return db.session.execute(
        sa.select(Activity, ActivityOrganisation.role)
        .join(ActivityOrganisation, ActivityOrganisation.activity_id == Activity.id)
        .where(
            ActivityOrganisation.organisation_id == organisation.id,
            Activity.deleted_at.is_(None),
        )
        .order_by(Activity.start_date.desc(), Activity.id.desc())
        .limit(limit)
    ).all()


def activities_with_contact(contact, *, limit):
    """The contact's live activities, newest first."""
    return db.session.scalars(
        sa.select(Activity)
        .join(activity_contacts, activity_contacts.c.activity_id == Activity.id)
        .where(activity_contacts.c.contact_id == contact.id, Activity.deleted_at.is_(None))
        .order_by(Activity.start_date.desc(), Activity.id.desc())
        .limit(limit)
    ).all()


def live_activities_with(*, organisation=None, contact=None):
    """The live activities `organisation` or `contact` took part in, as an unordered select."""
    select = sa.select(Activity).where(Activity.deleted_at.is_(None))
    if organisation is not None:
        select = select.where(
            Activity.id.in_(
                sa.select(ActivityOrganisation.activity_id).where(
                    ActivityOrganisation.organisation_id == organisation.id
                )
            )
        )
    if contact is not None:
        select = select.where(
            Activity.id.in_(
                sa.select(activity_contacts.c.activity_id).where(
                    activity_contacts.c.contact_id == contact.id
                )
            )
        )
    return select


def activities_under(agreement, *, limit):
    """The live activities held under the agreement, newest first."""
    return db.session.scalars(
        sa.select(Activity)
        .where(Activity.agreement_id == agreement.id, Activity.deleted_at.is_(None))
        .order_by(Activity.start_date.desc(), Activity.id.desc())
        .limit(limit)
    ).all()
