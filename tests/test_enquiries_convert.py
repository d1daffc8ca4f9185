"""Converting an enquiry: link or create its organisation and contact, optionally log a first
activity, in one step that cannot run twice."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from markupsafe import escape

from crm.activities.models import Activity, ActivityOrganisationRole, ActivityStatus
from crm.core.models import AuditEntry
from crm.enquiries import services
from crm.enquiries.models import EnquiryStatus, Topic
from crm.organisations import services as organisation_services
from crm.organisations.models import Contact, LegalBasis, Organisation, OrganisationKind


@pytest.fixture
def make_enquiry(make_enquiry):
    """The shared factory, with Karin's enquiry as the default: sent two days ago."""

    def make(**fields):
        values = {
            "name": "Karin Ek Lund",
            "email": "karin.lund@kvarnbo-genomik.example",
            "phone": "+46 70 111 22 33",
            "organisation_name": "Kvarnbo Genomik AB",
            "organisation_type": "company",
            "topic": Topic.RD_COLLABORATION,
            "message": "Vi vill samarbeta.",
            "age": timedelta(days=2),
            **fields,
        }
        return make_enquiry(**values)

    return make


@pytest.fixture
def member_with_enquiry(make_user, make_enquiry):
    member = make_user("member", name="Maja Member")
    enquiry = make_enquiry(assignee_id=member.id, status=EnquiryStatus.IN_PROGRESS)
    return member, enquiry


@pytest.fixture
def known(db):
    """An organisation with a contact that are already in the register."""
    organisation = organisation_services.create_organisation(
        {"kind": OrganisationKind.COMPANY, "name": "Kvarnbo Genomik AB"}, actor=None
    )
    db.session.flush()
    contact = organisation_services.create_contact(
        {"first_name": "Karin", "last_name": "Lund", "email": "karin.lund@kvarnbo-genomik.example",
         "organisation_id": organisation.id},
        actor=None,
    )  # fmt: skip
    db.session.commit()
    return organisation, contact


