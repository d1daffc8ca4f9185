"""The document library at /documents/: every document the user may read, filtered by kind
of record, type and public/private, paginated; and editing a document's title, description
and public flag after upload, with its audit entry."""

import io
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from crm.auth.models import Role
from crm.core.models import AuditEntry
from crm.core.types import utcnow
from crm.documents import services
from crm.documents.models import Document
from crm.enquiries.models import EnquiryStatus
from crm.extensions import db as _db
from crm.mail.models import Email, EmailDirection, EmailState

pytestmark = pytest.mark.usefixtures("document_store")


@pytest.fixture
def owners(make_organisation, make_agreement, make_activity):
    organisation = make_organisation("Lund Lab")
    agreement = make_agreement("Research deal", parties=[organisation])
    activity = make_activity("Kick-off meeting", organisations=[organisation])
    return organisation, agreement, activity


def titles(html):
    return [
        t for t in ("Lab plan", "Signed deal", "Meeting notes", "Slides", "Mail file") if t in html
    ]


def csv_file(name="data.csv"):
    return FileStorage(io.BytesIO(b"a,b\n1,2\n"), filename=name)


def filed_email(enquiry):
    email = Email(
        message_id="<library@example.com>",
        direction=EmailDirection.INCOMING,
        state=EmailState.FILED,
        subject="Our plans",
        from_address="someone@example.com",
        received_at=datetime(2026, 1, 1, 12, 0, tzinfo=UTC),
        enquiry_id=enquiry.id,
    )
    _db.session.add(email)
    _db.session.commit()
    return email


def test_the_library_lists_what_the_user_may_read(
    db, client, signed_in, owners, make_document, make_activity
):
    organisation, agreement, activity = owners
    make_document("Lab plan", owner=organisation)
    make_document("Signed deal", owner=agreement, is_public=True)
    make_document("Meeting notes", owner=activity)
    make_document("Slides", owner=activity, deleted=True)
    gone = make_activity("Cancelled")
    make_document("Mail file", owner=gone, deleted=False)
    gone.deleted_at = utcnow()
    db.session.commit()
    signed_in(Role.VIEWER)

    response = client.get("/documents/")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert titles(html) == ["Lab plan", "Signed deal", "Meeting notes"]
    assert "Lund Lab" in html and "Research deal" in html and "Kick-off meeting" in html
    assert "3 documents" in html


def test_filters_by_kind_type_and_visibility(db, client, signed_in, owners, make_document):
    organisation, agreement, activity = owners
    make_document("Lab plan", owner=organisation)
    make_document("Signed deal", owner=agreement, is_public=True)
    services.store_document(
        csv_file(),
        title="Meeting notes",
        description=None,
        is_public=False,
        owner=activity,
        actor=None,
    )
    db.session.commit()
    signed_in(Role.MEMBER)

    def shown(**query):
        return titles(client.get("/documents/", query_string=query).get_data(as_text=True))

    assert shown(kind="agreement_id") == ["Signed deal"]
    assert shown(kind="organisation_id") == ["Lab plan"]
    assert shown(type="text/csv") == ["Meeting notes"]
    assert shown(type="application/pdf") == ["Lab plan", "Signed deal"]
    assert shown(public="yes") == ["Signed deal"]
    assert shown(public="no") == ["Lab plan", "Meeting notes"]
    assert shown(public="no", kind="activity_id", type="text/csv") == ["Meeting notes"]
    assert shown(q="deal") == ["Signed deal"]
    # Nonsense filters are ignored, never a 500.
    assert shown(kind="users", type="x/y", public="maybe", page="-3", per_page="7") == [
        "Lab plan",
        "Signed deal",
        "Meeting notes",
    ]


