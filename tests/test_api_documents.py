"""The documents resource of the REST API: the library's list and visibility, download,
upload and replacement through the upload page's checks, details and deletion as the pages
allow them; every test once with each document store."""

import hashlib
import io
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from crm.auth.models import ApiScope, Role
from crm.core.models import AuditEntry
from crm.documents import services, storage
from crm.documents.models import Document
from crm.enquiries.models import EnquiryStatus
from crm.mail.models import Email, EmailDirection, EmailState
from tests.factories import PDF_BYTES, make_activity, make_agreement, make_organisation

pytestmark = pytest.mark.usefixtures("document_store")

PROBLEM = "application/problem+json"
URL = "/api/v1/documents/"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def owners():
    organisation = make_organisation("Lund Lab")
    agreement = make_agreement("Research deal", parties=[organisation])
    activity = make_activity("Kick-off meeting", organisations=[organisation])
    return organisation, agreement, activity


def upload(api, content=PDF_BYTES, filename="Annual report.pdf", **fields):
    data = {"file": (io.BytesIO(content), filename), **fields}
    return api.post(URL, data=data, content_type="multipart/form-data")


def stored_names():
    return sorted(storage.current_store().names())


def all_documents(db):
    return db.session.scalars(sa.select(Document).order_by(Document.id)).all()


def _errors(response):
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    return {error["field"]: error["detail"] for error in response.json["errors"]}


def _titles(api, query=""):
    response = api.get(f"{URL}?{query}")
    assert response.status_code == 200, response.json
    return [item["title"] for item in response.json["items"]]


def filed_email(enquiry, db):
    email = Email(
        message_id="<api-documents@example.com>",
        direction=EmailDirection.INCOMING,
        state=EmailState.FILED,
        subject="Our plans",
        from_address="someone@example.com",
        received_at=datetime(2026, 1, 1, 12, 0, tzinfo=UTC),
        enquiry_id=enquiry.id,
    )
    db.session.add(email)
    db.session.commit()
    return email


# ---------------------------------------------------------------- list and read


