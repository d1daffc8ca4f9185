"""Mixins every core record shares, and the audit history."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.types import UTCDateTime, utcnow
from crm.extensions import db


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )


class SoftDeleteMixin:
    """A record that is hidden rather than removed. Python code and templates ask
    `record.is_deleted`; only SQL conditions test the column (`Model.deleted_at.is_(None)`)."""

    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    deleted_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    @property
    def is_deleted(self):
        return self.deleted_at is not None


def live_index(name, *columns):
    """An index over the live (not deleted) rows of a SoftDeleteMixin table: the lists read
    only those, in the order of `columns`."""
    live = sa.text("deleted_at IS NULL")
    return sa.Index(name, *columns, sqlite_where=live, postgresql_where=live)


class AuditEntry(db.Model):
    """One change to a core record: who, when, which fields, old and new values."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        sa.Index("ix_audit_entries_entity", "entity_type", "entity_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_type: Mapped[str] = mapped_column(sa.String(40))
    entity_id: Mapped[int]
    # create, update, delete, restore, or a domain verb such as assign or convert.
    action: Mapped[str] = mapped_column(sa.String(30))
    # {"field": [old, new], ...}; values are JSON-safe renderings.
    changes: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    actor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The name of the API token the change was made through (audit.act_through_token), as it
    # was then: the history says so even after the token is renamed or its user removed.
    api_token_name: Mapped[str | None] = mapped_column(sa.String(100))

    # The core knows no domain: the name is left for SQLAlchemy's registry to resolve.
    actor: Mapped["User | None"] = relationship(lazy="joined")  # noqa: F821
