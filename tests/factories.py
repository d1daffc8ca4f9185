"""Test data, made as a user's action would make it: through the domains' services, committed.

Each factory takes the fields a test varies as keyword arguments and fills the rest with
plain defaults; anything else a service accepts passes through `**fields`. tests/conftest.py
offers each one as a fixture of the same name (`make_organisation`, ...). Records a test
needs soft-deleted are deleted through `records.soft_delete`, as the delete buttons do.
"""

import uuid
from datetime import date

import sqlalchemy as sa

from crm.activities import services as activity_services
from crm.activities.models import ActivityKind, ActivityOrganisationRole
from crm.agreements import services as agreement_services
from crm.agreements.models import AgreementKind, AgreementStatus, PartyRole
from crm.core import records
from crm.core.topics import Topic
from crm.enquiries import intake
from crm.enquiries.models import Enquiry
from crm.extensions import db
from crm.organisations import services as organisation_services
from crm.organisations.models import LegalBasis, OrganisationKind
from crm.privacy.services import notice_id_for_new_enquiry

ACTIVITY_DATE = date(2026, 3, 1)


def _commit(record, *, deleted=False, actor=None):
    if deleted:
        db.session.flush()
        records.soft_delete(record, actor=actor)
    db.session.commit()
    return record


def make_organisation(
    name="Organisation", *, kind=OrganisationKind.COMPANY, deleted=False, actor=None, **fields
):
    """An organisation (a company in Sweden unless told otherwise)."""
    data = {"kind": kind, "name": name, "country": "SE", **fields}
    organisation = organisation_services.create_organisation(data, actor=actor)
    return _commit(organisation, deleted=deleted, actor=actor)


def make_contact(
    first_name="Anna",
    last_name="Andersson",
    *,
    organisation=None,
    affiliations=(),
    legal_basis=LegalBasis.LEGITIMATE_INTEREST,
    deleted=False,
    actor=None,
    **fields,
):
    """A contact; `organisation` is its primary organisation, `affiliations` a list of
    (organisation id, role)."""
    data = {
        "first_name": first_name,
        "last_name": last_name,
        "legal_basis": legal_basis,
        **fields,
    }
    if organisation is not None:
        data["organisation_id"] = organisation.id
    if affiliations:
        data["affiliations"] = list(affiliations)
    contact = organisation_services.create_contact(data, actor=actor)
    return _commit(contact, deleted=deleted, actor=actor)


def make_activity(
    title="Workshop",
    *,
    kind=ActivityKind.WORKSHOP,
    start_date=ACTIVITY_DATE,
    organisations=(),
    contacts=(),
    staff=(),
    actor=None,
    **fields,
):
    """An activity; `organisations` are participants, or (organisation, role) pairs."""
    data = {
        "kind": kind,
        "title": title,
        "start_date": start_date,
        "organisations": [
            item if isinstance(item, tuple) else (item, ActivityOrganisationRole.PARTICIPANT)
            for item in organisations
        ],
        "contacts": list(contacts),
        "staff": list(staff),
        **fields,
    }
    return _commit(activity_services.create_activity(data, actor=actor))


def make_agreement(
    title="Agreement",
    *,
    parties=(),
    kind=AgreementKind.MOU,
    status=AgreementStatus.DRAFT,
    actor=None,
    today=None,
    **fields,
):
    """An agreement; `parties` are organisations (as parties), or (organisation, role) pairs."""
    data = {
        "kind": kind,
        "title": title,
        "status": status,
        "parties": [
            party if isinstance(party, tuple) else (party, PartyRole.PARTY) for party in parties
        ],
        **fields,
    }
    return _commit(agreement_services.create_agreement(data, actor=actor, today=today))


def make_enquiry(
    *,
    name=None,
    email=None,
    topic=Topic.RD_COLLABORATION,
    message="We would like to collaborate.",
    language="sv",
    phone=None,
    organisation_name=None,
    organisation_type=None,
    age=None,
    **fields,
):
    """An enquiry sent through the public form (its receipt and notices queued), `age` ago
    (a timedelta; now if None), then changed as staff would have changed it since: `**fields`
    are set on it afterwards (status, assignee_id, closed_at, ...)."""
    number = db.session.scalar(sa.select(sa.func.count()).select_from(Enquiry)) + 1
    received = intake.submit_enquiry(
        {
            "name": name or f"Sender {number}",
            "email": email or f"sender{number}@example.com",
            "phone": phone,
            "organisation_name": organisation_name,
            "organisation_type": organisation_type,
            "topic": topic,
            "message": message,
            "consent_text_id": intake.current_consent_text(language).id,
            "submission_token": uuid.uuid4().hex,
        },
        language=language,
        privacy_notice_id=notice_id_for_new_enquiry(),
    )
    enquiry = db.session.get(Enquiry, received.id)
    if age is not None:
        enquiry.received_at = enquiry.consent_given_at = received.received_at - age
    for key, value in fields.items():
        setattr(enquiry, key, value)
    db.session.commit()
    return enquiry
