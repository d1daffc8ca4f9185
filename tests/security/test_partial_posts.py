"""Partial POSTs: a form that saves a record, sent without some of its fields, saves nothing
and says so; one sent as a browser sends it (unticked boxes left out) saves.

CSRF is off in this module, unlike the rest of this folder: the point is the missing fields,
and a POST without its token would be refused before they were looked at.
"""

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from crm import demo_data
from crm.activities.models import Activity
from crm.agreements.models import Agreement
from crm.auth.models import User
from crm.enquiries.models import Enquiry, EnquiryStatus
from crm.organisations.models import Contact, Membership, Organisation
from crm.privacy import services as privacy_services
from tests.security.conftest import assert_unchanged, database_state, read_form

pytestmark = pytest.mark.config(WTF_CSRF_ENABLED=False)

MISSING = "Some fields were missing from the form that was sent, so nothing was saved."

# Every page whose form writes over stored values (a CompleteForm), including the pages that
# create a record with the same form.
URLS = [
    "/organisations/{organisation_id}/edit",
    "/organisations/new",
    "/organisations/memberships/{membership_id}/end",
    "/contacts/{contact_id}/edit",
    "/contacts/new",
    "/agreements/{agreement_id}/edit",
    "/agreements/new",
    "/activities/{activity_id}/edit",
    "/activities/new",
    "/tasks/{task_id}/edit",
    "/tasks/new",
    "/admin/users/{user_id}",
    "/admin/settings",
    "/admin/consent-texts",
    "/admin/privacy/notice",
    "/admin/privacy/hold/contacts/{contact_id}",
    "/admin/webhooks/{webhook_id}/edit",
    "/admin/webhooks/new",
]
# Forms that only add something: an empty POST fails their required fields.
ADDING_URLS = [
    "/organisations/{organisation_id}/memberships",
    "/activities/quick",
    "/enquiries/{open_enquiry_id}/assign",
    "/enquiries/{open_enquiry_id}/comments",
    "/enquiries/{open_enquiry_id}/status",
    "/enquiries/{open_enquiry_id}/tasks",
    "/enquiries/{open_enquiry_id}/convert",
    "/admin/users/new",
    "/documents/new?activity_id={activity_id}",
]


@pytest.fixture
def values(demo, db):
    """The demo's ids, and a new enquiry's: the enquiry page shows its forms while it is open."""
    open_enquiry_id = db.session.scalar(
        sa.select(Enquiry.id)
        .where(Enquiry.status == EnquiryStatus.NEW, Enquiry.deleted_at.is_(None))
        .order_by(Enquiry.id)
        .limit(1)
    )
    assert open_enquiry_id is not None
    return {**demo.values, "open_enquiry_id": open_enquiry_id}


@pytest.fixture
def admin_client(client, demo, db):
    """Signed in as the demo admin, in English; the demo contact is under a legal hold (a bare
    POST to its hold page used to lift it)."""
    contact = db.session.get(Contact, demo.values["contact_id"])
    privacy_services.set_legal_hold(contact, reason="Public records", actor=demo.users["admin"])
    db.session.commit()
    client.get("/login?lang=en")
    response = client.post(
        "/login", data={"email": demo_data.ADMIN, "password": demo_data.DEMO_PASSWORD}
    )
    assert response.status_code == 302
    return client


@pytest.mark.parametrize("body", [None, {"unrelated": "1"}], ids=["empty", "unrelated"])
@pytest.mark.parametrize("path", URLS)
def test_a_post_without_the_forms_fields_changes_nothing(admin_client, values, db, path, body):
    url = path.format(**values)
    before = database_state(db)

    response = admin_client.post(url, data=body)

    assert response.status_code == 200, url
    assert MISSING in response.get_data(as_text=True), url
    assert_unchanged(db, before, f"POST {url}")


@pytest.mark.parametrize("body", [None, {"unrelated": "1"}], ids=["empty", "unrelated"])
@pytest.mark.parametrize("path", ADDING_URLS)
def test_a_post_without_the_fields_of_an_adding_form_changes_nothing(
    admin_client, values, db, path, body
):
    url = path.format(**values)
    before = database_state(db)

    # Followed: the membership form answers on the organisation's page, as a flashed message.
    response = admin_client.post(url, data=body, follow_redirects=True)

    assert response.status_code == 200, url
    page = response.get_data(as_text=True)
    assert 'class="error' in page or 'class="flash flash-error"' in page, url
    assert_unchanged(db, before, f"POST {url}")


