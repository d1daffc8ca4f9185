"""Stored e-mails are personal data: the privacy search finds them by any header or body
(the whole address only), the export lists them with their attachments' names and types,
erasure and retention delete them with their attachments' files, and a legal hold keeps
them; admins set how long logged mail is kept."""

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from crm.auth.models import Role
from crm.core.models import AuditEntry
from crm.core.types import utcnow
from crm.documents import services as document_services
from crm.documents import storage
from crm.documents.models import Document
from crm.extensions import db as _db
from crm.mail.models import Email, EmailDirection, EmailState
from crm.privacy import services
from crm.privacy.models import PrivacyLogEntry
from crm.settings import services as settings
from tests import factories
from tests.test_admin_settings import valid_form
from tests.test_privacy_requests import search, tables_holding

ANNA = "anna@kvarnbo.example"
# Longer addresses holding hers: neither is a mention of her.
JOHANNA = "johanna@kvarnbo.example"
SUBDOMAIN = "anna@kvarnbo.example.org"
OFFICE = "office@example.org"

# Erasure and retention delete attachments' files: in each document store.
pytestmark = pytest.mark.usefixtures("document_store")

EMAIL_FIELDS = (
    "from_address",
    "to_addresses",
    "cc_addresses",
    "subject",
    "body_text",
    "reply_text",
    "body_html",
)


@pytest.fixture(autouse=True)
def email_documents(monkeypatch):
    """Let documents belong to e-mails, as the mailbox package (M1) registers on main."""
    if "email_id" not in document_services.OWNER_KINDS:
        monkeypatch.setitem(
            document_services.OWNER_KINDS,
            "email_id",
            document_services.OwnerKind("email_id", Email, "mailbox.email"),
        )


def make_email(
    *,
    direction=EmailDirection.INCOMING,
    state=EmailState.FILED,
    age=timedelta(0),
    from_address="someone@company.example",
    to_addresses=OFFICE,
    subject="About the study",
    **fields,
):
    """A stored e-mail as the mailbox or a reply would write it, received `age` ago."""
    number = _db.session.scalar(sa.select(sa.func.count()).select_from(Email)) + 1
    email = Email(
        message_id=f"<message-{number}-{utcnow().timestamp()}@test.invalid>",
        direction=direction,
        state=state,
        from_address=from_address,
        to_addresses=to_addresses,
        subject=subject,
        received_at=utcnow() - age,
        **fields,
    )
    _db.session.add(email)
    _db.session.commit()
    return email


def attach(email, filename="offer.pdf"):
    return factories.make_document(filename, owner=email, filename=filename)


class StoredFileOf:
    """A document's file in the app's document store, known by name (its row may go)."""

    def __init__(self, document):
        self.name = document.stored_name

    def exists(self):
        return storage.current_store().exists(self.name)


def email_ids(db):
    return set(db.session.scalars(sa.select(Email.id)))


# ---------------------------------------------------------------- search and export


@pytest.mark.parametrize("column", EMAIL_FIELDS)
def test_search_finds_an_email_by_each_field_and_only_by_the_whole_address(db, column):
    def holding(address):
        text = f"Please write to {address.upper()}, thanks" if "address" not in column else address
        return make_email(**{column: text})

    hers = holding(ANNA)
    holding(JOHANNA)
    holding(SUBDOMAIN)
    make_email()

    assert services.find_records(ANNA).emails == [hers]
    assert services.find_records(f"  {ANNA.upper()} ").counts()["emails"] == 1


def test_search_finds_the_emails_on_her_own_enquiry(db, make_enquiry):
    enquiry = make_enquiry(name="Anna Berg", email=ANNA)
    # A colleague of hers writes in on her matter, without her address.
    on_her_enquiry = make_email(enquiry_id=enquiry.id, subject=f"Re: {enquiry.reference}")

    assert services.find_records(ANNA).emails == [on_her_enquiry]


