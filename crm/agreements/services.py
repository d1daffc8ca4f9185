"""Agreement services: create, update and change status with their parties, audited.

The status and date rules live here, so the form, the status buttons and any later caller
obey the same ones. Services never commit; the view or CLI commits once.
"""

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from crm.agreements.lifecycle import ALLOWED_TRANSITIONS, can_transition, status_changed
from crm.agreements.models import (
    Agreement,
    AgreementKind,
    AgreementParty,
    AgreementStatus,
    PartyRole,
)
from crm.core import audit, records
from crm.core.audit import describe_fields
from crm.core.forms import FieldError
from crm.documents.services import register_owner
from crm.extensions import db
from crm.organisations.models import Organisation

register_owner("agreement_id", Agreement, endpoint="agreements.detail")

describe_fields(
    "agreements",
    {
        "kind": (_l("Kind"), AgreementKind),
        "title": (_l("Title"), None),
        "status": (_l("Status"), AgreementStatus),
        "our_signatory": (_l("Our signatory"), None),
        "signed_date": (_l("Signed on"), None),
        "start_date": (_l("Start date"), None),
        "end_date": (_l("End date"), None),
        "renewal_notice_days": (_l("Renewal notice (days)"), None),
        "owner_id": (_l("Owner"), "user"),
        "description": (_l("Description"), None),
        "is_public": (_l("Public"), bool),
        "covers_members": (_l("Covers the members of signing associations"), bool),
        "parties": (_l("Parties"), None),
    },
)


def _agreement_title(agreement_id):
    agreement = db.session.get(Agreement, agreement_id)
    return agreement.title if agreement is not None else None


audit.describe_references("agreement", _agreement_title)

COLUMN_FIELDS = (
    "kind",
    "title",
    "status",
    "our_signatory",
    "signed_date",
    "start_date",
    "end_date",
    "renewal_notice_days",
    "owner_id",
    "description",
    "is_public",
    "covers_members",
)

# A new agreement is recorded at whatever stage it has reached; it cannot be born ended.
INITIAL_STATUSES = (
    AgreementStatus.DRAFT,
    AgreementStatus.NEGOTIATION,
    AgreementStatus.SIGNED,
    AgreementStatus.ACTIVE,
)
# Statuses that say the agreement was signed, so they need the date it was signed.
SIGNED_STATUSES = (AgreementStatus.SIGNED, AgreementStatus.ACTIVE, AgreementStatus.EXPIRED)


class AgreementError(FieldError):
    """An agreement change that cannot be made (see FieldError)."""


def renewal_notice_date(agreement):
    """The day to decide on renewal: end date minus the notice period, or None."""
    if agreement.end_date is None:
        return None
    return agreement.end_date - timedelta(days=agreement.renewal_notice_days or 0)


def _validate(data, *, previous_status, today):
    if not (data.get("title") or "").strip():
        raise AgreementError(_l("Enter a title."), field="title")
    status = data["status"]
    if previous_status is None:
        if status not in INITIAL_STATUSES:
            raise AgreementError(
                _l("A new agreement starts as a draft, in negotiation, signed or active."),
                field="status",
            )
    elif not can_transition(previous_status, status):
        raise AgreementError(
            _l(
                "An agreement cannot go from %(old)s to %(new)s.",
                old=previous_status.label,
                new=status.label,
            ),
            field="status",
        )
    parties = data.get("parties") or []
    if not parties:
        raise AgreementError(_l("Name at least one party."), field="parties")
    organisation_ids = [organisation.id for organisation, _role in parties]
    if len(organisation_ids) != len(set(organisation_ids)):
        raise AgreementError(
            _l("An organisation is listed twice; give it one role."), field="parties"
        )
    notice_days = data.get("renewal_notice_days")
    if notice_days is None or notice_days < 0:
        raise AgreementError(
            _l("The renewal notice is a number of days, 0 or more."), field="renewal_notice_days"
        )
    start, end, signed = data.get("start_date"), data.get("end_date"), data.get("signed_date")
    if start and end and end < start:
        raise AgreementError(_l("The end date cannot be before the start date."), field="end_date")
    if end and end.toordinal() <= notice_days:
        # The renewal notice date (the end less the notice days) would fall before the year 1,
        # which no page could compute or show.
        raise AgreementError(
            _l("The end date is too early for its renewal notice."), field="end_date"
        )
    if signed and signed > today:
        raise AgreementError(_l("The signed date cannot be in the future."), field="signed_date")
    was_signed = previous_status in SIGNED_STATUSES
    needs_signed_date = status in SIGNED_STATUSES or (
        status == AgreementStatus.TERMINATED and was_signed
    )
    if needs_signed_date and signed is None:
        raise AgreementError(
            _l("Enter the date the agreement was signed (status %(status)s).", status=status.label),
            field="signed_date",
        )
    if status == AgreementStatus.ACTIVE:
        if start and signed and signed > start:
            raise AgreementError(
                _l("An active agreement must be signed on or before its start date."),
                field="signed_date",
            )
        if start and start > today:
            raise AgreementError(
                _l(
                    "The agreement starts on %(date)s; it cannot be active before then. "
                    "Choose “signed” for now.",
                    date=start.isoformat(),
                ),
                field="status",
            )


