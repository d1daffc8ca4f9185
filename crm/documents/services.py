"""Storing uploaded documents safely, and deleting them.

The type of a file is read from its content (its first bytes), never from the name or the
Content-Type the browser sent; the name must agree with what the content is. Files are kept
under a random name in the document store (crm/documents/storage.py: a folder outside static/,
or the database), and only ever sent back through the download view as an attachment.
"""

import hashlib
import io
import secrets
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload
from werkzeug.utils import secure_filename

from crm.core import audit, records
from crm.core.models import AuditEntry
from crm.documents import storage
from crm.documents.models import DOCUMENT_OWNER_COLUMNS, Document, DocumentVersion
from crm.extensions import db


@dataclass(frozen=True)
class OwnerKind:
    """A kind of record documents can belong to (see register_owner)."""

    # The Document column and the query argument of the upload page, e.g. "activity_id".
    column: str
    model: type
    # The owner's page, which takes `column` as its argument.
    endpoint: str
    # (owner, user) -> whether the user may read the owner and so its documents; None: every
    # signed-in user may (the owner's own can_view, if any, still applies).
    can_read: object = None
    # user -> a condition on `model` saying the same as can_read, for the document library;
    # a kind with can_read but no such condition is left out of the library.
    readable: object = None

    @property
    def relationship(self):
        return self.column.removesuffix("_id")


# Filled by the owning domains, which sit above this package: documents know no domain.
OWNER_KINDS: dict[str, OwnerKind] = {}


def register_owner(column, model, *, endpoint, can_read=None, readable=None):
    """Let documents belong to records of `model`, through Document.<column>."""
    if column not in DOCUMENT_OWNER_COLUMNS:
        raise ValueError(f"documents have no owner column {column!r}")
    OWNER_KINDS[column] = OwnerKind(column, model, endpoint, can_read, readable)


# The kinds of record as the library's filter names them.
OWNER_LABELS = {
    "organisation_id": _l("Organisations"),
    "agreement_id": _l("Agreements"),
    "activity_id": _l("Activities"),
    "email_id": _l("E-mails"),
}


def may_read_owner(owner, user):
    """Whether `user` may read the record `owner` (and so the documents it owns)."""
    if owner is None or getattr(owner, "is_deleted", False):
        return False
    can_read = owner_kind(owner).can_read
    return can_read is None or bool(can_read(owner, user))


def owner_kind(owner):
    """The registered kind of `owner`; TypeError for a record documents cannot belong to."""
    for kind in OWNER_KINDS.values():
        if isinstance(owner, kind.model):
            return kind
    raise TypeError(f"a document cannot belong to {owner!r}")


FALLBACK_NAME = "document"

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
TEXT = "text/plain"
CSV = "text/csv"

# Content type → (a reader's name for it, the file extensions it may carry).
DOCUMENT_TYPES = {
    PDF: (_l("PDF"), (".pdf",)),
    PNG: (_l("PNG image"), (".png",)),
    JPEG: (_l("JPEG image"), (".jpg", ".jpeg")),
    GIF: (_l("GIF image"), (".gif",)),
    DOCX: (_l("Word document"), (".docx",)),
    XLSX: (_l("Excel workbook"), (".xlsx",)),
    PPTX: (_l("PowerPoint presentation"), (".pptx",)),
    TEXT: (_l("Text"), (".txt",)),
    CSV: (_l("CSV"), (".csv",)),
}

# Magic bytes at the start of the file.
_SIGNATURES = (
    (b"%PDF-", PDF),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
)
# Office Open XML files are ZIP archives; the folder inside tells which program made them.
_OFFICE_TYPES = {".docx": (DOCX, "word/"), ".xlsx": (XLSX, "xl/"), ".pptx": (PPTX, "ppt/")}
_ZIP_SIGNATURE = b"PK\x03\x04"


class DocumentError(ValueError):
    """An upload that cannot be stored; the message is for the person who sent it."""


audit.describe_fields(
    "documents",
    {
        "title": (_l("Title"), None),
        "description": (_l("Description"), None),
        "original_filename": (_l("File name"), None),
        "content_type": (_l("Type"), None),
        "size_bytes": (_l("Size (bytes)"), None),
        "sha256": (_l("SHA-256"), None),
        "is_public": (_l("Public"), bool),
        "version": (_l("Version"), None),
    },
)
audit.describe_actions({"replace": _l("replaced the file")})


