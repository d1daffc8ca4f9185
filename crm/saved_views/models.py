"""A saved view of a list, and each user's default view per list."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.types import UTCDateTime, utcnow
from crm.extensions import db


class SavedView(db.Model):
    """A list's query string (filters and sort) under a name its owner gave it."""

    __tablename__ = "saved_views"
    __table_args__ = (
        sa.UniqueConstraint("owner_id", "list_name", "name"),
        sa.Index("ix_saved_views_list_shared", "list_name", "is_shared"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Which list: one of crm.saved_views.services.LISTS.
    list_name: Mapped[str] = mapped_column(sa.String(30))
    name: Mapped[str] = mapped_column(sa.String(80))
    # The list's query string without paging, e.g. "status=waiting&sort=-date".
    query: Mapped[str] = mapped_column(sa.String(2000), default="")
    is_shared: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    owner: Mapped["User"] = relationship(lazy="joined")  # noqa: F821

    def __repr__(self):
        return f"<SavedView {self.id} {self.list_name} {self.name!r}>"


class SavedViewDefault(db.Model):
    """The view a user's list opens with; at most one per user and list."""

    __tablename__ = "saved_view_defaults"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    list_name: Mapped[str] = mapped_column(sa.String(30), primary_key=True)
    view_id: Mapped[int] = mapped_column(
        sa.ForeignKey("saved_views.id", ondelete="CASCADE"), index=True
    )
