"""Documents: upload checked by content, stored outside static/ under random names, served as
attachments, soft deleted."""

import hashlib
import io
import os
import re
import stat
import zipfile
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from crm.activities.models import ActivityKind
from crm.auth.models import Role
from crm.core import records
from crm.core.models import AuditEntry
from crm.documents import services, storage
from crm.documents.models import Document
from tests.conftest import TEST_PASSWORD
from tests.factories import PDF_BYTES

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

# Every test once with the files in the folder, once in the database.
pytestmark = pytest.mark.usefixtures("document_store")
FOLDER_ONLY = pytest.mark.parametrize("document_store", ["folder"], indirect=True)


@pytest.fixture
def activity(make_activity):
    return make_activity("Data day", kind=ActivityKind.SEMINAR, start_date=date(2026, 3, 4))


@pytest.fixture
def organisation(make_organisation):
    return make_organisation("Acme Medtech AB")


def upload(client, query, content, filename, **fields):
    data = {"file": (io.BytesIO(content), filename), **fields}
    return client.post(
        f"/documents/new?{query}&lang=en",
        data=data,
        content_type="multipart/form-data",
        headers={"Accept-Language": "en"},
    )


def stored_files(folder):
    return sorted(path for path in folder.rglob("*") if path.is_file()) if folder.exists() else []


def stored_names():
    """The names of the files in the app's document store."""
    return sorted(storage.current_store().names())


def stored_bytes(name):
    stream, size = storage.current_store().open(name)
    with stream:
        data = stream.read()
    assert len(data) == size
    return data


def documents(db):
    return db.session.scalars(sa.select(Document).order_by(Document.id)).all()


def office_file(folder):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(f"{folder}document.xml", "<doc/>")
    return buffer.getvalue()


# ---------------------------------------------------------------- upload and download


@pytest.mark.parametrize("owner_name", ["activity", "organisation"])
def test_pdf_upload_is_stored_outside_static_under_a_random_name(
    request, db, client, login, upload_folder, owner_name, document_store
):
    owner = request.getfixturevalue(owner_name)
    user = login(Role.MEMBER)
    query = f"{owner_name}_id={owner.id}"

    response = upload(client, query, PDF_BYTES, "Annual report.pdf", description="For 2025")

    assert response.status_code == 302
    [document] = documents(db)
    assert document.title == "Annual report"
    assert document.description == "For 2025"
    assert document.original_filename == "Annual_report.pdf"
    assert document.content_type == "application/pdf"
    assert document.size_bytes == len(PDF_BYTES)
    assert document.sha256 == hashlib.sha256(PDF_BYTES).hexdigest()
    assert document.is_public is False
    assert document.created_by_id == user.id
    assert getattr(document, f"{owner_name}_id") == owner.id
    assert re.fullmatch(r"[0-9a-f]{32}", document.stored_name)

    assert stored_names() == [document.stored_name]
    assert stored_bytes(document.stored_name) == PDF_BYTES
    if document_store == "folder":
        [path] = stored_files(upload_folder)
        assert path.name == document.stored_name
        assert path.read_bytes() == PDF_BYTES
        assert STATIC_DIR not in path.resolve().parents
    else:
        # Only in the database, which every app server sees: nothing on this one's disk.
        assert stored_files(upload_folder) == []

    entry = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.entity_type == "documents")
    ).one()
    assert (entry.entity_id, entry.action, entry.actor_id) == (document.id, "create", user.id)

    download = client.get(f"/documents/{document.id}/download")
    assert download.status_code == 200
    assert download.data == PDF_BYTES
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"] == "attachment; filename=Annual_report.pdf"
    assert download.headers["Content-Security-Policy"] == "sandbox"
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_upload_redirects_to_the_owners_page_or_the_documents_page(
    app, db, client, login, organisation
):
    login(Role.MEMBER)

    response = upload(client, f"organisation_id={organisation.id}", PDF_BYTES, "a.pdf")

    document = documents(db)[0]
    if "organisations.detail" in app.view_functions:
        assert response.headers["Location"] == f"/organisations/{organisation.id}"
    else:
        assert response.headers["Location"] == f"/documents/{document.id}"


