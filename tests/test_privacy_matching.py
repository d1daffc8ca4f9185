"""A privacy request is about one whole e-mail address: searching, exporting and erasing
anna@… never touches johanna@… or anna@….org, on SQLite and PostgreSQL alike."""

import json

import pytest
import sqlalchemy as sa

from crm.auth.models import Role
from crm.enquiries import services as enquiry_services
from crm.extensions import db as _db
from crm.mail.models import OutboxMessage, OutboxStatus
from crm.organisations.models import Contact
from crm.privacy import services
from tests.test_privacy_requests import make_contact, search, send_enquiry, text_values

ANNA = "anna@lif-test.example"
JOHANNA = "johanna@lif-test.example"


def add_message(body_text, *, recipient="someone@example.org", subject="Forwarded"):
    message = OutboxMessage(
        kind="manual",
        recipient=recipient,
        subject=subject,
        body_text=body_text,
        language="en",
        status=OutboxStatus.SENT,
    )
    _db.session.add(message)
    _db.session.commit()
    return message


@pytest.fixture
def namesakes(app, db, client, make_user):
    """Anna and Johanna, whose addresses differ only by "joh", each in every kind of record."""
    coordinator = make_user(Role.COORDINATOR)
    people = {}
    for key, name, address in (("anna", "Anna Alm", ANNA), ("johanna", "Johanna Holm", JOHANNA)):
        first, last = name.split()
        contact = make_contact(first, last, address, notes=f"Reached at {address} on Mondays.")
        enquiry = send_enquiry(client, name, address, f"{first} here ({address}), a question.")
        enquiry_services.add_comment(enquiry, f"Answered {address} by phone.", actor=coordinator)
        db.session.commit()
        message = add_message(f"Forwarding a question from {address}.", subject=f"About {first}")
        people[key] = {"contact": contact, "enquiry": enquiry, "message": message}
    # Notes holding Anna's address only as part of another one.
    people["other_domain"] = make_contact(
        "Olle", "Org", "olle@lif-test.example", notes=f"Old address: {ANNA}.org, gone."
    )
    return people


def johanna_rows(db):
    """Every row, in full, of every table holding Johanna's address or name."""
    rows = []
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            for row in connection.execute(sa.select(table)).mappings():
                texts = [text.lower() for value in row.values() for text in text_values(value)]
                if any("johanna" in text for text in texts):
                    rows.append((table.name, dict(row)))
    return rows


def test_search_finds_only_the_whole_address(namesakes, login, client):
    login(Role.ADMIN)
    page = search(client, ANNA).get_data(as_text=True)

    assert "Anna Alm" in page
    assert namesakes["anna"]["enquiry"].reference in page
    assert "About Anna" in page
    assert "Johanna Holm" not in page
    assert namesakes["johanna"]["enquiry"].reference not in page
    assert "About Johanna" not in page
    assert "Answered johanna" not in page
    assert "Olle Org" not in page  # anna@….org is someone else


def test_search_for_johanna_does_not_find_anna(namesakes, login, client):
    login(Role.ADMIN)
    page = search(client, JOHANNA).get_data(as_text=True)

    assert "Johanna Holm" in page
    assert "Anna Alm" not in page and "About Anna" not in page


def test_a_different_case_is_still_found(namesakes, login, client):
    login(Role.ADMIN)
    page = search(client, "  ANNA@Lif-Test.EXAMPLE ").get_data(as_text=True)

    assert f"Records holding {ANNA}" in page
    assert "Anna Alm" in page and "About Anna" in page
    assert "Johanna Holm" not in page


def test_export_holds_nothing_of_johanna(namesakes, login, client):
    login(Role.ADMIN)
    search(client, ANNA)
    data = json.loads(client.post("/admin/privacy/export").get_data(as_text=True))

    assert [row["id"] for row in data["contacts"]] == [namesakes["anna"]["contact"].id]
    assert [row["id"] for row in data["enquiries"]] == [namesakes["anna"]["enquiry"].id]
    assert [row["body"] for row in data["comments"]] == [f"Answered {ANNA} by phone."]
    assert "About Anna" in {row["subject"] for row in data["outbox_messages"]}
    assert all(
        row["enquiry_id"] in (None, namesakes["anna"]["enquiry"].id)
        for row in data["outbox_messages"]
    )
    assert data["audit_entries"]
    dump = json.dumps(data, ensure_ascii=False).lower()
    assert "johanna" not in dump
    assert "olle" not in dump


def test_erasure_of_anna_leaves_johanna_byte_for_byte_unchanged(namesakes, login, client, db):
    login(Role.ADMIN)
    before = johanna_rows(db)
    olle_notes = namesakes["other_domain"].notes
    assert {table for table, _row in before} >= {
        "contacts",
        "enquiries",
        "enquiry_comments",
        "outbox_messages",
        "audit_entries",
    }

    found_before = services.find_records(JOHANNA).counts()
    search(client, ANNA)
    response = client.post("/admin/privacy/erase", follow_redirects=True)
    assert "Erased:" in response.get_data(as_text=True)

    db.session.expire_all()
    assert johanna_rows(db) == before
    assert services.find_records(JOHANNA).counts() == found_before
    assert db.session.get(Contact, namesakes["other_domain"].id).notes == olle_notes
    assert services.find_records(ANNA).total == 0


def test_erasure_takes_only_the_whole_address_out_of_shared_notes(app, db):
    contact = make_contact(
        "Bea", "Both", "bea@lif-test.example", notes=f"Copy {JOHANNA} and <{ANNA.upper()}>."
    )

    services.erase(ANNA, actor=None)
    db.session.commit()

    assert db.session.get(Contact, contact.id).notes == f"Copy {JOHANNA} and <[anonymised]>."


@pytest.mark.parametrize(
    ("notes", "found"),
    [
        (f"mail {ANNA}, please", True),
        (f"<{ANNA.upper()}>", True),
        (f"Write to {ANNA}.", True),
        (f"mailto:{ANNA}?subject=Hi", True),
        (f'"{ANNA}"', True),
        (ANNA, True),
        (JOHANNA, False),
        (f"{ANNA}.org", False),
        (f"{ANNA}-two.se", False),
        (f"x.{ANNA}", False),
        (f"anna+news@lif-test.example and {ANNA}x", False),
        ("anna@lif-test", False),
    ],
)
def test_a_mention_is_the_address_standing_alone(app, db, notes, found):
    contact = make_contact("Nora", "Note", "nora@example.org", notes=notes)

    hits = services.find_records(ANNA)

    assert ([item.id for item in hits.contacts] == [contact.id]) is found
    services.erase(ANNA, actor=None)
    db.session.commit()
    kept = db.session.get(Contact, contact.id).notes
    assert (kept != notes) is found


def test_an_address_with_non_ascii_letters_is_found_in_any_case(app, db):
    # SQLite's lower() folds only A-Z, so the database alone would miss "Åsa" for "åsa".
    contact = make_contact("Åsa", "Öberg", "Åsa.Öberg@Exempel.se")
    other = make_contact("Tor", "Text", "tor@example.org", notes="Ask ÅSA.ÖBERG@EXEMPEL.SE.")

    hits = services.find_records("åsa.öberg@exempel.se")

    assert [item.id for item in hits.contacts] == [contact.id, other.id]
    assert hits.audit_entries
    services.erase("åsa.öberg@exempel.se", actor=None)
    db.session.commit()
    assert db.session.get(Contact, contact.id).email is None
    assert db.session.get(Contact, other.id).notes == "Ask [anonymised]."