def test_the_list_takes_the_librarys_filters_and_walks_by_cursor(
    api_client, db, owners, make_document
):
    organisation, agreement, activity = owners
    api = api_client(Role.VIEWER, ApiScope.READ)
    make_document("Lab plan", owner=organisation)
    make_document("Signed deal", owner=agreement, is_public=True)
    make_document("Meeting notes", owner=activity, filename="notes.txt", content=b"Notes\n")
    make_document("Slides", owner=activity, is_public=True)
    make_document("Old draft", owner=activity, deleted=True)
    old = make_document("Archive", owner=organisation)
    old.created_at = old.updated_at = datetime.now(UTC) - timedelta(days=30)
    db.session.commit()

    newest_first = ["Slides", "Meeting notes", "Signed deal", "Lab plan", "Archive"]
    assert _titles(api) == newest_first
    items, cursor = [], None
    while True:
        page = api.get(f"{URL}?limit=2" + (f"&cursor={cursor}" if cursor else "")).json
        items += [item["title"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert items == newest_first
    assert _titles(api, "sort=title") == sorted(newest_first)

    assert _titles(api, "kind=agreement_id") == ["Signed deal"]
    assert _titles(api, "type=text/plain") == ["Meeting notes"]
    assert _titles(api, "public=true") == ["Slides", "Signed deal"]
    assert _titles(api, "public=no") == ["Meeting notes", "Lab plan", "Archive"]
    assert _titles(api, "q=notes") == ["Meeting notes"]
    assert _titles(api, f"activity_id={activity.id}") == ["Slides", "Meeting notes"]
    assert _titles(api, f"organisation_id={organisation.id}") == ["Lab plan", "Archive"]
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat().replace("+", "%2B")
    assert "Archive" not in _titles(api, f"updated_since={since}")

    [item] = api.get(f"{URL}?q=notes").json["items"]
    assert item["filename"] == "notes.txt"
    assert item["content_type"] == "text/plain"
    assert item["size_bytes"] == len(b"Notes\n")
    assert item["sha256"] == hashlib.sha256(b"Notes\n").hexdigest()
    assert item["activity_id"] == activity.id and item["organisation_id"] is None
    assert item["file_url"] == f"{URL}{item['id']}/file"

    refused = api.get(f"{URL}?kind=contacts&type=application/zip&limit=0&colour=red")
    assert set(_errors(refused)) == {"kind", "type", "limit", "colour"}


def test_a_document_of_a_record_the_user_may_not_read_is_404(
    api_client, db, make_user, make_enquiry, owners, make_document
):
    organisation, _agreement, activity = owners
    assignee = make_user(Role.MEMBER)
    enquiry = make_enquiry(assignee_id=assignee.id, status=EnquiryStatus.ASSIGNED)
    attachment = make_document("Mail file", owner=filed_email(enquiry, db))
    of_deleted_owner = make_document("Orphan", owner=make_organisation("Gone AB"))
    of_deleted_owner.organisation.deleted_at = datetime.now(UTC)
    deleted = make_document("Deleted", owner=activity, deleted=True)
    db.session.commit()

    other = api_client(Role.MEMBER)
    for document in (attachment, of_deleted_owner, deleted):
        for path in (f"{URL}{document.id}", f"{URL}{document.id}/file"):
            response = other.get(path)
            assert response.status_code == 404, path
            assert response.mimetype == PROBLEM
        assert other.patch(f"{URL}{document.id}", json={"title": "X"}).status_code == 404
    assert _titles(other) == []

    own = api_client(assignee)
    assert own.get(f"{URL}{attachment.id}").json["email_id"] is not None
    assert own.get(f"{URL}{attachment.id}/file").status_code == 200
    assert _titles(own) == ["Mail file"]
    assert _titles(api_client(Role.COORDINATOR)) == ["Mail file"]
    assert organisation.id  # the fixture's records exist, unrelated to these


def test_the_download_is_the_exact_file_as_an_attachment(api_client, owners, make_document):
    _organisation, agreement, _activity = owners
    document = make_document("Signed deal", owner=agreement, filename="Signed deal.pdf")
    api = api_client(Role.VIEWER, ApiScope.READ)

    response = api.get(f"{URL}{document.id}/file")

    assert response.status_code == 200
    assert response.data == PDF_BYTES
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == "attachment; filename=Signed_deal.pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "sandbox"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "Set-Cookie" not in response.headers
    assert api.get(f"{URL}99999/file").status_code == 404


# ---------------------------------------------------------------- upload


def test_an_upload_is_stored_checked_by_content_and_shows_on_the_page(
    api_client, db, owners, signed_in, client, document_store
):
    _organisation, agreement, _activity = owners
    api = api_client(Role.MEMBER)

    response = upload(
        api, agreement_id=str(agreement.id), description="Undertecknat", is_public="true"
    )

    assert response.status_code == 201, response.get_data(as_text=True)
    created = response.json
    assert response.headers["Location"].endswith(f"{URL}{created['id']}")
    assert created["title"] == "Annual report"  # the file's name, as on the upload page
    assert created["filename"] == "Annual_report.pdf"
    assert created["content_type"] == "application/pdf"
    assert created["agreement_id"] == agreement.id
    assert created["is_public"] is True
    assert created["description"] == "Undertecknat"
    assert created["created_by_id"] == api.user.id
    [document] = all_documents(db)
    assert stored_names() == [document.stored_name]
    assert api.get(created["file_url"]).data == PDF_BYTES
    entry = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.entity_type == "documents")
    ).one()
    assert entry.api_token_name == "Test integration"

    signed_in(Role.VIEWER)
    assert "Annual report" in client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    assert client.get(f"/documents/{document.id}/download").data == PDF_BYTES


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"MZ\x90\x00\x03\x00\x00\x00", "tool.exe", "This kind of file cannot be uploaded."),
        (PNG_BYTES, "report.pdf", "does not match its name"),
        (b"", "empty.pdf", "The file is empty."),
    ],
)
def test_a_refused_upload_says_why_on_the_file_and_stores_nothing(
    api_client, db, owners, content, filename, message
):
    _organisation, _agreement, activity = owners
    api = api_client(Role.MEMBER)

    response = upload(api, content, filename, activity_id=str(activity.id))

    assert message in _errors(response)["file"]
    assert all_documents(db) == []
    assert stored_names() == []


@pytest.mark.config(MAX_UPLOAD_BYTES=100)
def test_a_too_large_upload_is_refused_and_stores_nothing(api_client, db, owners):
    _organisation, _agreement, activity = owners
    api = api_client(Role.MEMBER)

    response = upload(api, PDF_BYTES + b" " * 100, "big.pdf", activity_id=str(activity.id))

    assert _errors(response) == {
        "file": "The file is too large. The largest file you can upload is 100 B."
    }
    assert all_documents(db) == []
    assert stored_names() == []


def test_an_upload_names_one_record_the_user_may_read(
    api_client, db, owners, make_user, make_enquiry
):
    organisation, agreement, activity = owners
    api = api_client(Role.MEMBER)

    assert set(_errors(upload(api))) == {""}
    both = upload(api, organisation_id=str(organisation.id), agreement_id=str(agreement.id))
    assert set(_errors(both)) == {"organisation_id", "agreement_id"}
    assert _errors(upload(api, activity_id="99999")) == {
        "activity_id": "There is no record with this id."
    }
    gone = make_activity("Cancelled", deleted=True)
    assert set(_errors(upload(api, activity_id=str(gone.id)))) == {"activity_id"}
    # An e-mail's attachments come with the e-mail, never through an upload.
    enquiry = make_enquiry()
    email = filed_email(enquiry, db)
    assert set(_errors(upload(api, email_id=str(email.id)))) == {"email_id"}
    no_file = api.post(
        URL,
        data={"title": "Nothing", "activity_id": str(activity.id)},
        content_type="multipart/form-data",
    )
    assert set(_errors(no_file)) == {"file"}
    text_file = api.post(URL, data={"file": "not a file", "activity_id": str(activity.id)})
    assert _errors(text_file) == {"file": "Choose a file to upload."}
    as_json = api.post(URL, json={"activity_id": activity.id})
    assert as_json.status_code == 422 and as_json.mimetype == PROBLEM
    assert all_documents(db) == []
    assert stored_names() == []