def test_upload_form_shows_and_title_defaults_to_the_file_name(db, client, login, activity):
    login(Role.MEMBER)

    page = client.get(f"/documents/new?activity_id={activity.id}&lang=en")
    assert page.status_code == 200
    assert b'enctype="multipart/form-data"' in page.data
    assert b"Data day" in page.data

    upload(client, f"activity_id={activity.id}", PDF_BYTES, "minutes.pdf", is_public="y")
    [document] = documents(db)
    assert document.title == "minutes"
    assert document.is_public is True


@pytest.mark.parametrize(
    ("content", "filename", "content_type"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "logo.png", "image/png"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 20, "photo.JPG", "image/jpeg"),
        (b"GIF89a" + b"\x00" * 20, "anim.gif", "image/gif"),
        ("namn;stad\nÅsa;Umeå\n".encode(), "list.csv", "text/csv"),
        ("Anteckningar från mötet\n".encode(), "notes.txt", "text/plain"),
        (office_file("word/"), "letter.docx", services.DOCX),
        (office_file("xl/"), "budget.xlsx", services.XLSX),
        (office_file("ppt/"), "slides.pptx", services.PPTX),
    ],
)
def test_accepted_types_are_detected_by_content(
    db, client, login, activity, content, filename, content_type
):
    login(Role.MEMBER)

    response = upload(client, f"activity_id={activity.id}", content, filename)

    assert response.status_code == 302
    [document] = documents(db)
    assert document.content_type == content_type


# ---------------------------------------------------------------- refused uploads


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"<html><script>alert(1)</script></html>", "report.pdf", b"does not match its name"),
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00", "report.pdf", b"cannot be uploaded"),
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00", "setup.exe", b"cannot be uploaded"),
        (b"<svg onload='alert(1)'/>", "picture.svg", b"does not match its name"),
        (PDF_BYTES, "report.html", b"does not match its name"),
        (b"PK\x03\x04not really a zip", "letter.docx", b"cannot be uploaded"),
        (office_file("xl/"), "letter.docx", b"cannot be uploaded"),
        (b"caf\xe9 latin-1 text", "notes.txt", b"cannot be uploaded"),
        (b"", "empty.pdf", b"The file is empty."),
    ],
)
def test_refused_upload_says_why_and_stores_nothing(
    db, client, login, activity, upload_folder, content, filename, message
):
    login(Role.MEMBER)

    response = upload(client, f"activity_id={activity.id}", content, filename)

    assert response.status_code == 200
    assert message in response.data
    assert documents(db) == []
    assert stored_names() == []


@pytest.mark.config(MAX_UPLOAD_BYTES=100)
def test_too_large_file_is_refused(db, client, login, activity, upload_folder):
    login(Role.MEMBER)

    response = upload(client, f"activity_id={activity.id}", PDF_BYTES + b" " * 100, "big.pdf")

    assert response.status_code == 200
    assert b"The file is too large. The largest file you can upload is 100 B." in response.data
    assert documents(db) == []
    assert stored_names() == []


def test_missing_file_is_refused(db, client, login, activity):
    login(Role.MEMBER)

    response = client.post(
        f"/documents/new?activity_id={activity.id}&lang=en",
        data={"title": "Nothing"},
        content_type="multipart/form-data",
        headers={"Accept-Language": "en"},
    )

    assert response.status_code == 200
    assert b"Choose a file to upload." in response.data
    assert documents(db) == []