def test_the_privacy_page_lists_the_emails(db, login, client, make_enquiry):
    login(Role.ADMIN)
    enquiry = make_enquiry(email="other@company.example")
    make_email(
        direction=EmailDirection.OUTGOING,
        from_address=OFFICE,
        to_addresses=ANNA,
        subject="Our answer to your question",
        enquiry_id=enquiry.id,
    )
    unmatched = make_email(from_address=ANNA, subject="Hello again", state=EmailState.UNMATCHED)
    attach(unmatched, "plan.pdf")
    client.post("/language/en?next=/")

    page = search(client, ANNA).get_data(as_text=True)

    assert "E-mails (2)" in page
    assert "Our answer to your question" in page
    assert "Hello again" in page
    assert "plan.pdf" in page
    assert f'href="/enquiries/{enquiry.id}"' in page
    assert "Unmatched" in page


def test_export_includes_the_emails_and_their_attachments_names_not_bytes(db, login, client):
    login(Role.ADMIN)
    email = make_email(from_address=ANNA, subject="Our offer", body_text="See the attachment.")
    document = attach(email, "offer.pdf")
    make_email(from_address=JOHANNA, subject="Not hers")
    search(client, ANNA)

    response = client.post("/admin/privacy/export")

    assert response.status_code == 200
    data = json.loads(response.get_data(as_text=True))
    assert [row["subject"] for row in data["emails"]] == ["Our offer"]
    row = data["emails"][0]
    assert row["from_address"] == ANNA
    assert row["body_text"] == "See the attachment."
    assert row["direction"] == "in"
    assert row["attachments"] == [
        {
            "file_name": "offer.pdf",
            "content_type": "application/pdf",
            "size_bytes": document.size_bytes,
        }
    ]
    assert "%PDF" not in response.get_data(as_text=True)
    entry = db.session.scalars(
        sa.select(PrivacyLogEntry).where(PrivacyLogEntry.action == "export")
    ).one()
    assert entry.counts["emails"] == 1


# ---------------------------------------------------------------- erasure


def test_erasure_deletes_the_emails_and_their_files_and_keeps_held_ones(
    db, login, client, make_enquiry
):
    login(Role.ADMIN)
    # Hers in each way: from her, to her, copied, named in the text, on her enquiry.
    own_enquiry = make_enquiry(name="Anna Berg", email=ANNA)
    from_her = make_email(from_address=ANNA, state=EmailState.UNMATCHED)
    attachment = attach(from_her, "cv.pdf")
    _db.session.add(
        AuditEntry(
            entity_type="emails",
            entity_id=from_her.id,
            action="attach",
            changes={"subject": [None, f"From {ANNA}"]},
        )
    )
    _db.session.commit()
    make_email(
        direction=EmailDirection.OUTGOING,
        from_address=OFFICE,
        to_addresses=ANNA,
        enquiry_id=own_enquiry.id,
    )
    make_email(cc_addresses=f"boss@company.example, {ANNA}", state=EmailState.DISCARDED)
    make_email(body_text=f"Anna ({ANNA}) will call.", state=EmailState.QUARANTINED)
    # Held: on someone else's enquiry under a hold, and logged on a held contact's activity.
    held_enquiry = make_enquiry(email="ceo@company.example")
    services.set_legal_hold(held_enquiry, reason="Court case", actor=None)
    on_held_enquiry = make_email(to_addresses=f"{OFFICE}, {ANNA}", enquiry_id=held_enquiry.id)
    held_attachment = attach(on_held_enquiry, "contract.pdf")
    contact = factories.make_contact("Bo", "Berg", email="bo@company.example")
    services.set_legal_hold(contact, reason="Audit", actor=None)
    activity = factories.make_activity("E-mail with Bo", contacts=[contact])
    logged_on_held = make_email(from_address=ANNA, activity_id=activity.id)
    not_hers = make_email(from_address=JOHANNA, body_text=f"Copy to {SUBDOMAIN}")
    # Kept aside: the rows are gone once erased.
    ids = {"email": from_her.id, "document": attachment.id}
    paths = {"erased": StoredFileOf(attachment), "held": StoredFileOf(held_attachment)}
    held, not_hers_id = {on_held_enquiry.id, logged_on_held.id}, not_hers.id
    assert paths["erased"].exists()
    client.post("/language/en?next=/")
    search(client, ANNA)

    response = client.post("/admin/privacy/erase", follow_redirects=True)

    assert response.status_code == 200
    assert "2 records under a legal hold were left untouched" in response.get_data(as_text=True)
    db.session.expire_all()
    assert email_ids(db) == held | {not_hers_id}
    assert db.session.get(Document, ids["document"]) is None
    assert not paths["erased"].exists()
    assert paths["held"].exists()
    history = db.session.scalars(
        sa.select(AuditEntry).where(
            AuditEntry.entity_type.in_(["emails", "documents"]),
            AuditEntry.entity_id.in_([ids["email"], ids["document"]]),
        )
    ).all()
    assert history and all(ANNA not in json.dumps(entry.changes) for entry in history)
    assert "cv.pdf" not in json.dumps([entry.changes for entry in history])
    entry = db.session.scalars(
        sa.select(PrivacyLogEntry).where(PrivacyLogEntry.action == "erase")
    ).one()
    assert entry.counts["emails"] == 4
    assert entry.counts["documents"] == 1
    assert entry.counts["held"] == 2
    assert ANNA not in json.dumps(entry.counts)
    holding = {table for table, _column in tables_holding(db, ANNA)}
    assert holding <= {"emails", "privacy_searches"}

    # Once the holds are lifted, a second erasure takes the rest.
    services.clear_legal_hold(db.session.get(type(held_enquiry), held_enquiry.id), actor=None)
    services.clear_legal_hold(db.session.get(type(contact), contact.id), actor=None)
    db.session.commit()
    client.post("/admin/privacy/erase")
    db.session.expire_all()
    assert email_ids(db) == {not_hers_id}
    assert not paths["held"].exists()
    # Only Johanna's e-mail, whose addresses hold hers as text, still does.
    assert set(tables_holding(db, ANNA)) == {("emails", "from_address"), ("emails", "body_text")}


