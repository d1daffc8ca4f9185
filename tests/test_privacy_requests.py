"""Privacy requests: finding everything held about an address, the JSON export, erasure
(checked by scanning every text column of every table), legal holds, the log and who may."""

import json
import re

import pytest
import sqlalchemy as sa

from crm.auth.models import Role
from crm.core.models import AuditEntry
from crm.enquiries import services as enquiry_services
from crm.enquiries.models import Enquiry
from crm.extensions import db as _db
from crm.mail.models import OutboxMessage, OutboxStatus
from crm.organisations import services as organisation_services
from crm.organisations.models import Contact
from crm.privacy import services
from crm.privacy.models import PrivacyLogEntry
from crm.privacy.views import SESSION_KEY
from tests import factories
from tests.conftest import TEST_PASSWORD

ANNA = "anna.andersson@kvarnbo.example"
BO = "bo.berg@other.example"

FORM = {
    "organisation_name": "Kvarnbo Genomik AB",
    "organisation_type": "company",
    "topic": "clinical_studies",
    "acknowledgement": "y",
}


def hidden_value(page, name):
    match = re.search(rf'name="{name}" type="hidden" value="([^"]*)"', page)
    assert match, f"no hidden field {name}"
    return match.group(1)


def send_enquiry(client, name, email, message):
    page = client.get("/contact?lang=en").get_data(as_text=True)
    data = {
        **FORM,
        "name": name,
        "email": email,
        "message": message,
        "form_token": hidden_value(page, "form_token"),
        "consent_text_id": hidden_value(page, "consent_text_id"),
    }
    response = client.post("/contact?lang=en", data=data, follow_redirects=True)
    assert response.status_code == 200, response.get_data(as_text=True)
    return _db.session.scalars(
        sa.select(Enquiry).where(sa.func.lower(Enquiry.email) == email.lower())
    ).one()


def make_contact(first_name, last_name, email, notes=None, **fields):
    values = {"phone": "+46 70 000 00 00", "title": "Research lead", "notes": notes, **fields}
    return factories.make_contact(first_name, last_name, email=email, **values)


@pytest.fixture
def people(app, db, client, make_user):
    """Anna's and Bo's data in every place an address can be, plus a colleague's note."""
    coordinator = make_user(Role.COORDINATOR, email="coordinator@example.org")
    anna_contact = make_contact("Anna", "Andersson", "Anna.Andersson@Kvarnbo.example")
    # A change, so the history holds her old and new address.
    organisation_services.update_contact(
        anna_contact, {"email": ANNA.upper().replace("KVARNBO", "Kvarnbo")}, actor=coordinator
    )
    organisation_services.update_contact(anna_contact, {"email": ANNA}, actor=coordinator)
    db.session.commit()
    colleague = make_contact(
        "Cecilia", "Colleague", "cecilia@kvarnbo.example", notes=f"Works with {ANNA.upper()}."
    )
    bo_contact = make_contact("Bo", "Berg", BO, notes="Prefers phone.")
    anna_enquiry = send_enquiry(
        client, "Anna Andersson", ANNA, f"Please answer to {ANNA}, we want a study."
    )
    bo_enquiry = send_enquiry(client, "Bo Berg", BO, "Bo Berg would like to collaborate.")
    enquiry_services.add_comment(
        anna_enquiry, f"Called her; she confirmed {ANNA}.", actor=coordinator
    )
    enquiry_services.add_comment(bo_enquiry, f"Bo wrote from {BO}.", actor=coordinator)
    db.session.add(
        OutboxMessage(
            kind="manual",
            recipient="someone@example.org",
            subject="Forwarded",
            body_text=f"Forwarding a question from {ANNA}.",
            language="en",
            status=OutboxStatus.SENT,
        )
    )
    db.session.commit()
    return {
        "anna_contact": anna_contact,
        "colleague": colleague,
        "bo_contact": bo_contact,
        "anna_enquiry": anna_enquiry,
        "bo_enquiry": bo_enquiry,
    }


def search(client, address):
    response = client.post("/admin/privacy/", data={"email": address})
    assert response.status_code == 302
    return client.get("/admin/privacy/")


