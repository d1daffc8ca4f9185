"""Upload tricks beyond tests/test_documents.py: polyglots, double extensions, NUL and very long
names, spoofed content types, archive bombs; and how whatever is accepted is served."""

import io
import time
import zipfile

import pytest
import sqlalchemy as sa

from crm.documents.models import Document
from crm.organisations.models import Organisation
from tests.security.conftest import CSRF_ON, sign_in

pytestmark = pytest.mark.config(**CSRF_ON)

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"
HTML = b"<!doctype html><html><script>alert(document.cookie)</script></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def upload(client, demo, token, content, filename, content_type=None, title=""):
    file = (
        (io.BytesIO(content), filename, content_type)
        if content_type
        else (
            io.BytesIO(content),
            filename,
        )
    )
    return client.post(
        f"/documents/new?activity_id={demo.values['activity_id']}&lang=en",
        data={"file": file, "title": title, "csrf_token": token},
        content_type="multipart/form-data",
    )


def newest_document(db):
    return db.session.scalars(sa.select(Document).order_by(Document.id.desc()).limit(1)).first()


def docx_bomb():
    """A real-looking .docx whose one member unpacks to 200 MB (about 200 kB packed)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(200):
                member.write(chunk)
    return buffer.getvalue()


TRICKS = [
    (EXE, "report.pdf.exe", "application/pdf"),
    (PDF, "report.pdf.exe", "application/pdf"),
    (PDF, "report.exe", "application/pdf"),
    (EXE, "report.pdf", "application/pdf"),
    (HTML, "report.pdf", "application/pdf"),
    (HTML, "page.html", "text/plain"),
    (HTML, "page.htm", "text/plain"),
    (SVG, "picture.svg", "image/png"),
    (SVG, "picture.png", "image/png"),
    (PDF, "report.pdf\x00.html", "application/pdf"),
    (HTML, "page.html\x00.pdf", "application/pdf"),
    (b"#!/bin/sh\nrm -rf /\n", "run.sh", "text/plain"),
    (b"PK\x03\x04" + b"\0" * 100, "archive.zip", "application/zip"),
]


def test_tricky_uploads_are_refused_and_store_nothing(client, demo, db):
    token = sign_in(client, demo.users["member"].email)
    before = db.session.scalar(sa.select(sa.func.count(Document.id)))

    for content, filename, content_type in TRICKS:
        response = upload(client, demo, token, content, filename, content_type)

        assert response.status_code == 200, filename
        page = response.get_data(as_text=True)
        assert "cannot be uploaded" in page or "does not match its name" in page, filename
        assert db.session.scalar(sa.select(sa.func.count(Document.id))) == before, filename


def test_an_archive_bomb_is_judged_without_unpacking_it(client, demo, db):
    token = sign_in(client, demo.users["member"].email)
    bomb = docx_bomb()
    assert len(bomb) < 2 * 1024 * 1024

    started = time.monotonic()
    response = upload(client, demo, token, bomb, "letter.docx")

    assert time.monotonic() - started < 5
    assert response.status_code in (200, 302)


def test_whatever_is_accepted_is_served_as_an_inert_attachment(client, demo, db):
    """A PDF with HTML inside, text that is HTML, a GIF that is also a script: the server says
    what the bytes are (not what the browser claimed), forces a download, forbids sniffing and
    sandboxes the file should a browser render it anyway."""
    token = sign_in(client, demo.users["member"].email)
    cases = [
        (PDF + HTML, "polyglot.pdf", "text/html", "application/pdf"),
        (HTML, "notes.txt", "text/html", "text/plain"),
        (SVG, "drawing.txt", "image/svg+xml", "text/plain"),
        (b"GIF89a/*\x00*/=alert(1)//", "image.gif", "application/javascript", "image/gif"),
        (b"=cmd|' /C calc'!A0,x\n", "sheet.csv", "text/html", "text/csv"),
    ]
    for content, filename, claimed, detected in cases:
        response = upload(client, demo, token, content, filename, claimed)
        assert response.status_code == 302, filename
        document = newest_document(db)
        assert document.content_type == detected, filename

        download = client.get(f"/documents/{document.id}/download")

        assert download.status_code == 200
        assert download.mimetype == detected
        assert download.headers["Content-Disposition"].startswith("attachment;")
        assert download.headers["X-Content-Type-Options"] == "nosniff"
        assert download.headers["Content-Security-Policy"] == "sandbox"
        assert "no-store" in download.headers["Cache-Control"]
        assert download.data == content


ODD_NAMES = [
    "a" * 5000 + ".pdf",
    "Å" * 300 + ".pdf",
    "x.pdf" + "\u202e" + "fdp.exe",
    "\x00\x01\x02report.pdf",
    "../../../../../../etc/cron.d/evil.pdf",
    "C:\\Windows\\System32\\evil.pdf",
    "CON.pdf",
    ".pdf",
    "report.pdf\r\nContent-Type: text/html",
    '"; filename="evil.html.pdf',
]


def test_odd_file_names_are_stored_and_served_harmlessly(client, demo, db):
    token = sign_in(client, demo.users["member"].email)
    for filename in ODD_NAMES:
        response = upload(client, demo, token, PDF, filename)

        assert response.status_code in (200, 302), (filename, response.status_code)
        if response.status_code == 200:
            # Refused with a reason (a CR/LF name breaks the multipart header: no file arrives).
            page = response.get_data(as_text=True)
            assert any(
                reason in page
                for reason in ("cannot be uploaded", "does not match", "Choose a file to upload.")
            ), filename
            continue
        document = newest_document(db)
        assert len(document.original_filename) <= 255
        assert "/" not in document.original_filename and "\\" not in document.original_filename
        assert not any(ord(char) < 32 for char in document.original_filename)
        assert len(document.title) <= 300
        download = client.get(f"/documents/{document.id}/download")
        disposition = download.headers["Content-Disposition"]
        assert disposition.startswith("attachment; filename=")
        assert disposition.endswith(".pdf")
        assert "\r" not in disposition and "\n" not in disposition
        assert disposition.count('"') in (0, 2)
        assert "evil.html" not in disposition.replace("evil.html.pdf", "")
        assert "Content-Type: text/html" not in str(download.headers)


@pytest.mark.config(**CSRF_ON, MAX_CONTENT_LENGTH=64 * 1024)
def test_a_request_over_the_size_limit_is_refused_before_it_is_read(client, demo, db):
    token = sign_in(client, demo.users["member"].email)
    before = db.session.scalar(sa.select(sa.func.count(Document.id)))

    response = upload(client, demo, token, PDF + b" " * (128 * 1024), "big.pdf")

    assert response.status_code == 413
    assert db.session.scalar(sa.select(sa.func.count(Document.id))) == before


def test_an_oversized_form_field_is_refused_not_a_server_error(client, demo, db):
    token = sign_in(client, demo.users["member"].email)
    organisation_id = demo.values["organisation_id"]
    before = db.session.get(Organisation, organisation_id).description

    response = client.post(
        f"/organisations/{organisation_id}/edit",
        data={"name": "Huge", "description": "x" * (2 * 1024 * 1024), "csrf_token": token},
    )
    public = client.post("/contact", data={"message": "y" * (2 * 1024 * 1024), "csrf_token": token})

    assert response.status_code == 413
    assert public.status_code == 413
    db.session.expire_all()
    assert db.session.get(Organisation, organisation_id).description == before