def type_label(content_type):
    entry = DOCUMENT_TYPES.get(content_type)
    return entry[0] if entry else content_type


def allowed_types_text():
    extensions = (ext for _label, exts in DOCUMENT_TYPES.values() for ext in exts)
    return ", ".join(dict.fromkeys(ext.lstrip(".").upper() for ext in extensions))


def _human_size(size):
    for unit, factor in (("MB", 1024 * 1024), ("kB", 1024)):
        if size >= factor:
            return f"{size / factor:.1f}".removesuffix(".0") + " " + unit
    return f"{size} B"


def client_filename(raw):
    """The last part of the name the browser sent, without folders or control characters."""
    text = unicodedata.normalize("NFC", str(raw or ""))
    text = "".join(char for char in text if unicodedata.category(char)[0] != "C")
    text = PurePosixPath(text.replace("\\", "/")).name.strip().strip(".").strip()
    return text[:200]


def _extension(filename):
    suffix = PurePosixPath(filename).suffix.lower()
    return suffix if suffix[1:].isalnum() else ""


def download_name(filename, extension):
    """A safe name for Content-Disposition: ASCII letters, digits, dots, dashes."""
    name = secure_filename(filename)
    if not name or _extension(name) != extension or name == extension.lstrip("."):
        name = FALLBACK_NAME + extension
    return name[-255:] if len(name) > 255 else name


def _is_office_archive(data, folder):
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return False
    return "[Content_Types].xml" in names and any(name.startswith(folder) for name in names)


def _is_text(data):
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def detect_content_type(data, extension):
    """The content type the bytes show, or None when they are none of the accepted kinds."""
    for signature, content_type in _SIGNATURES:
        if data.startswith(signature):
            return content_type
    if data.startswith(_ZIP_SIGNATURE):
        office = _OFFICE_TYPES.get(extension)
        if office and _is_office_archive(data, office[1]):
            return office[0]
        return None
    if _is_text(data):
        return CSV if extension == ".csv" else TEXT
    return None


def read_upload(file_storage, max_bytes):
    """The upload's bytes, refusing an empty or too large file before reading it all."""
    data = file_storage.stream.read(max_bytes + 1)
    if not data:
        raise DocumentError(_("The file is empty."))
    if len(data) > max_bytes:
        raise DocumentError(
            _(
                "The file is too large. The largest file you can upload is %(size)s.",
                size=_human_size(max_bytes),
            )
        )
    return data


def checked_content_type(data, filename):
    """The detected type, after making sure the file's name agrees with its content."""
    extension = _extension(filename)
    content_type = detect_content_type(data, extension)
    if content_type is None:
        raise DocumentError(
            _(
                "This kind of file cannot be uploaded. Accepted files: %(types)s.",
                types=allowed_types_text(),
            )
        )
    label, extensions = DOCUMENT_TYPES[content_type]
    if extension not in extensions:
        raise DocumentError(
            _(
                "The file's content (%(kind)s) does not match its name %(name)s. "
                "Rename it to end in %(extension)s, or upload the right file.",
                kind=label,
                name=filename or "—",
                extension=extensions[0],
            )
        )
    return content_type


def open_file(stored):
    """(binary stream, size) of a Document's or DocumentVersion's file, or None when the
    store has no such file."""
    if not storage.valid_name(stored.stored_name):
        return None
    return storage.current_store().open(stored.stored_name)


def _set_owner(document, owner):
    setattr(document, owner_kind(owner).relationship, owner)


def document_owner(document):
    """The record the document belongs to (exactly one owner column is set)."""
    for kind in OWNER_KINDS.values():
        owner = getattr(document, kind.relationship)
        if owner is not None:
            return owner
    return None


def store_document(file_storage, *, title, description, is_public, owner, actor):
    """Check the upload, write it under a random name and add its Document; flushes.

    Raises DocumentError, with nothing written, when the file is refused.
    """
    filename, extension, data, content_type = _checked_upload(file_storage)
    stored_name = _write_file(data)
    try:
        document = Document(
            title=(title or "").strip() or PurePosixPath(filename).stem or FALLBACK_NAME,
            description=(description or "").strip() or None,
            original_filename=download_name(filename, extension),
            stored_name=stored_name,
            content_type=content_type,
            size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            is_public=bool(is_public),
            created_by_id=getattr(actor, "id", None),
        )
        _set_owner(document, owner)
        db.session.add(document)
        audit.record(document, "create", actor=actor)
    except Exception:
        storage.current_store().discard(stored_name)
        raise
    return document