def text_values(value):
    """Every string inside a stored value (JSON included)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict | list):
        yield json.dumps(value, ensure_ascii=False)
    elif value is not None and not isinstance(value, int | float | bool):
        yield str(value)


def tables_holding(db, needle):
    """[(table, column)] of every row value in every table that contains `needle`, any case."""
    needle = needle.lower()
    found = []
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            for row in connection.execute(sa.select(table)).mappings():
                for column, value in row.items():
                    if any(needle in text.lower() for text in text_values(value)):
                        found.append((table.name, column))
    return found


# ---------------------------------------------------------------- search and export


def test_search_lists_every_record_with_the_address_in_any_case(people, login, client):
    login(Role.ADMIN)
    page = search(client, "  Anna.ANDERSSON@kvarnbo.example ").get_data(as_text=True)

    assert f"Records holding {ANNA}" in page
    assert "Anna Andersson" in page
    assert people["anna_enquiry"].reference in page
    assert "Cecilia Colleague" in page  # her notes mention the address
    assert "Forwarded" in page
    assert "Called her; she confirmed" in page
    assert "Bo Berg" not in page
    assert people["bo_enquiry"].reference not in page


def test_invalid_address_is_refused_and_nothing_is_logged(people, login, client, db):
    login(Role.ADMIN)
    response = client.post("/admin/privacy/", data={"email": "not an address"})

    assert response.status_code == 200
    assert "Enter a valid e-mail address" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PrivacyLogEntry)) == 0


def test_export_holds_every_record_with_the_address_and_nothing_of_anyone_else(
    people, login, client
):
    login(Role.ADMIN)
    search(client, ANNA)
    response = client.post("/admin/privacy/export")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    data = json.loads(response.get_data(as_text=True))
    assert data["email"] == ANNA
    assert {row["id"] for row in data["contacts"]} == {
        people["anna_contact"].id,
        people["colleague"].id,
    }
    assert [row["id"] for row in data["enquiries"]] == [people["anna_enquiry"].id]
    assert data["enquiries"][0]["message"] == f"Please answer to {ANNA}, we want a study."
    # The receipt to her, the coordinator's notice about her enquiry, and the forward.
    subjects = {row["subject"] for row in data["outbox_messages"]}
    assert "Forwarded" in subjects
    assert any(row["recipient"] == ANNA for row in data["outbox_messages"])
    assert all(
        row["enquiry_id"] in (None, people["anna_enquiry"].id) for row in data["outbox_messages"]
    )
    assert [row["body"] for row in data["comments"]] == [f"Called her; she confirmed {ANNA}."]
    assert data["audit_entries"], "the contact's history holds the address"

    dump = json.dumps(data).lower()
    assert BO not in dump
    assert "bo berg" not in dump
    assert "prefers phone" not in dump
    assert "search_text" not in dump


def test_export_needs_a_search_and_a_post(people, login, client):
    login(Role.ADMIN)
    assert client.get("/admin/privacy/export").status_code == 405
    response = client.post("/admin/privacy/export")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/privacy/")


@pytest.mark.config(WTF_CSRF_ENABLED=True)
def test_export_and_erasure_without_csrf_token_are_refused(make_user, client, db):
    admin = make_user(Role.ADMIN)
    token = hidden_value(client.get("/login").get_data(as_text=True), "csrf_token")
    credentials = {"email": admin.email, "password": TEST_PASSWORD, "csrf_token": token}
    assert client.post("/login", data=credentials).status_code == 302
    contact = make_contact("Anna", "Andersson", ANNA)
    token = services.start_search(ANNA, actor=admin)
    db.session.commit()
    with client.session_transaction() as session:
        session[SESSION_KEY] = token

    export = client.post("/admin/privacy/export")
    erase = client.post("/admin/privacy/erase")

    assert export.status_code == 400 and export.mimetype == "text/html"
    assert erase.status_code == 400
    assert db.session.get(Contact, contact.id).email == ANNA


# ---------------------------------------------------------------- erasure


def test_erasure_asks_for_confirmation_first(people, login, client, db):
    login(Role.ADMIN)
    search(client, ANNA)
    page = client.get("/admin/privacy/erase").get_data(as_text=True)

    assert f"Erase {ANNA}?" in page
    assert "Erase now" in page
    assert db.session.get(Contact, people["anna_contact"].id).email == ANNA


def test_erasure_leaves_no_trace_of_the_address_in_any_table(people, login, client, db):
    admin = login(Role.ADMIN)
    assert tables_holding(db, ANNA)  # the scan finds it before

    search(client, ANNA)
    response = client.post("/admin/privacy/erase", follow_redirects=True)

    assert response.status_code == 200
    assert "Erased:" in response.get_data(as_text=True)
    assert tables_holding(db, ANNA) == []
    # Her name and message are gone from her records too.
    assert tables_holding(db, "Anna Andersson") == []
    assert tables_holding(db, "we want a study") == []

    contact = db.session.get(Contact, people["anna_contact"].id)
    assert contact is not None and contact.anonymised_at is not None
    assert contact.email is None and contact.phone is None and contact.notes is None
    enquiry = db.session.get(Enquiry, people["anna_enquiry"].id)
    assert enquiry.anonymised_at is not None
    assert enquiry.reference == people["anna_enquiry"].reference
    # Nothing of hers is left waiting to be sent.
    pending = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING)
    ).all()
    assert all(message.enquiry_id != enquiry.id for message in pending)
    # The colleague keeps her contact; only the address left her notes.
    colleague = db.session.get(Contact, people["colleague"].id)
    assert colleague.last_name == "Colleague"
    assert colleague.notes == "Works with [anonymised]."

    # Bo is untouched.
    assert db.session.get(Contact, people["bo_contact"].id).email == BO
    bo_enquiry = db.session.get(Enquiry, people["bo_enquiry"].id)
    assert bo_enquiry.name == "Bo Berg" and bo_enquiry.anonymised_at is None
    assert tables_holding(db, BO)

    # The log says what was done, never to whom.
    entries = db.session.scalars(sa.select(PrivacyLogEntry).order_by(PrivacyLogEntry.id)).all()
    assert [entry.action for entry in entries] == ["search", "erase"]
    assert all(entry.actor_id == admin.id for entry in entries)
    assert entries[1].counts["contacts"] == 2
    assert entries[1].counts["enquiries"] == 1
    for entry in entries:
        assert "anna" not in json.dumps(entry.counts).lower()


def test_erasure_is_recorded_in_the_history_without_values(people, login, client, db):
    login(Role.ADMIN)
    search(client, ANNA)
    client.post("/admin/privacy/erase")

    entry = db.session.scalars(
        sa.select(AuditEntry).where(
            AuditEntry.entity_type == "contacts",
            AuditEntry.entity_id == people["anna_contact"].id,
            AuditEntry.action == "anonymise",
        )
    ).one()
    assert entry.changes == {}
    page = client.get(f"/contacts/{people['anna_contact'].id}").get_data(as_text=True)
    assert "anonymised" in page


def test_legal_hold_stops_erasure_and_the_page_shows_the_reason(people, login, client, db):
    login(Role.ADMIN)
    enquiry = people["anna_enquiry"]
    search(client, ANNA)
    response = client.post(
        f"/admin/privacy/hold/enquiries/{enquiry.id}",
        data={"legal_hold": "y", "reason": "Public record: registered as case 2026-123."},
    )
    assert response.status_code == 302

    page = client.get("/admin/privacy/").get_data(as_text=True)
    assert "Public record: registered as case 2026-123." in page
    confirm = client.get("/admin/privacy/erase").get_data(as_text=True)
    assert "Public record: registered as case 2026-123." in confirm

    response = client.post("/admin/privacy/erase", follow_redirects=True)
    assert "under a legal hold were left untouched" in response.get_data(as_text=True)

    held = db.session.get(Enquiry, enquiry.id)
    assert held.email == ANNA and held.name == "Anna Andersson"
    assert held.anonymised_at is None
    assert "Called her" in held.comments[0].body
    receipts = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.enquiry_id == enquiry.id)
    ).all()
    assert any(message.recipient == ANNA for message in receipts)
    # Everything not held is erased.
    assert db.session.get(Contact, people["anna_contact"].id).email is None
    holding = {table for table, _column in tables_holding(db, ANNA)}
    # The held enquiry's records, and the admin's search, kept for coming back to them.
    assert holding <= {
        "enquiries",
        "enquiry_comments",
        "outbox_messages",
        "audit_entries",
        "privacy_searches",
    }

    # Lifting the hold lets a second erasure finish the job.
    client.post(f"/admin/privacy/hold/enquiries/{enquiry.id}", data={"reason": ""})
    client.post("/admin/privacy/erase")
    assert tables_holding(db, ANNA) == []


def test_legal_hold_needs_a_reason(people, login, client, db):
    login(Role.ADMIN)
    contact = people["anna_contact"]
    response = client.post(
        f"/admin/privacy/hold/contacts/{contact.id}", data={"legal_hold": "y", "reason": " "}
    )

    assert response.status_code == 200
    assert "Give the reason for the legal hold." in response.get_data(as_text=True)
    assert db.session.get(Contact, contact.id).legal_hold is False


def test_legal_hold_on_a_contact_stops_its_erasure(people, login, client, db):
    login(Role.ADMIN)
    contact = people["anna_contact"]
    client.post(
        f"/admin/privacy/hold/contacts/{contact.id}",
        data={"legal_hold": "y", "reason": "Signatory of agreement 12."},
    )
    search(client, ANNA)
    client.post("/admin/privacy/erase")

    kept = db.session.get(Contact, contact.id)
    assert kept.email == ANNA and kept.anonymised_at is None
    assert db.session.get(Enquiry, people["anna_enquiry"].id).anonymised_at is not None


def test_legal_hold_page_for_an_unknown_record_is_404(people, login, client):
    login(Role.ADMIN)
    assert client.get("/admin/privacy/hold/contacts/99999").status_code == 404
    assert client.get("/admin/privacy/hold/users/1").status_code == 404


def test_a_search_with_no_hits_says_so(people, login, client):
    login(Role.ADMIN)
    page = search(client, "nobody@nowhere.example").get_data(as_text=True)
    assert "No record holds this address." in page


# ---------------------------------------------------------------- the log and permissions


def test_log_page_lists_actions_without_the_address(people, login, client):
    login(Role.ADMIN)
    search(client, ANNA)
    client.post("/admin/privacy/export")
    page = client.get("/admin/privacy/log").get_data(as_text=True)

    assert "Search" in page and "Export" in page
    assert "anna" not in page.lower()


def test_log_page_has_an_empty_state(login, client):
    login(Role.ADMIN)
    client.post("/language/en?next=/")
    assert "Nothing has been logged yet." in client.get("/admin/privacy/log").get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MEMBER, Role.COORDINATOR])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/admin/privacy/"),
        ("post", "/admin/privacy/"),
        ("post", "/admin/privacy/export"),
        ("get", "/admin/privacy/erase"),
        ("post", "/admin/privacy/erase"),
        ("get", "/admin/privacy/log"),
        ("get", "/admin/privacy/notice"),
        ("post", "/admin/privacy/hold/contacts/1"),
    ],
)
def test_only_admins_reach_the_privacy_pages(people, login, client, db, role, method, path):
    user = login(role)
    token = services.start_search(ANNA, actor=user)
    db.session.commit()
    with client.session_transaction() as session:
        session[SESSION_KEY] = token
    response = getattr(client, method)(path, data={"email": ANNA, "legal_hold": "y"})

    assert response.status_code in (403, 404)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PrivacyLogEntry)) == 0
    assert db.session.get(Contact, people["anna_contact"].id).email == ANNA


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/admin/privacy/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_admin_sees_the_privacy_navigation_entry(login, client):
    login(Role.ADMIN)
    page = client.get("/dashboard/").get_data(as_text=True)
    assert 'href="/admin/privacy/"' in page


def test_services_find_nothing_for_an_empty_address(app, db):
    assert services.find_records("  ").total == 0


def test_address_with_non_ascii_letters_is_found_in_the_history_and_erased(app, db):
    address = "åsa.öberg@exempel.se"
    contact = make_contact("Åsa", "Öberg", address)

    hits = services.find_records(address.upper())
    assert [item.id for item in hits.contacts] == [contact.id]
    assert hits.audit_entries, "the create entry holds the address"

    services.erase(address, actor=None)
    db.session.commit()
    assert tables_holding(db, address) == []