def test_purged_files_stay_when_the_transaction_rolls_back(db):
    email = make_email(from_address=ANNA)
    document = attach(email)

    path, document_id, email_id = StoredFileOf(document), document.id, email.id

    services.delete_emails([email])
    db.session.rollback()

    assert path.exists()
    assert db.session.get(Document, document_id) is not None
    services.delete_emails([db.session.get(Email, email_id)])
    db.session.commit()
    assert not path.exists()
    assert db.session.get(Document, document_id) is None


# ---------------------------------------------------------------- retention


def test_retention_deletes_old_logged_and_unmatched_mail_and_keeps_the_rest(
    db, runner, make_enquiry
):
    old = timedelta(days=800)  # more than 24 months
    contact = factories.make_contact("Bo", "Berg", email="bo@company.example")
    activity = factories.make_activity("E-mail with Bo", contacts=[contact])
    logged = make_email(activity_id=activity.id, age=old)
    logged_attachment = attach(logged)
    make_email(state=EmailState.UNMATCHED, age=old)
    make_email(state=EmailState.DISCARDED, age=old)
    make_email(state=EmailState.QUARANTINED, age=old)
    recent_logged = make_email(activity_id=activity.id, age=timedelta(days=300))
    recent_unmatched = make_email(state=EmailState.UNMATCHED, age=timedelta(days=30))
    # On an enquiry: the enquiry's retention decides, whatever the e-mail's age.
    open_enquiry = make_enquiry(age=timedelta(days=1000))
    on_open_enquiry = make_email(enquiry_id=open_enquiry.id, age=old)
    closed_enquiry = make_enquiry(closed_ago=timedelta(days=800))
    on_closed_enquiry = make_email(enquiry_id=closed_enquiry.id, age=timedelta(days=10))
    closed_attachment = attach(on_closed_enquiry)
    held_enquiry = make_enquiry(closed_ago=timedelta(days=800))
    services.set_legal_hold(held_enquiry, reason="Public record", actor=None)
    on_held_enquiry = make_email(enquiry_id=held_enquiry.id, age=old)
    held_contact = factories.make_contact("Cia", "Held", email="cia@company.example")
    services.set_legal_hold(held_contact, reason="Audit", actor=None)
    held_activity = factories.make_activity("E-mail with Cia", contacts=[held_contact])
    logged_on_held = make_email(activity_id=held_activity.id, age=old)
    kept = {
        recent_logged.id,
        recent_unmatched.id,
        on_open_enquiry.id,
        on_held_enquiry.id,
        logged_on_held.id,
    }
    attachments = {
        document.id: StoredFileOf(document) for document in (logged_attachment, closed_attachment)
    }

    result = runner.invoke(args=["crm", "retention"])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "Anonymised 1 enquiries and 1 outbox messages; deleted 5 e-mails and 2 attachments; "
        "skipped 2 under legal hold."
    )
    db.session.expire_all()
    assert email_ids(db) == kept
    for document_id, path in attachments.items():
        assert db.session.get(Document, document_id) is None
        assert not path.exists()

    again = runner.invoke(args=["crm", "retention"])
    assert "deleted 0 e-mails and 0 attachments; skipped 2" in again.output
    entries = db.session.scalars(
        sa.select(PrivacyLogEntry).where(PrivacyLogEntry.action == "retention")
    ).all()
    assert [(entry.counts["emails"], entry.counts["documents"]) for entry in entries] == [
        (5, 2),
        (0, 0),
    ]
    assert entries[0].counts["email_retention_months"] == 24