def count(db, model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def audit_entries(db, entity_type, entity_id=None):
    select = sa.select(AuditEntry).where(AuditEntry.entity_type == entity_type)
    if entity_id is not None:
        select = select.where(AuditEntry.entity_id == entity_id)
    return db.session.scalars(select.order_by(AuditEntry.id)).all()


def picker(record, name):
    return f"{name} (#{record.id})"


NEW_RECORDS = {
    "convert-organisation_mode": "new",
    "convert-org_name": "Kvarnbo Genomik AB",
    "convert-org_kind": "company",
    "convert-contact_mode": "new",
    "convert-first_name": "Karin Ek",
    "convert-last_name": "Lund",
    "convert-email": "Karin.Lund@kvarnbo-genomik.example",
    "convert-phone": "+46 70 111 22 33",
    "convert-title": "CSO",
}


def test_converting_with_existing_records_links_them(
    client, db, signed_in, member_with_enquiry, known
):
    member, enquiry = member_with_enquiry
    organisation, contact = known
    signed_in(member)
    # The form comes filled in with the records that match.
    html = client.get(f"/enquiries/{enquiry.id}").get_data(as_text=True)
    assert f'value="{picker(organisation, organisation.name)}"' in html
    assert f'value="{picker(contact, contact.full_name)}"' in html

    response = client.post(
        f"/enquiries/{enquiry.id}/convert",
        data={
            "convert-organisation_mode": "existing",
            "convert-organisation": picker(organisation, organisation.name),
            "convert-contact_mode": "existing",
            "convert-contact": picker(contact, contact.full_name),
        },
    )

    assert response.status_code == 302
    db.session.refresh(enquiry)
    assert enquiry.status == EnquiryStatus.CONVERTED
    assert enquiry.converted_at is not None
    # Converting is not a response to the enquirer; only a reply is.
    assert enquiry.first_response_at is None
    assert (enquiry.organisation_id, enquiry.contact_id) == (organisation.id, contact.id)
    assert count(db, Organisation) == 1
    assert count(db, Contact) == 1
    assert count(db, Activity) == 0
    received, entry = audit_entries(db, "enquiries", enquiry.id)
    assert received.action == "create"  # sent through the public form
    assert entry.action == "convert"
    assert entry.actor_id == member.id
    assert entry.changes["organisation_id"] == [None, organisation.id]
    html = client.get(f"/enquiries/{enquiry.id}").get_data(as_text=True)
    assert f'href="/organisations/{organisation.id}"' in html
    assert "converted" in html.split('id="history-heading"', 1)[1]
    # The organisation's page lists the enquiry.
    html = client.get(f"/organisations/{organisation.id}").get_data(as_text=True)
    assert enquiry.reference in html


def test_converting_with_new_records_creates_them(
    client, db, signed_in, member_with_enquiry, make_enquiry
):
    member, enquiry = member_with_enquiry
    signed_in(member)
    html = client.get(f"/enquiries/{enquiry.id}").get_data(as_text=True)
    # Nothing matches: the form offers new records, filled in from the enquiry.
    assert 'value="Kvarnbo Genomik AB"' in html
    assert 'value="Karin Ek"' in html
    assert 'value="Lund"' in html

    response = client.post(f"/enquiries/{enquiry.id}/convert", data=NEW_RECORDS)

    assert response.status_code == 302
    organisation = db.session.scalar(sa.select(Organisation))
    contact = db.session.scalar(sa.select(Contact))
    assert (organisation.name, organisation.kind) == ("Kvarnbo Genomik AB", "company")
    # Later enquiries from the same domain find it.
    assert [item.domain for item in organisation.email_domains] == ["kvarnbo-genomik.example"]
    assert (contact.first_name, contact.last_name, contact.email, contact.title) == (
        "Karin Ek",
        "Lund",
        "karin.lund@kvarnbo-genomik.example",
        "CSO",
    )
    assert contact.phone == "+46 70 111 22 33"
    assert contact.organisation_id == organisation.id
    assert contact.legal_basis == LegalBasis.LEGITIMATE_INTEREST
    db.session.refresh(enquiry)
    assert enquiry.status == EnquiryStatus.CONVERTED
    assert (enquiry.organisation_id, enquiry.contact_id) == (organisation.id, contact.id)
    [created] = audit_entries(db, "organisations", organisation.id)
    assert (created.action, created.actor_id) == ("create", member.id)
    [created] = audit_entries(db, "contacts", contact.id)
    assert (created.action, created.actor_id) == ("create", member.id)
    assert audit_entries(db, "enquiries", enquiry.id)[-1].changes["contact"] == [
        None,
        "Karin Ek Lund",
    ]
    later = make_enquiry(
        name="X", email="x@kvarnbo-genomik.example", organisation_name=None, topic=Topic.OTHER,
        message="M",
    )  # fmt: skip
    assert services.match_organisation_and_contact(later) == (organisation, None, "domain")


def test_converting_with_a_first_activity(client, db, signed_in, member_with_enquiry, known):
    member, enquiry = member_with_enquiry
    organisation, contact = known
    signed_in(member)
    yesterday = date.today() - timedelta(days=1)

    response = client.post(
        f"/enquiries/{enquiry.id}/convert",
        data={
            "convert-organisation_mode": "existing",
            "convert-organisation": picker(organisation, organisation.name),
            "convert-contact_mode": "existing",
            "convert-contact": picker(contact, contact.full_name),
            "convert-log_activity": "y",
            "convert-activity_kind": "dialogue_meeting",
            "convert-activity_title": "Introductory meeting",
            "convert-activity_date": yesterday.isoformat(),
            "convert-activity_outcome": "They will send a proposal.",
        },
    )

    assert response.status_code == 302
    activity = db.session.scalar(sa.select(Activity))
    assert (activity.title, activity.kind, activity.start_date) == (
        "Introductory meeting",
        "dialogue_meeting",
        yesterday,
    )
    assert activity.status == ActivityStatus.COMPLETED
    assert activity.outcome == "They will send a proposal."
    assert activity.enquiry_id == enquiry.id
    assert [(item.organisation_id, item.role) for item in activity.organisations] == [
        (organisation.id, ActivityOrganisationRole.PARTICIPANT)
    ]
    assert [item.id for item in activity.contacts] == [contact.id]
    assert [item.id for item in activity.staff] == [member.id]
    assert audit_entries(db, "activities", activity.id)[0].action == "create"
    assert audit_entries(db, "enquiries", enquiry.id)[-1].changes["activity"] == [
        None,
        "Introductory meeting",
    ]


def test_a_future_first_activity_is_planned(db, make_user, make_enquiry, known):
    member = make_user("member")
    organisation, contact = known
    enquiry = make_enquiry(assignee_id=member.id, status="assigned")

    _organisation, _contact, activity = services.convert_enquiry(
        enquiry,
        organisation=organisation,
        contact=contact,
        activity={
            "kind": "information_meeting",
            "title": "Visit",
            "date": date.today() + timedelta(days=14),
            "outcome": "",
        },
        actor=member,
    )

    assert activity.status == ActivityStatus.PLANNED


def test_converting_twice_is_refused_and_changes_nothing(
    client, db, signed_in, member_with_enquiry
):
    member, enquiry = member_with_enquiry
    signed_in(member)
    assert client.post(f"/enquiries/{enquiry.id}/convert", data=NEW_RECORDS).status_code == 302
    db.session.refresh(enquiry)
    converted_at = enquiry.converted_at
    entries = len(audit_entries(db, "enquiries", enquiry.id))

    again = dict(NEW_RECORDS, **{"convert-org_name": "Other AB", "convert-email": ""})
    response = client.post(f"/enquiries/{enquiry.id}/convert", data=again, follow_redirects=True)

    assert "Only an open enquiry can be converted." in response.get_data(as_text=True)
    assert count(db, Organisation) == 1
    assert count(db, Contact) == 1
    db.session.refresh(enquiry)
    assert enquiry.converted_at == converted_at
    assert len(audit_entries(db, "enquiries", enquiry.id)) == entries
    with force_locale("en"), pytest.raises(services.EnquiryError, match="already been converted"):
        services.convert_enquiry(
            enquiry, new_organisation={"name": "Third AB"}, new_contact={"last_name": "X"},
            actor=member,
        )  # fmt: skip
    db.session.rollback()
    assert count(db, Organisation) == 1


def test_a_closed_enquiry_cannot_be_converted(db, make_user, make_enquiry, known):
    organisation, contact = known
    enquiry = make_enquiry(status="closed", closed_reason="spam")
    with force_locale("en"), pytest.raises(services.EnquiryError, match="Reopen it first"):
        services.convert_enquiry(
            enquiry, organisation=organisation, contact=contact, actor=make_user("coordinator")
        )
    assert enquiry.status == EnquiryStatus.CLOSED


@pytest.mark.parametrize(
    ("changes", "field_error"),
    [
        ({"convert-org_name": ""}, "Enter the name of the new organisation."),
        ({"convert-last_name": ""}, "Enter the contact's last name."),
        ({"convert-email": "not an address"}, "Enter a valid e-mail address."),
        ({"convert-org_kind": "spaceship"}, "Not a valid choice"),
        ({"convert-organisation_mode": "existing"}, "Pick the organisation, or choose a new one."),
        ({"convert-contact_mode": "existing", "convert-contact": "Nobody Atall"}, "There is no"),
        ({"convert-org_name": "x" * 201}, "Field cannot be longer than 200 characters."),
        ({"convert-log_activity": "y"}, "Enter the activity's title."),
        (
            {"convert-log_activity": "y", "convert-activity_title": "T",
             "convert-activity_date": "tomorrow"},
            "Not a valid date value.",
        ),
    ],
)  # fmt: skip
def test_bad_input_is_shown_at_its_field_and_nothing_changes(
    client, db, signed_in, member_with_enquiry, changes, field_error
):
    member, enquiry = member_with_enquiry
    signed_in(member)

    response = client.post(f"/enquiries/{enquiry.id}/convert", data=dict(NEW_RECORDS, **changes))

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert escape(field_error) in html
    assert "Please correct the following" in html
    # What was typed is kept.
    assert 'value="CSO"' in html
    assert count(db, Organisation) == 0
    assert count(db, Contact) == 0
    db.session.refresh(enquiry)
    assert enquiry.status == EnquiryStatus.IN_PROGRESS


def test_duplicates_are_refused_in_favour_of_the_existing_records(
    client, db, signed_in, member_with_enquiry, known
):
    member, enquiry = member_with_enquiry
    signed_in(member)

    response = client.post(f"/enquiries/{enquiry.id}/convert", data=NEW_RECORDS)

    assert response.status_code == 200
    assert "An organisation called Kvarnbo Genomik AB already exists" in response.get_data(
        as_text=True
    )
    organisation, _contact = known
    data = dict(
        NEW_RECORDS,
        **{
            "convert-organisation_mode": "existing",
            "convert-organisation": picker(organisation, organisation.name),
        },
    )
    response = client.post(f"/enquiries/{enquiry.id}/convert", data=data)
    assert response.status_code == 200
    assert "Karin Lund already has this e-mail address" in response.get_data(as_text=True)
    assert count(db, Organisation) == 1
    assert count(db, Contact) == 1
    db.session.refresh(enquiry)
    assert enquiry.status == EnquiryStatus.IN_PROGRESS


def test_an_existing_contact_elsewhere_gets_the_organisation_as_an_affiliation(
    db, make_user, make_enquiry, known
):
    organisation, contact = known
    other = organisation_services.create_organisation(
        {"kind": OrganisationKind.UNIVERSITY, "name": "Lund University"}, actor=None
    )
    loner = organisation_services.create_contact({"last_name": "Loner"}, actor=None)
    db.session.commit()
    coordinator = make_user("coordinator")

    services.convert_enquiry(make_enquiry(), organisation=other, contact=contact, actor=coordinator)
    services.convert_enquiry(make_enquiry(), organisation=other, contact=loner, actor=coordinator)

    assert contact.organisation_id == organisation.id
    assert [item.organisation_id for item in contact.affiliations] == [other.id]
    assert loner.organisation_id == other.id


def test_members_convert_only_their_own(client, db, signed_in, make_user, make_enquiry):
    member = make_user("member")
    theirs = make_enquiry(assignee_id=make_user("member").id, status="assigned")
    signed_in(member)

    response = client.post(f"/enquiries/{theirs.id}/convert", data=NEW_RECORDS)

    assert response.status_code == 404
    assert count(db, Organisation) == 0
    db.session.refresh(theirs)
    assert theirs.status == EnquiryStatus.ASSIGNED


def test_coordinators_convert_any(client, db, signed_in, make_user, make_enquiry):
    enquiry = make_enquiry(assignee_id=make_user("member").id, status="assigned")
    signed_in("coordinator")

    response = client.post(f"/enquiries/{enquiry.id}/convert", data=NEW_RECORDS)

    assert response.status_code == 302
    db.session.refresh(enquiry)
    assert enquiry.status == EnquiryStatus.CONVERTED