def test_path_traversal_in_the_file_name_is_harmless(
    db, client, login, activity, upload_folder, tmp_path, document_store
):
    login(Role.MEMBER)

    response = upload(client, f"activity_id={activity.id}", PDF_BYTES, "../../etc/passwd.pdf")

    assert response.status_code == 302
    [document] = documents(db)
    assert document.original_filename == "passwd.pdf"
    assert document.title == "passwd"
    assert stored_names() == [document.stored_name]
    if document_store == "folder":
        [path] = stored_files(tmp_path)
        assert path.parent == upload_folder
        assert path.name == document.stored_name
    else:
        assert stored_files(tmp_path) == []
    download = client.get(f"/documents/{document.id}/download")
    assert download.headers["Content-Disposition"] == "attachment; filename=passwd.pdf"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Årsrapport 2025.pdf", "Arsrapport_2025.pdf"),
        ("..\\..\\windows\\evil.pdf", "evil.pdf"),
        ("報告.pdf", "document.pdf"),
        ('a"b\r\nc.pdf', "abc.pdf"),
    ],
)
def test_download_names_are_safe(raw, expected):
    filename = services.client_filename(raw)
    assert services.download_name(filename, ".pdf") == expected


# ---------------------------------------------------------------- owners and roles


@pytest.mark.parametrize(
    "query",
    [
        "activity_id=999",
        "organisation_id=999",
        "agreement_id=999",
        "activity_id=abc",
        "activity_id=99999999999",
        "",
        "activity_id=1&organisation_id=1",
    ],
)
def test_unknown_owner_is_404(db, client, login, query):
    login(Role.MEMBER)

    assert client.get(f"/documents/new?{query}").status_code == 404
    assert upload(client, query, PDF_BYTES, "a.pdf").status_code == 404


def test_deleted_owner_is_404(db, client, login, activity):
    login(Role.MEMBER)
    activity.deleted_at = activity.created_at
    db.session.commit()

    assert upload(client, f"activity_id={activity.id}", PDF_BYTES, "a.pdf").status_code == 404


def test_viewer_may_not_upload(db, client, login, activity, upload_folder):
    login(Role.VIEWER)

    assert client.get(f"/documents/new?activity_id={activity.id}").status_code == 403
    assert upload(client, f"activity_id={activity.id}", PDF_BYTES, "a.pdf").status_code == 403
    assert documents(db) == []
    assert stored_names() == []


def test_viewer_may_download_and_see_details(db, client, auth, make_user, activity):
    auth.login(Role.MEMBER)
    upload(client, f"activity_id={activity.id}", PDF_BYTES, "a.pdf")
    document = documents(db)[0]
    auth.logout()
    auth.login(Role.VIEWER)

    assert client.get(f"/documents/{document.id}/download").status_code == 200
    page = client.get(f"/documents/{document.id}?lang=en")
    assert page.status_code == 200
    assert b"a.pdf" in page.data
    assert f"/documents/{document.id}/delete".encode() not in page.data


# ---------------------------------------------------------------- delete


def test_uploader_deletes_own_document_and_the_file_is_kept(
    db, client, login, activity, upload_folder, make_document
):
    user = login(Role.MEMBER)
    document = make_document(owner=activity, actor=user)

    confirm = client.get(f"/documents/{document.id}/delete?lang=en")
    assert confirm.status_code == 200
    assert b"Delete document" in confirm.data
    response = client.post(f"/documents/{document.id}/delete")

    assert response.status_code == 302
    db.session.refresh(document)
    assert document.deleted_at is not None
    assert document.deleted_by_id == user.id
    assert storage.current_store().exists(document.stored_name)
    assert client.get(f"/documents/{document.id}/download").status_code == 404
    assert client.get(f"/documents/{document.id}").status_code == 404
    actions = db.session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.entity_type == "documents")
    ).all()
    assert sorted(actions) == ["create", "delete"]


def test_member_may_not_delete_someone_elses_document(
    db, client, login, make_user, activity, make_document
):
    document = make_document(owner=activity, actor=make_user(Role.MEMBER))
    login(Role.MEMBER)

    assert client.get(f"/documents/{document.id}/delete").status_code == 403
    assert client.post(f"/documents/{document.id}/delete").status_code == 403
    db.session.refresh(document)
    assert document.deleted_at is None


