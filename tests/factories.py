"""Test data, made as a user's action would make it: through the domains' services, committed.

Each factory takes the fields a test varies as keyword arguments and fills the rest with
plain defaults; anything else a service accepts passes through `**fields`. tests/conftest.py
offers each one as a fixture of the same name (`make_organisation`, ...). Records a test
needs soft-deleted are deleted through `records.soft_delete`, as the delete buttons do.
"""

import io
import uuid
from datetime import date, timedelta

import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from crm.activities import services as activity_services
from crm.activities.models import ActivityKind, ActivityOrganisationRole
from crm.agreements import services as agreement_services
from crm.agreements.models import AgreementKind, AgreementStatus, PartyRole
from crm.core import records
from crm.core.topics import Topic
from crm.core.types import utcnow
from crm.documents import services as document_services
from crm.enquiries import intake
from crm.enquiries import services as enquiry_services
from crm.enquiries.models import ClosedReason, Enquiry, EnquiryStatus
from crm.extensions import db
from crm.organisations import services as organisation_services
from crm.organisations.models import LegalBasis, OrganisationKind
from crm.privacy.services import notice_id_for_new_enquiry

ACTIVITY_DATE = date(2026, 3, 1)
# The smallest file the upload check takes for a PDF.
PDF_BYTES = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"


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
    deleted=False,
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
    activity = activity_services.create_activity(data, actor=actor)
    return _commit(activity, deleted=deleted, actor=actor)


def make_agreement(
    title="Agreement",
    *,
    parties=(),
    kind=AgreementKind.MOU,
    status=AgreementStatus.DRAFT,
    owner=None,
    deleted=False,
    actor=None,
    today=None,
    **fields,
):
    """An agreement; `parties` are organisations (as parties), or (organisation, role) pairs;
    `owner` a user. Dates and the rest (`signed_date`, `start_date`, `end_date`,
    `renewal_notice_days`, `covers_members`, ...) go to the service as they are, so a signed or
    active agreement needs its `signed_date`. A status no agreement starts in (expired,
    terminated) is reached as the status buttons reach it: created active when it has a
    signed date (a draft otherwise), then moved on through `change_status`."""
    reached_later = status not in agreement_services.INITIAL_STATUSES
    if reached_later:
        signed = fields.get("signed_date") is not None
        first_status = AgreementStatus.ACTIVE if signed else AgreementStatus.DRAFT
    else:
        first_status = status
    data = {
        "kind": kind,
        "title": title,
        "status": first_status,
        "parties": [
            party if isinstance(party, tuple) else (party, PartyRole.PARTY) for party in parties
        ],
        **fields,
    }
    if owner is not None:
        data["owner_id"] = owner.id
    agreement = agreement_services.create_agreement(data, actor=actor, today=today)
    if reached_later:
        db.session.flush()
        agreement_services.change_status(agreement, status, actor=actor, today=today)
    return _commit(agreement, deleted=deleted, actor=actor)


def make_document(
    title="Document",
    *,
    owner,
    is_public=False,
    filename="document.pdf",
    content=PDF_BYTES,
    description=None,
    deleted=False,
    actor=None,
):
    """A document on `owner` (an activity, agreement or organisation), uploaded as the upload
    form does: a small real PDF stored through the documents service in the app's
    UPLOAD_FOLDER (the test's own folder, see the `app` fixture)."""
    document = document_services.store_document(
        FileStorage(io.BytesIO(content), filename=filename),
        title=title,
        description=description,
        is_public=is_public,
        owner=owner,
        actor=actor,
    )
    if deleted:
        document_services.delete_document(document, actor=actor)
    db.session.commit()
    return document


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
    closed_ago=None,
    **fields,
):
    """An enquiry sent through the public form (its receipt and notices queued), `age` ago
    (a timedelta; now if None), then changed as staff would have changed it since: with
    `closed_ago` (a timedelta) it is closed through the enquiries service, as answered, that
    long ago (received then too unless `age` says otherwise); `**fields` are set on it
    afterwards (status, assignee_id, closed_at, ...)."""
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
    if age is None:
        age = closed_ago
    if age is not None:
        enquiry.received_at = enquiry.consent_given_at = received.received_at - age
    if closed_ago is not None:
        enquiry_services.change_status(
            enquiry, EnquiryStatus.CLOSED, reason=ClosedReason.ANSWERED, actor=None
        )
        # Time travel, not a way round a rule: the service closes it now, and the test needs
        # it closed `closed_ago` ago (the retention job goes by closed_at).
        enquiry.closed_at = utcnow() - closed_ago
    for key, value in fields.items():
        setattr(enquiry, key, value)
    db.session.commit()
    return enquiry


def enquiry_rows(count, **fields):
    """Rows for one bulk insert of `count` enquiries (`sa.insert(Enquiry)`), for the tests that
    read query plans on a register of some size: received a minute apart, newest first. Each
    of `fields` is a value for every row, or a function of the enquiry's number (0, 1, ...)."""
    now = utcnow()
    rows = []
    for number in range(count):
        row = {
            "reference": f"ENQ-T{number:05d}",
            "name": f"Sender {number}",
            "email": f"s{number}@example.com",
            "topic": Topic.RD_COLLABORATION,
            "message": "Hello",
            "language": "en",
            "source": "web",
            "status": EnquiryStatus.NEW,
            "received_at": now - timedelta(minutes=number),
            "created_at": now,
            "updated_at": now,
        }
        row.update(
            {key: value(number) if callable(value) else value for key, value in fields.items()}
        )
        rows.append(row)
    return rows