def _party_texts(agreement):
    return sorted(
        f"{party.organisation.name} ({PartyRole(party.role).value})" for party in agreement.parties
    )


def _apply(agreement, data):
    for name in COLUMN_FIELDS:
        if name in data:
            setattr(agreement, name, data[name])
    if "parties" in data:
        wanted = {
            organisation.id: (organisation, PartyRole(role or PartyRole.PARTY))
            for organisation, role in data["parties"]
        }
        for party in list(agreement.parties):
            if party.organisation_id not in wanted:
                agreement.parties.remove(party)
            else:
                party.role = wanted.pop(party.organisation_id)[1]
        for organisation, role in wanted.values():
            agreement.parties.append(AgreementParty(organisation=organisation, role=role))


def create_agreement(data, *, actor, today=None):
    """A new agreement with its parties; raises AgreementError when the data breaks a rule."""
    today = today or date.today()
    data = {"renewal_notice_days": 90, "status": AgreementStatus.DRAFT, **data}
    _validate(data, previous_status=None, today=today)
    agreement = Agreement(is_public=False, covers_members=False)
    _apply(agreement, data)
    db.session.add(agreement)
    changes = audit.pending_changes(agreement)
    parties = _party_texts(agreement)
    if parties:
        changes["parties"] = [None, parties]
    audit.record(agreement, "create", actor=actor, changes=changes)
    return agreement


def update_agreement(agreement, data, *, actor, today=None):
    """Change fields and parties; the status may only move as the lifecycle allows."""
    today = today or date.today()
    merged = {name: getattr(agreement, name) for name in COLUMN_FIELDS}
    merged["parties"] = [(party.organisation, party.role) for party in agreement.parties]
    merged.update(data)
    _validate(merged, previous_status=agreement.status, today=today)
    old_status = agreement.status
    before = _party_texts(agreement)
    _apply(agreement, data)
    changes = audit.pending_changes(agreement)
    after = _party_texts(agreement)
    if before != after:
        changes["parties"] = [before, after]
        records.touch(agreement)
    if changes:
        audit.record(agreement, "update", actor=actor, changes=changes)
    if agreement.status != old_status:
        status_changed.send(
            agreement, old_status=old_status, new_status=agreement.status, actor=actor
        )
    return agreement


def change_status(agreement, new_status, *, actor, today=None):
    """Move the agreement to `new_status` (the detail page's buttons), checked like an edit."""
    new_status = AgreementStatus(new_status)
    if new_status == agreement.status:
        return agreement
    if new_status not in ALLOWED_TRANSITIONS[agreement.status]:
        raise AgreementError(
            _l(
                "An agreement cannot go from %(old)s to %(new)s.",
                old=agreement.status.label,
                new=new_status.label,
            ),
            field="status",
        )
    return update_agreement(agreement, {"status": new_status}, actor=actor, today=today)


# ---------------------------------------------------------------- lists


@dataclass
class AgreementFilters:
    kind: str | None = None
    status: str | None = None
    party: Organisation | None = None
    owner_id: int | None = None
    ending_days: int | None = None
    text: str = ""
    deleted: bool = False


def agreement_select(filters, *, today=None):
    today = today or date.today()
    select = sa.select(Agreement)
    if filters.deleted:
        select = select.where(Agreement.deleted_at.is_not(None))
    else:
        select = select.where(Agreement.deleted_at.is_(None))
    if filters.kind:
        select = select.where(Agreement.kind == AgreementKind(filters.kind))
    if filters.status:
        select = select.where(Agreement.status == AgreementStatus(filters.status))
    if filters.party is not None:
        select = select.where(
            Agreement.id.in_(
                sa.select(AgreementParty.agreement_id).where(
                    AgreementParty.organisation_id == filters.party.id
                )
            )
        )
    if filters.owner_id:
        select = select.where(Agreement.owner_id == filters.owner_id)
    if filters.ending_days is not None:
        select = select.where(
            Agreement.end_date >= today,
            Agreement.end_date <= today + timedelta(days=filters.ending_days),
        )
    if filters.text:
        select = select.where(Agreement.title.icontains(filters.text, autoescape=True))
    return select.options(
        selectinload(Agreement.parties).selectinload(AgreementParty.organisation),
        selectinload(Agreement.owner),
    )


def party_organisations():
    """Organisations that are a party to some live agreement, for the party filter."""
    return db.session.scalars(
        sa.select(Organisation)
        .where(
            Organisation.deleted_at.is_(None),
            Organisation.id.in_(
                sa.select(AgreementParty.organisation_id)
                .join(Agreement, Agreement.id == AgreementParty.agreement_id)
                .where(Agreement.deleted_at.is_(None))
            ),
        )
        .order_by(Organisation.name)
    ).all()


def sorted_parties(agreement):
    return sorted(agreement.parties, key=lambda party: party.organisation.name.lower())


def parties_by_side(agreement):
    """(our side, other side): the parties that are GMS partners (`is_partner`, the regions and
    universities that run the office), then the others, each sorted by name."""
    parties = sorted_parties(agreement)
    ours = [party for party in parties if party.organisation.is_partner]
    return ours, [party for party in parties if not party.organisation.is_partner]
