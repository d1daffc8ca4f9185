"""Office settings (changed by admins, not code) and the versioned consent texts."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crm.core.models import TimestampMixin
from crm.core.types import UTCDateTime, utcnow
from crm.extensions import db


class Setting(db.Model):
    """One setting, by key (office_name, intro_sv, retention_months, …); the value is JSON."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    value: Mapped[Any] = mapped_column(sa.JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )


class ConsentText(TimestampMixin, db.Model):
    """A version of the consent text shown on the contact form; enquiries keep the one they saw."""

    __tablename__ = "consent_texts"
    __table_args__ = (sa.UniqueConstraint("version", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int]
    language: Mapped[str] = mapped_column(sa.String(2))
    body: Mapped[str] = mapped_column(sa.Text)


class PrivacyNotice(TimestampMixin, db.Model):
    """A version of the public privacy notice, in both languages; editing adds a new version.

    Enquiries keep the version their sender was shown, so old versions are never changed.
    """

    __tablename__ = "privacy_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    body_sv: Mapped[str] = mapped_column(sa.Text)
    body_en: Mapped[str] = mapped_column(sa.Text)


class PrivacyLogEntry(db.Model):
    """A privacy action (export, erasure, anonymisation), logged without the personal data."""

    __tablename__ = "privacy_log_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(sa.String(30))
    # How many records of each kind the action touched, e.g. {"enquiries": 2}.
    counts: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