def test_viewers_and_read_only_tokens_cannot_upload(api_client, db, owners):
    _organisation, _agreement, activity = owners
    viewer = api_client(Role.MEMBER)
    viewer.user.role = Role.VIEWER
    db.session.commit()
    assert upload(viewer, activity_id=str(activity.id)).status_code == 403
    read_only = api_client(Role.ADMIN, ApiScope.READ)
    refused = upload(read_only, activity_id=str(activity.id))
    assert refused.status_code == 403
    assert refused.mimetype == PROBLEM
    assert all_documents(db) == []
    assert stored_names() == []


# ---------------------------------------------------------------- change and delete


def test_the_uploader_changes_the_details_and_the_rest_is_kept(
    api_client, db, owners, make_document
):
    _organisation, _agreement, activity = owners
    uploader = api_client(Role.MEMBER)
    document = make_document(
        "Slides", owner=activity, description="From the kick-off", actor=uploader.user
    )
    url = f"{URL}{document.id}"

    changed = uploader.patch(url, json={"is_public": True})
    assert changed.status_code == 200, changed.json
    assert changed.json["is_public"] is True
    assert changed.json["title"] == "Slides"
    assert changed.json["description"] == "From the kick-off"
    renamed = uploader.patch(url, json={"title": "  Kick-off slides "})
    assert renamed.json["title"] == "Kick-off slides"
    assert renamed.json["is_public"] is True

    assert set(_errors(uploader.patch(url, json={"title": ""}))) == {"title"}
    assert set(_errors(uploader.patch(url, json={"is_public": "no"}))) == {"is_public"}
    assert set(_errors(uploader.patch(url, json={"content_type": "text/plain"}))) == {
        "content_type"
    }
    assert api_client(Role.MEMBER).patch(url, json={"title": "Mine"}).status_code == 403
    coordinator = api_client(Role.COORDINATOR)
    assert coordinator.patch(url, json={"description": None}).json["description"] is None
    db.session.expire_all()
    assert db.session.get(Document, document.id).title == "Kick-off slides"


def test_the_uploader_replaces_the_file_keeping_the_earlier_version(
    api_client, db, owners, make_document
):
    _organisation, _agreement, activity = owners
    uploader = api_client(Role.MEMBER)
    document = make_document("Notes", owner=activity, actor=uploader.user)
    url = f"{URL}{document.id}/file"
    new = b"%PDF-1.7\nnew\n%%EOF\n"

    other = api_client(Role.MEMBER)
    data = {"file": (io.BytesIO(new), "notes.pdf")}
    assert other.open("PUT", url, data=data, content_type="multipart/form-data").status_code == 403
    # Refused as on the page, before what was sent is looked at.
    assert other.open("PUT", url).status_code == 403
    assert other.patch(f"{URL}{document.id}", json={"title": ""}).status_code == 403
    refused = uploader.open(
        "PUT",
        url,
        data={"file": (io.BytesIO(PNG_BYTES), "notes.pdf")},
        content_type="multipart/form-data",
    )
    assert "does not match its name" in _errors(refused)["file"]
    replaced = uploader.open(
        "PUT",
        url,
        data={"file": (io.BytesIO(new), "notes.pdf")},
        content_type="multipart/form-data",
    )
    assert replaced.status_code == 200, replaced.json
    assert replaced.json["version"] == 2
    assert replaced.json["size_bytes"] == len(new)
    assert uploader.get(url).data == new
    assert len(stored_names()) == 2  # the earlier file is kept
    assert [version.version for version in services.earlier_versions(document)] == [1]


def test_who_may_delete_a_document(api_client, db, owners, make_document):
    _organisation, _agreement, activity = owners
    uploader = api_client(Role.MEMBER)
    mine = make_document("Mine", owner=activity, actor=uploader.user)
    theirs = make_document("Theirs", owner=activity)

    assert uploader.delete(f"{URL}{theirs.id}").status_code == 403
    assert uploader.delete(f"{URL}{mine.id}").status_code == 204
    assert uploader.get(f"{URL}{mine.id}").status_code == 404
    assert _titles(uploader) == ["Theirs"]
    assert api_client(Role.COORDINATOR).delete(f"{URL}{theirs.id}").status_code == 204
    # The files stay, so a restore brings the documents back whole.
    assert len(stored_names()) == 2