def test_coordinator_deletes_any_document(
    db, client, login, make_user, organisation, make_document
):
    document = make_document(owner=organisation, actor=make_user(Role.MEMBER))
    login(Role.COORDINATOR)

    assert client.post(f"/documents/{document.id}/delete").status_code == 302
    db.session.refresh(document)
    assert document.is_deleted


def test_document_of_a_deleted_owner_is_404(
    db, client, login, make_user, organisation, make_document
):
    document = make_document(owner=organisation, actor=make_user(Role.MEMBER))
    records.soft_delete(organisation, actor=None)
    db.session.commit()
    login(Role.VIEWER)

    assert client.get(f"/documents/{document.id}/download").status_code == 404
    assert client.get(f"/documents/{document.id}").status_code == 404


def test_missing_file_is_404(db, client, login, make_user, activity, make_document):
    document = make_document(owner=activity, actor=make_user(Role.MEMBER))
    storage.current_store().delete(document.stored_name)
    db.session.commit()
    assert not storage.current_store().exists(document.stored_name)
    login(Role.VIEWER)

    assert client.get(f"/documents/{document.id}/download").status_code == 404


def csrf_token(html):
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


@pytest.mark.config(WTF_CSRF_ENABLED=True)
def test_delete_needs_the_csrf_token(db, client, make_user, activity, make_document):
    document = make_document(owner=activity, actor=make_user(Role.MEMBER))
    coordinator = make_user(Role.COORDINATOR)
    token = csrf_token(client.get("/login").get_data(as_text=True))
    credentials = {"email": coordinator.email, "password": TEST_PASSWORD, "csrf_token": token}
    assert client.post("/login", data=credentials).status_code == 302

    refused = client.post(f"/documents/{document.id}/delete")

    assert refused.status_code == 400
    db.session.refresh(document)
    assert document.deleted_at is None
    # With the token from the confirmation page it goes through.
    page = client.get(f"/documents/{document.id}/delete").get_data(as_text=True)
    response = client.post(
        f"/documents/{document.id}/delete", data={"csrf_token": csrf_token(page)}
    )
    assert response.status_code == 302
    db.session.refresh(document)
    assert document.is_deleted


# ---------------------------------------------------------------- the list partial


def test_list_partial_shows_documents_and_the_upload_link(
    app, db, login, make_user, activity, make_document
):
    from flask import render_template_string
    from flask_login import login_user

    member = make_user(Role.MEMBER)
    member.language = "en"  # a signed-in user's language wins over Accept-Language
    public = make_document(
        "open", owner=activity, actor=member, filename="open.pdf", is_public=True
    )
    make_document("gone", owner=activity, actor=member, filename="gone.pdf", deleted=True)
    template = '{% include "documents/_list.html" %}'

    with app.test_request_context(headers={"Accept-Language": "en"}):
        login_user(member)
        html = render_template_string(
            template,
            documents=services.documents_for(activity),
            owner_query=f"activity_id={activity.id}",
        )
    assert f"/documents/{public.id}/download" in html
    assert "gone" not in html
    assert "Public" in html
    assert f"/documents/new?activity_id={activity.id}" in html

    viewer = make_user(Role.VIEWER)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        login_user(viewer)
        html = render_template_string(template, documents=[], owner_query="activity_id=1")
    assert "No documents yet." in html
    assert "/documents/new" not in html


# ---------------------------------------------------------------- access when signed out


def test_signed_out_visitor_is_sent_to_login_for_a_non_public_document(
    db, client, make_user, activity, make_document
):
    document = make_document(owner=activity, actor=make_user(Role.MEMBER))

    for path in (
        f"/documents/{document.id}/download",
        "/documents/999999/download",
        f"/documents/{document.id}",
    ):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login"), path
        assert PDF_BYTES not in response.data


def test_public_document_downloads_signed_out(db, client, make_user, organisation, make_document):
    document = make_document(
        "open",
        owner=organisation,
        actor=make_user(Role.MEMBER),
        filename="open.pdf",
        is_public=True,
    )

    response = client.get(f"/documents/{document.id}/download")

    assert response.status_code == 200
    assert response.data == PDF_BYTES
    assert response.headers["Content-Disposition"] == "attachment; filename=open.pdf"
    assert response.headers["Content-Security-Policy"] == "sandbox"
    # Its details page is for staff.
    assert client.get(f"/documents/{document.id}").status_code == 302


