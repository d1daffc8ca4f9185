"""Office settings (changed by admins, not code) and the versioned consent texts.

The consent text is the office's wording on the contact form, published from the settings
pages; the intake (crm/enquiries, below privacy) stores which version each sender agreed to.
"""

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
