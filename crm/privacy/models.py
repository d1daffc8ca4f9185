"""The privacy domain's own records (its notice and log live with the settings)."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crm.core.types import UTCDateTime, utcnow
from crm.extensions import db


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