def test_public_document_of_a_deleted_owner_or_deleted_itself_is_not_served(
    db, client, make_user, organisation, activity, make_document
):
    member = make_user(Role.MEMBER)
    of_deleted_owner = make_document(
        "open", owner=organisation, actor=member, filename="open.pdf", is_public=True
    )
    records.soft_delete(organisation, actor=None)
    deleted = make_document(
        "gone", owner=activity, actor=member, filename="gone.pdf", is_public=True, deleted=True
    )

    for document in (of_deleted_owner, deleted):
        response = client.get(f"/documents/{document.id}/download")
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")


# ---------------------------------------------------------------- replacing the file


def replace(client, document, content, filename):
    return client.post(
        f"/documents/{document.id}/replace?lang=en",
        data={"file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
        headers={"Accept-Language": "en"},
    )


NEW_PDF = PDF_BYTES.replace(b"Catalog", b"Catalog /Version 2")


def test_replacing_the_file_keeps_the_earlier_version(
    db, client, login, activity, upload_folder, make_document
):
    user = login(Role.MEMBER)
    document = make_document("contract", owner=activity, actor=user, filename="contract.pdf")
    first_name = document.stored_name

    form = client.get(f"/documents/{document.id}/replace?lang=en")
    assert form.status_code == 200
    assert b'enctype="multipart/form-data"' in form.data
    assert b"<label" in form.data and b"New file" in form.data

    response = replace(client, document, NEW_PDF, "contract-signed.pdf")

    assert response.status_code == 302
    assert response.headers["Location"] == f"/documents/{document.id}"
    db.session.refresh(document)
    assert document.version == 2
    assert document.original_filename == "contract-signed.pdf"
    assert document.sha256 == hashlib.sha256(NEW_PDF).hexdigest()
    assert document.stored_name != first_name
    [earlier] = services.earlier_versions(document)
    assert earlier.version == 1
    assert earlier.stored_name == first_name
    assert earlier.original_filename == "contract.pdf"
    assert earlier.sha256 == hashlib.sha256(PDF_BYTES).hexdigest()
    assert earlier.uploaded_by_id == user.id
    # Both files are in the store.
    assert stored_names() == sorted([first_name, document.stored_name])

    assert client.get(f"/documents/{document.id}/download").data == NEW_PDF
    old = client.get(f"/documents/{document.id}/versions/1/download")
    assert old.status_code == 200
    assert old.data == PDF_BYTES
    assert old.headers["Content-Disposition"] == "attachment; filename=contract.pdf"
    assert old.headers["Content-Security-Policy"] == "sandbox"
    assert client.get(f"/documents/{document.id}/versions/2/download").status_code == 404
    assert client.get(f"/documents/{document.id}/versions/99999999999/download").status_code == 404

    page = client.get(f"/documents/{document.id}?lang=en").get_data(as_text=True)
    assert "Earlier versions" in page
    assert f"/documents/{document.id}/versions/1/download" in page
    assert "contract.pdf" in page and "contract-signed.pdf" in page

    entry = db.session.scalars(
        sa.select(AuditEntry).where(
            AuditEntry.entity_type == "documents", AuditEntry.action == "replace"
        )
    ).one()
    assert entry.actor_id == user.id
    assert entry.changes["version"] == [1, 2]
    assert "stored_name" not in entry.changes

    # A third file: two earlier versions, newest first; the second records its uploader.
    login(Role.COORDINATOR)
    assert replace(client, document, PDF_BYTES + b"%v3", "v3.pdf").status_code == 302
    db.session.refresh(document)
    assert document.version == 3
    versions = services.earlier_versions(document)
    assert [v.version for v in versions] == [2, 1]
    assert versions[0].uploaded_by_id == user.id
    assert len(stored_names()) == 3


def test_a_refused_replacement_changes_nothing(
    db, client, login, activity, upload_folder, make_document
):
    user = login(Role.MEMBER)
    document = make_document(owner=activity, actor=user)

    response = replace(client, document, b"MZ\x90\x00\x03\x00\x00\x00", "report.pdf")

    assert response.status_code == 200
    assert b"cannot be uploaded" in response.data
    db.session.refresh(document)
    assert document.version == 1
    assert services.earlier_versions(document) == []
    assert len(stored_names()) == 1


@pytest.mark.config(MAX_UPLOAD_BYTES=100)
def test_a_too_large_replacement_is_refused(
    db, client, login, activity, upload_folder, make_document
):
    user = login(Role.MEMBER)
    document = make_document(owner=activity, actor=user)

    response = replace(client, document, PDF_BYTES + b" " * 100, "big.pdf")

    assert response.status_code == 200
    assert b"The file is too large." in response.data
    db.session.refresh(document)
    assert document.version == 1
    assert len(stored_names()) == 1


def test_who_may_replace_a_file(db, client, auth, make_user, activity, make_document):
    uploader = make_user(Role.MEMBER)
    document = make_document(owner=activity, actor=uploader)

    # Signed out: to the login page.
    response = replace(client, document, NEW_PDF, "new.pdf")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    for role in (Role.VIEWER, Role.MEMBER):
        auth.login(role)
        assert client.get(f"/documents/{document.id}/replace").status_code == 403
        assert replace(client, document, NEW_PDF, "new.pdf").status_code == 403
        page = client.get(f"/documents/{document.id}").get_data(as_text=True)
        assert f"/documents/{document.id}/replace" not in page
        auth.logout()
    db.session.refresh(document)
    assert document.version == 1

    auth.login(Role.COORDINATOR)
    page = client.get(f"/documents/{document.id}").get_data(as_text=True)
    assert f"/documents/{document.id}/replace" in page
    assert replace(client, document, NEW_PDF, "new.pdf").status_code == 302
    db.session.refresh(document)
    assert document.version == 2


def test_earlier_versions_are_for_staff_only_even_of_a_public_document(
    db, client, auth, make_user, activity, make_document
):
    member = make_user(Role.MEMBER)
    document = make_document(
        "open", owner=activity, actor=member, filename="open.pdf", is_public=True
    )
    from werkzeug.datastructures import FileStorage

    services.replace_file(
        document, FileStorage(io.BytesIO(NEW_PDF), filename="new.pdf"), actor=member
    )
    db.session.commit()

    old = client.get(f"/documents/{document.id}/versions/1/download")
    assert old.status_code == 302 and old.headers["Location"].startswith("/login")
    assert client.get(f"/documents/{document.id}/download").data == NEW_PDF

    auth.login(Role.VIEWER)
    assert client.get(f"/documents/{document.id}/versions/1/download").data == PDF_BYTES


def test_a_deleted_documents_versions_are_gone(
    db, client, login, make_user, activity, make_document
):
    member = make_user(Role.MEMBER)
    document = make_document(owner=activity, actor=member)
    from werkzeug.datastructures import FileStorage

    services.replace_file(
        document, FileStorage(io.BytesIO(NEW_PDF), filename="new.pdf"), actor=member
    )
    services.delete_document(document, actor=member)
    db.session.commit()
    login(Role.COORDINATOR)

    assert client.get(f"/documents/{document.id}/versions/1/download").status_code == 404
    assert client.get(f"/documents/{document.id}/replace").status_code == 404


@FOLDER_ONLY
def test_uploaded_files_are_readable_by_their_owner_only(
    db, client, login, activity, upload_folder
):
    previous = os.umask(0o022)  # the usual server umask, which leaves files world-readable
    try:
        login(Role.MEMBER)
        response = upload(client, f"activity_id={activity.id}", PDF_BYTES, "NDA.pdf")
    finally:
        os.umask(previous)

    assert response.status_code == 302
    [path] = stored_files(upload_folder)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(upload_folder.stat().st_mode) == 0o700
