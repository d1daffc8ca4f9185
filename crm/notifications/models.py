"""A notification: one thing new for one user, read or not yet read."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.types import UTCDateTime, utcnow
from crm.extensions import db

# What happened, as Notification.kind: the list words each one (see views.py).
TASK_ASSIGNED = "task_assigned"
ENQUIRY_ASSIGNED = "enquiry_assigned"
ENQUIRY_REPLY = "enquiry_reply"
TASK_DUE = "task_due"
KINDS = (TASK_ASSIGNED, ENQUIRY_ASSIGNED, ENQUIRY_REPLY, TASK_DUE)


class Notification(db.Model):
    """Something new for `user` about a task or an enquiry. The text is worded when shown,
    in the reader's language, from the record as it is then; deleting the record (for good)
    deletes its notifications."""

    __tablename__ = "notifications"
    # The header's unread count and the list read by user, newest first.
    __table_args__ = (sa.Index("ix_notifications_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    task_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("tasks.id", ondelete="CASCADE"), index=True
    )
    enquiry_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("enquiries.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Tasks and enquiries sit above this package: SQLAlchemy's registry resolves the names.
    task: Mapped["Task | None"] = relationship()  # noqa: F821
    enquiry: Mapped["Enquiry | None"] = relationship()  # noqa: F821
    actor: Mapped["User | None"] = relationship(foreign_keys=[actor_id])  # noqa: F821

    @property
    def is_read(self):
        return self.read_at is not None