def test_retention_removes_mail_arriving_on_an_anonymised_enquiry(db, make_enquiry):
    enquiry = make_enquiry(closed_ago=timedelta(days=800))
    services.apply_retention()
    db.session.commit()
    late_reply = make_email(enquiry_id=enquiry.id)

    counts = services.apply_retention()
    db.session.commit()

    assert counts["emails"] == 1
    assert db.session.get(Email, late_reply.id) is None


def test_retention_uses_the_email_setting(db):
    settings.put("email_retention_months", 6)
    db.session.commit()
    due = make_email(state=EmailState.UNMATCHED, age=timedelta(days=200))
    kept = make_email(state=EmailState.UNMATCHED, age=timedelta(days=150))

    counts = services.apply_retention()
    db.session.commit()

    assert counts["emails"] == 1
    assert email_ids(db) == {kept.id}
    assert db.session.get(Email, due.id) is None


# ---------------------------------------------------------------- the setting and the notice


def settings_form(**fields):
    return valid_form(**fields)


@pytest.mark.parametrize("value", ["0", "121", "twelve", "1.5", ""])
def test_the_email_retention_setting_takes_whole_months_from_1_to_120(db, login, client, value):
    login(Role.ADMIN)

    response = client.post(
        "/admin/settings?lang=en", data=settings_form(email_retention_months=value)
    )

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Enter a whole number of months from 1 to 120." in html
    assert settings.get("email_retention_months") == 24


def test_admins_set_the_email_retention_in_both_languages(db, login, client):
    login(Role.ADMIN)
    english = client.get("/admin/settings?lang=en").get_data(as_text=True)
    swedish = client.get("/admin/settings?lang=sv").get_data(as_text=True)
    assert "Retention period for logged e-mail (months)" in english
    assert "Lagringstid för loggad e-post (månader)" in swedish

    response = client.post("/admin/settings", data=settings_form(email_retention_months="60"))

    assert response.status_code == 302
    assert settings.get("email_retention_months") == 60
    assert services.email_retention_months() == 60


def test_the_default_notice_says_how_long_email_is_kept(db, client):
    settings.put("email_retention_months", 36)
    db.session.commit()

    english = client.get("/privacy?lang=en").get_data(as_text=True)
    swedish = client.get("/privacy?lang=sv").get_data(as_text=True)

    assert "other e-mail is deleted after 36 months" in english
    assert "annan e-post raderas efter 36 månader" in swedish