def _checked_upload(file_storage):
    """(safe file name, extension, bytes, content type) of an upload, or DocumentError."""
    filename = client_filename(file_storage.filename)
    data = read_upload(file_storage, current_app.config["MAX_UPLOAD_BYTES"])
    content_type = checked_content_type(data, filename)
    return filename, _extension(filename), data, content_type


def _write_file(data):
    """Put the bytes in the document store under a new random name; returns the name."""
    stored_name = secrets.token_hex(16)
    storage.current_store().put(stored_name, data)
    return stored_name


def current_file_uploaded(document):
    """(when, user id) the document's current file was uploaded: its last replacement, or
    the document's creation."""
    entry = db.session.execute(
        sa.select(AuditEntry.created_at, AuditEntry.actor_id)
        .where(
            AuditEntry.entity_type == Document.__tablename__,
            AuditEntry.entity_id == document.id,
            AuditEntry.action == "replace",
        )
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(1)
    ).first()
    if entry is not None:
        return entry.created_at, entry.actor_id
    return document.created_at, document.created_by_id


def replace_file(document, file_storage, *, actor):
    """Make the upload the document's current file; the current one becomes an earlier
    version (its file stays in the store). Flushes; raises DocumentError, with nothing written,
    when the file is refused."""
    filename, extension, data, content_type = _checked_upload(file_storage)
    # Lock the row so two replacements at once cannot both take the same version number.
    db.session.refresh(document, with_for_update=True)
    uploaded_at, uploaded_by_id = current_file_uploaded(document)
    stored_name = _write_file(data)
    try:
        db.session.add(
            DocumentVersion(
                document_id=document.id,
                version=document.version,
                original_filename=document.original_filename,
                stored_name=document.stored_name,
                content_type=document.content_type,
                size_bytes=document.size_bytes,
                sha256=document.sha256,
                uploaded_at=uploaded_at,
                uploaded_by_id=uploaded_by_id,
            )
        )
        document.original_filename = download_name(filename, extension)
        document.stored_name = stored_name
        document.content_type = content_type
        document.size_bytes = len(data)
        document.sha256 = hashlib.sha256(data).hexdigest()
        document.version = document.version + 1
        changes = audit.pending_changes(document)
        changes.pop("stored_name", None)
        audit.record(document, "replace", actor=actor, changes=changes)
        db.session.flush()
    except Exception:
        storage.current_store().discard(stored_name)
        raise
    return document


def earlier_versions(document):
    """The document's earlier files, newest first."""
    return db.session.scalars(
        sa.select(DocumentVersion)
        .where(DocumentVersion.document_id == document.id)
        .order_by(DocumentVersion.version.desc())
    ).all()


def get_version(document, number):
    return db.session.scalar(
        sa.select(DocumentVersion).where(
            DocumentVersion.document_id == document.id, DocumentVersion.version == number
        )
    )


def may_download_signed_out(document):
    """A visitor who is not signed in gets public documents of records that still exist."""
    if document is None or document.is_deleted or not document.is_public:
        return False
    return may_read_owner(document_owner(document), None)


def discard_file(stored_name):
    """Remove a file just stored whose transaction was rolled back (no row names it)."""
    if storage.valid_name(stored_name):
        storage.current_store().discard(stored_name)


def delete_document(document, *, actor):
    """Soft delete: the file stays in the store so a restore brings the document back whole."""
    records.soft_delete(document, actor=actor)
    db.session.flush()


def can_delete(document, user):
    """Coordinators delete any document; members the ones they uploaded themselves."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.has_role("coordinator"):
        return True
    return user.has_role("member") and document.created_by_id == user.id


# Who may delete a document may also replace its file.
can_replace = can_delete


def documents_for(owner):
    """The owner's documents that are not deleted, newest first."""
    return db.session.scalars(
        live_documents_of(owner).order_by(Document.created_at.desc(), Document.id.desc())
    ).all()


