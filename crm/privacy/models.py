"""The privacy domain's records: the versioned notice, the log of privacy actions and an
admin's search in progress."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crm.core.models import TimestampMixin
from crm.core.types import UTCDateTime, utcnow
from crm.extensions import db


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


class PrivacySearch(db.Model):
    """The address an admin is handling a privacy request for, between their requests.

    Kept here because the session cookie is signed, not encrypted: anyone holding it can read
    it. The session holds only the random `token`. A row goes with the admin's next search,
    "New search", an erasure that leaves nothing behind, or after SEARCH_LIFETIME.
    """

    __tablename__ = "privacy_searches"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
