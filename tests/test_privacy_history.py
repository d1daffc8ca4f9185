"""Erasure takes the person out of the history of every record that named her, not only of
her own contact and enquiries: an activity she took part in, an enquiry linked to her."""

import re
from datetime import date

import pytest

from crm.activities import services as activity_services
from crm.activities.models import ActivityKind
from crm.auth.models import Role
from crm.enquiries import services as enquiry_services
from crm.organisations import services as organisation_services
from crm.organisations.models import OrganisationKind
from crm.privacy import services
from tests.test_privacy_requests import make_contact, search, send_enquiry

ANNA = "anna@lif-test.example"
PHONE = "+46 70 123 45 67"


def history_section(page):
    match = re.search(r'<section class="history".*?</section>', page, re.DOTALL)
    assert match, "the page has no history section"
    return match.group(0)


@pytest.fixture
def linked(app, db, client, make_user):
    """Anna linked, through the services, to an activity beside Johanna and to Bo's enquiry."""
    coordinator = make_user(Role.COORDINATOR, name="Cora Coordinator")
    organisation = organisation_services.create_organisation(
        {"kind": OrganisationKind.COMPANY, "name": "Lif Test AB"}, actor=coordinator
    )
    db.session.commit()
    anna = make_contact("Anna", "Lindqvist", ANNA, phone=PHONE, organisation_id=organisation.id)
    johanna = make_contact("Johanna", "Holm", "johanna@lif-test.example")
    activity = activity_services.create_activity(
        {
            "kind": ActivityKind.WORKSHOP,
            "title": "Kick-off",
            "start_date": date(2026, 3, 2),
            "contacts": [johanna],
        },
        actor=coordinator,
    )
    db.session.commit()
    activity_services.update_activity(activity, {"contacts": [anna, johanna]}, actor=coordinator)
    db.session.commit()
    enquiry = send_enquiry(client, "Bo Berg", "bo@other.example", "We would like a study.")
    enquiry_services.convert_enquiry(
        enquiry, organisation=organisation, contact=anna, actor=coordinator
    )
    db.session.commit()
    return {"anna": anna, "activity": activity, "enquiry": enquiry}


def test_erasure_takes_her_name_out_of_linked_records_history(linked, login, client):
    login(Role.ADMIN)
    client.post("/language/en?next=/")
    activity_url = f"/activities/{linked['activity'].id}"
    enquiry_url = f"/enquiries/{linked['enquiry'].id}"
    # Before: both histories name her.
    assert "Anna Lindqvist" in history_section(client.get(activity_url).get_data(as_text=True))
    assert "Anna Lindqvist" in history_section(client.get(enquiry_url).get_data(as_text=True))

    search(client, ANNA)
    response = client.post("/admin/privacy/erase", follow_redirects=True)
    assert "Erased:" in response.get_data(as_text=True)

    for url in (activity_url, enquiry_url):
        history = history_section(client.get(url).get_data(as_text=True))
        assert "Lindqvist" not in history
        assert ANNA not in history.lower()
        assert PHONE not in history
        assert "[anonymised]" in history
    # The rest of the history stays.
    activity_history = history_section(client.get(activity_url).get_data(as_text=True))
    assert "Johanna Holm" in activity_history
    assert "Kick-off" in activity_history and "Workshop" in activity_history
    assert "Cora Coordinator" in activity_history
    enquiry_history = history_section(client.get(enquiry_url).get_data(as_text=True))
    assert "Converted" in enquiry_history
    assert "Lif Test AB" in enquiry_history


def test_a_legal_hold_on_the_linked_enquiry_keeps_its_history(linked, db):
    enquiry = linked["enquiry"]
    services.set_legal_hold(enquiry, reason="Case 2026-7.", actor=None)
    db.session.commit()

    result = services.erase(ANNA, actor=None)
    db.session.commit()

    assert any(record.entity_type == "enquiries" for record, _reason in result.held)
    assert any(
        entry.changes.get("contact") == [None, "Anna Lindqvist"]
        for entry in services.audit.history("enquiries", enquiry.id)
    )
    assert all(
        "Anna Lindqvist" not in str(entry.changes)
        for entry in services.audit.history("activities", linked["activity"].id)
    )


def test_someone_else_with_the_same_phone_keeps_it_in_their_history(linked, db):
    colleague = make_contact("Sven", "Switchboard", "sven@lif-test.example", phone=PHONE)

    services.erase(ANNA, actor=None)
    db.session.commit()

    created = services.audit.history("contacts", colleague.id)[-1]
    assert created.changes["phone"] == [None, PHONE]
