"""Uploaded files attached to an organisation, an agreement or an activity."""

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.models import SoftDeleteMixin, TimestampMixin
from crm.core.types import UTCDateTime
from crm.extensions import db

if TYPE_CHECKING:
    from crm.auth.models import User

# An e-mail's attachments belong to the e-mail (crm/mail/models.py).
DOCUMENT_OWNER_COLUMNS = ("organisation_id", "agreement_id", "activity_id", "email_id")


class Document(TimestampMixin, SoftDeleteMixin, db.Model):
    __tablename__ = "documents"
    __table_args__ = (
        sa.CheckConstraint(
            " + ".join(
                f"(CASE WHEN {column} IS NULL THEN 0 ELSE 1 END)"
                for column in DOCUMENT_OWNER_COLUMNS
            )
            + " = 1",
            name="one_owner",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    description: Mapped[str | None] = mapped_column(sa.Text)
    # The name the uploader gave; only ever sent back in Content-Disposition.
    original_filename: Mapped[str] = mapped_column(sa.String(255))
    # A random name under the upload folder, outside static/.
    stored_name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    is_public: Mapped[bool] = mapped_column(default=False, index=True)
    # 1 for the first file; each replacement moves the current file to DocumentVersion.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    agreement_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("agreements.id", ondelete="CASCADE"), index=True
    )
    activity_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("activities.id", ondelete="CASCADE"), index=True
    )
    email_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("emails.id", ondelete="CASCADE"), index=True
    )

    # The parents' domains sit above documents, so their names are left for SQLAlchemy's
    # registry to resolve.
    organisation: Mapped["Organisation | None"] = relationship()  # noqa: F821
    agreement: Mapped["Agreement | None"] = relationship()  # noqa: F821
    activity: Mapped["Activity | None"] = relationship()  # noqa: F821
    email: Mapped["Email | None"] = relationship()  # noqa: F821
    previous_versions: Mapped[list["DocumentVersion"]] = relationship(
        back_populates="document",
        cascade="all, delete-orphan",
        order_by="DocumentVersion.version.desc()",
    )

    def __repr__(self):
        return f"<Document {self.id} {self.title!r}>"


class DocumentVersion(db.Model):
    """An earlier file of a document, kept when the file was replaced."""

    __tablename__ = "document_versions"
    __table_args__ = (sa.UniqueConstraint("document_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(
        sa.ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int]
    original_filename: Mapped[str] = mapped_column(sa.String(255))
    stored_name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    # When and by whom this file was uploaded (not when it was replaced).
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    uploaded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    document: Mapped[Document] = relationship(back_populates="previous_versions")
    uploaded_by: Mapped["User | None"] = relationship(foreign_keys=[uploaded_by_id])


class StoredFile(db.Model):
    """The bytes of a document's file, kept in the database when DOCUMENT_STORE is "database"
    (crm/documents/storage.py), so every app server on the one database sees every file."""

    __tablename__ = "stored_files"

    # The stored_name of the Document or DocumentVersion whose file this is.
    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    size_bytes: Mapped[int]
    # Read in slices by the download (storage.DatabaseStore.open), never loaded with the row.
    content: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)


# PostgreSQL compresses large values by default, and a compressed value is read from its start
# whatever slice is asked for. Documents are mostly compressed already (PDF, images, Office
# files), so keep them uncompressed: each slice of a download then reads only its own pages.
# The migration says the same for databases made by `flask db upgrade`.
sa.event.listen(
    StoredFile.__table__,
    "after_create",
    sa.DDL("ALTER TABLE stored_files ALTER COLUMN content SET STORAGE EXTERNAL").execute_if(
        dialect="postgresql"
    ),
)