# The edit pages, and a field of each that a bare POST used to wipe.
EDIT_PAGES = [
    ("/organisations/{organisation_id}/edit", "name", "owner_id"),
    ("/contacts/{contact_id}/edit", "last_name", "organisation"),
    ("/agreements/{agreement_id}/edit", "title", "parties-0-organisation"),
    ("/activities/{activity_id}/edit", "title", "organisations-0-organisation"),
    ("/tasks/{task_id}/edit", "title", "assignee_id"),
    ("/admin/users/{user_id}", "name", "role"),
    ("/admin/settings", "office_name_sv", "intro_en"),
    ("/admin/privacy/hold/contacts/{contact_id}", "reason", "reason"),
]


@pytest.mark.parametrize(("path", "having", "left_out"), EDIT_PAGES)
def test_a_form_missing_one_field_changes_nothing(admin_client, demo, db, path, having, left_out):
    url = path.format(**demo.values)
    form = read_form(admin_client.get(url).get_data(as_text=True), having=having)
    assert any(name == left_out for name, _value in form["fields"]), left_out
    before = database_state(db)

    sent = MultiDict([(name, value) for name, value in form["fields"] if name != left_out])
    response = admin_client.post(url, data=sent)

    assert response.status_code == 200, url
    assert MISSING in response.get_data(as_text=True), url
    assert_unchanged(db, before, f"POST {url} without {left_out}")


def _tick(db, record, **values):
    for name, value in values.items():
        setattr(record, name, value)
    db.session.commit()


def test_a_browser_post_with_unticked_boxes_saves(admin_client, demo, db):
    """Browsers leave out unticked checkboxes and empty checkbox groups: that saves them empty."""
    organisation = db.session.get(Organisation, demo.values["organisation_id"])
    contact = db.session.get(Contact, demo.values["contact_id"])
    agreement = db.session.get(Agreement, demo.values["agreement_id"])
    activity = db.session.get(Activity, demo.values["activity_id"])
    member = db.session.get(User, demo.values["user_id"])
    _tick(db, organisation, is_partner=True)
    _tick(db, contact, do_not_contact=True)
    _tick(db, agreement, is_public=True, covers_members=True)
    _tick(db, activity, is_online=True, is_public=False)
    checked = {
        "/organisations/{organisation_id}/edit": ("name", {"is_partner", "sectors"}),
        "/contacts/{contact_id}/edit": ("last_name", {"do_not_contact"}),
        "/agreements/{agreement_id}/edit": ("title", {"is_public", "covers_members"}),
        "/activities/{activity_id}/edit": ("title", {"is_online", "staff"}),
        "/admin/users/{user_id}": ("name", {"active"}),
        "/admin/privacy/hold/contacts/{contact_id}": ("reason", {"legal_hold"}),
    }

    for path, (having, unticked) in checked.items():
        url = path.format(**demo.values)
        form = read_form(admin_client.get(url).get_data(as_text=True), having=having)
        sent = MultiDict([(name, value) for name, value in form["fields"] if name not in unticked])
        response = admin_client.post(url, data=sent)
        assert response.status_code == 302, (url, response.get_data(as_text=True)[-3000:])

    db.session.expire_all()
    assert organisation.is_partner is False
    assert organisation.sector_values == []
    assert contact.do_not_contact is False
    assert contact.legal_hold is False
    assert agreement.is_public is False and agreement.covers_members is False
    assert activity.is_online is False and activity.staff == []
    assert member.active is False


def test_every_form_that_saves_a_record_refuses_missing_fields():
    """The edit forms behind the pages above; a new one should join them."""
    from crm.core.forms import CompleteForm

    names = {form.__name__ for form in _subclasses(CompleteForm)}
    assert {
        "OrganisationForm",
        "ContactForm",
        "AgreementForm",
        "ActivityForm",
        "TaskForm",
        "ProfileForm",
        "AdminUserForm",
        "SettingsForm",
        "LegalHoldForm",
        "EndMembershipForm",
        "WebhookForm",
    } <= names


def _subclasses(cls):
    for subclass in cls.__subclasses__():
        yield subclass
        yield from _subclasses(subclass)


def test_membership_end_without_a_date_keeps_the_membership(admin_client, demo, db):
    membership = db.session.get(Membership, demo.values["membership_id"])
    assert membership.until is None

    admin_client.post(f"/organisations/memberships/{membership.id}/end")

    db.session.expire_all()
    assert (
        db.session.scalar(sa.select(Membership.until).where(Membership.id == membership.id)) is None
    )