def purge_documents(documents):
    """Delete documents for good, rows and files, with their earlier versions (for privacy:
    erasure and retention). The files go with the transaction (see storage), so a rollback
    keeps every file its row still names. Flushes; returns how many documents went."""
    documents = list(documents)
    store = storage.current_store()
    for document in documents:
        for name in [document.stored_name, *(v.stored_name for v in document.previous_versions)]:
            # A name not of our making points at no file of ours: the row goes, nothing else.
            if storage.valid_name(name):
                store.delete(name)
        db.session.delete(document)
    db.session.flush()
    return len(documents)


def stored_file_names():
    """The name of every file a document or an earlier version names, deleted ones too."""
    return db.session.scalars(
        sa.union(sa.select(Document.stored_name), sa.select(DocumentVersion.stored_name)).order_by(
            "stored_name"
        )
    ).all()


def move_file(name, *, source, target):
    """Move one file from the store `source` to `target`, with the transaction (see storage);
    flushes. Returns "moved", "present" (the target has it already) or "missing" (neither
    has it)."""
    if not storage.valid_name(name):
        return "missing"
    if target.exists(name):
        # Moved before; a copy the source still has is left over from an interrupted move.
        if source.exists(name):
            source.delete(name)
        db.session.flush()
        return "present"
    opened = source.open(name)
    if opened is None:
        return "missing"
    stream, _size = opened
    with stream:
        data = stream.read()
    target.put(name, data)
    try:
        source.delete(name)
        db.session.flush()
    except Exception:
        target.discard(name)
        raise
    return "moved"


def live_documents_of(owner):
    """The owner's documents that are not deleted, as an unordered select."""
    column = getattr(Document, owner_kind(owner).column)
    return sa.select(Document).where(column == owner.id, Document.deleted_at.is_(None))


# ---------------------------------------------------------------- the document library


@dataclass
class LibraryFilters:
    """The library's filters: the kind of record (an owner column), the type (a content
    type) and public or private (True, False or None for both)."""

    owner: str | None = None
    content_type: str | None = None
    is_public: bool | None = None
    text: str = ""


def library_kinds():
    """(column, label) of the kinds of record documents belong to that the library lists."""
    return [
        (column, OWNER_LABELS.get(column, column))
        for column, kind in OWNER_KINDS.items()
        if kind.can_read is None or kind.readable is not None
    ]


def readable_documents(user):
    """The documents `user` may read, as a condition on Document: not deleted, on a record
    that is not deleted and that the user may read (may_read_owner, in SQL)."""
    conditions = []
    for kind in OWNER_KINDS.values():
        if kind.can_read is not None and kind.readable is None:
            continue
        owners = sa.select(kind.model.id)
        if hasattr(kind.model, "deleted_at"):
            owners = owners.where(kind.model.deleted_at.is_(None))
        if kind.readable is not None:
            owners = owners.where(kind.readable(user))
        conditions.append(getattr(Document, kind.column).in_(owners))
    return sa.and_(Document.deleted_at.is_(None), sa.or_(sa.false(), *conditions))


def library_select(user, filters):
    """Every document `user` may read that matches `filters`, newest first."""
    select = sa.select(Document).where(readable_documents(user))
    if filters.owner in OWNER_KINDS:
        select = select.where(getattr(Document, filters.owner).is_not(None))
    if filters.content_type in DOCUMENT_TYPES:
        select = select.where(Document.content_type == filters.content_type)
    if filters.is_public is not None:
        select = select.where(Document.is_public.is_(filters.is_public))
    if filters.text:
        pattern = "%" + filters.text.replace("\\", "").replace("%", "").replace("_", "") + "%"
        select = select.where(
            sa.or_(Document.title.ilike(pattern), Document.original_filename.ilike(pattern))
        )
    return select.options(
        *(selectinload(getattr(Document, kind.relationship)) for kind in OWNER_KINDS.values())
    ).order_by(Document.created_at.desc(), Document.id.desc())


def update_details(document, *, title, description, is_public, actor):
    """Change a document's title, description and public flag, with the audit entry; the
    title falls back to what it was when left empty. Flushes."""
    document.title = (title or "").strip()[:300] or document.title
    document.description = (description or "").strip() or None
    document.is_public = bool(is_public)
    changes = audit.pending_changes(document)
    if changes:
        audit.record(document, "update", actor=actor, changes=changes)
    db.session.flush()
    return bool(changes)


# Who may replace a document's file may also change its title, description and visibility.
can_edit = can_delete