def test_the_library_is_paginated(db, client, signed_in, make_organisation, make_document):
    organisation = make_organisation("Busy Org")
    for number in range(27):
        make_document(f"Report {number:02d}", owner=organisation)
    signed_in(Role.MEMBER)

    first = client.get("/documents/").get_data(as_text=True)
    second = client.get("/documents/?page=2").get_data(as_text=True)

    assert "27 documents" in first
    assert first.count('class="muted" href="/documents/') == 25
    assert second.count('class="muted" href="/documents/') == 2
    assert 'rel="next"' in first


def test_attachments_follow_who_may_read_the_email(db, client, login, make_user, make_enquiry):
    owner = make_user("member", name="Maja Member")
    other = make_user("member", name="Olle Other")
    enquiry = make_enquiry(assignee_id=owner.id, status=EnquiryStatus.ASSIGNED)
    email = filed_email(enquiry)
    services.store_document(
        csv_file("plans.csv"),
        title="Mail file",
        description=None,
        is_public=False,
        owner=email,
        actor=None,
    )
    db.session.commit()

    login(other)
    assert titles(client.get("/documents/").get_data(as_text=True)) == []
    client.post("/logout")
    login(owner)
    assert titles(client.get("/documents/").get_data(as_text=True)) == ["Mail file"]
    client.post("/logout")
    login(Role.COORDINATOR)
    assert titles(client.get("/documents/").get_data(as_text=True)) == ["Mail file"]


def test_the_library_needs_a_sign_in(client):
    response = client.get("/documents/")

    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_uploader_edits_title_description_and_visibility(
    db, client, signed_in, owners, make_document
):
    organisation, _agreement, _activity = owners
    member = signed_in(Role.MEMBER)
    document = make_document("Lab plan", owner=organisation, actor=member)

    form = client.get(f"/documents/{document.id}/edit").get_data(as_text=True)
    response = client.post(
        f"/documents/{document.id}/edit",
        data={"title": "Lab plan 2027", "description": "The agreed plan.", "is_public": "y"},
    )

    assert 'for="title"' in form and 'for="is_public"' in form
    assert response.status_code == 302
    db.session.expire_all()
    document = db.session.get(Document, document.id)
    assert (document.title, document.description, document.is_public) == (
        "Lab plan 2027",
        "The agreed plan.",
        True,
    )
    entry = db.session.scalars(
        sa.select(AuditEntry).where(
            AuditEntry.entity_type == "documents", AuditEntry.action == "update"
        )
    ).one()
    assert entry.actor_id == member.id
    assert entry.changes["is_public"] == [False, True]
    page = client.get(f"/documents/{document.id}").get_data(as_text=True)
    history = page.split('id="history-heading"')[1]
    assert "Title" in history and "Lab plan → Lab plan 2027" in history
    assert "Public" in history and "No → Yes" in history


def test_an_empty_title_is_refused_and_changes_nothing(
    db, client, signed_in, owners, make_document
):
    organisation, _agreement, _activity = owners
    member = signed_in(Role.MEMBER)
    document = make_document("Lab plan", owner=organisation, actor=member)

    response = client.post(f"/documents/{document.id}/edit", data={"title": "  ", "is_public": "y"})

    assert response.status_code == 200
    assert "Enter a title." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Document, document.id).is_public is False


def test_who_may_edit(db, client, login, make_user, owners, make_document):
    organisation, _agreement, _activity = owners
    uploader = make_user("member")
    document = make_document("Lab plan", owner=organisation, actor=uploader)

    login(Role.MEMBER)
    assert client.get(f"/documents/{document.id}/edit").status_code == 403
    assert client.post(f"/documents/{document.id}/edit", data={"title": "X"}).status_code == 403
    client.post("/logout")
    login(Role.VIEWER)
    assert client.get(f"/documents/{document.id}/edit").status_code == 403
    client.post("/logout")
    login(Role.COORDINATOR)
    assert client.get(f"/documents/{document.id}/edit").status_code == 200
    assert client.get("/documents/99999/edit").status_code == 404
    db.session.expire_all()
    assert db.session.get(Document, document.id).title == "Lab plan"
