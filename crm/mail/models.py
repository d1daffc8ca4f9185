"""The outbox: every e-mail is written here in the transaction that causes it, sent later."""

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from crm.core.types import LabelledEnum, UTCDateTime, enum_column, utcnow
from crm.extensions import db


class OutboxStatus(LabelledEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after the last retry

    @staticmethod
    def _labels():
        return {"pending": _l("Pending"), "sent": _l("Sent"), "failed": _l("Failed")}


class OutboxMessage(db.Model):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        sa.Index("ix_outbox_messages_due", "status", "next_attempt_at"),
        # The contact form counts the receipts sent to an address in the last day
        # (crm/enquiries/intake.py): only receipts are in it, so it stays small and the count
        # reads a handful of index entries however busy the address is otherwise.
        sa.Index(
            "ix_outbox_messages_receipts",
            "recipient",
            "created_at",
            sqlite_where=sa.text("kind = 'enquiry_receipt'"),
            postgresql_where=sa.text("kind = 'enquiry_receipt'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # What the message is about, e.g. enquiry_receipt, enquiry_assigned, agreement_renewal.
    kind: Mapped[str] = mapped_column(sa.String(40))
    # One recipient per message, so erasure for a person finds every message to them.
    recipient: Mapped[str] = mapped_column(sa.String(254), index=True)
    subject: Mapped[str] = mapped_column(sa.String(300))
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str | None] = mapped_column(sa.Text)
    reply_to: Mapped[str | None] = mapped_column(sa.String(254))
    language: Mapped[str] = mapped_column(sa.String(2), default="sv")
    enquiry_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("enquiries.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[OutboxStatus] = mapped_column(
        enum_column(OutboxStatus), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    def __repr__(self):
        return f"<OutboxMessage {self.id} {self.kind} {self.status}>"
