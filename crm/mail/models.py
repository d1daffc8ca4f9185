"""E-mail: the outbox (every message is written here in the transaction that causes it, sent
later) and the stored conversation with companies (sent replies and the mail read from the
office mailbox)."""

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

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
    # Replies to companies (crm.enquiries.services.send_reply): the name shown in From (the
    # office's), and the Message-ID fixed when queued, stored with the sent Email too, so the
    # company's answer threads on it. Other messages get a Message-ID made from their id.
    sender_name: Mapped[str | None] = mapped_column(sa.String(200))
    message_id: Mapped[str | None] = mapped_column(sa.String(998), unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(sa.String(998))
    # Message-IDs separated by spaces, oldest first, as in the header.
    references: Mapped[str | None] = mapped_column(sa.Text)
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


class EmailDirection(LabelledEnum):
    INCOMING = "in"
    OUTGOING = "out"

    @staticmethod
    def _labels():
        return {"in": _l("Received"), "out": _l("Sent")}


class EmailState(LabelledEnum):
    """Where a stored e-mail stands. Only incoming mail is ever unmatched or quarantined."""

    # Part of a record: an enquiry's conversation, or logged as an e-mail activity.
    FILED = "filed"
    # Read from the mailbox but not matched to anything: for a coordinator to attach or discard.
    UNMATCHED = "unmatched"
    DISCARDED = "discarded"
    # Could not be read safely (too large, malformed, undecodable); kept with the reason.
    QUARANTINED = "quarantined"

    @staticmethod
    def _labels():
        return {
            "filed": _l("Filed"),
            "unmatched": _l("Unmatched"),
            "discarded": _l("Discarded"),
            "quarantined": _l("Quarantined"),
        }


class Email(db.Model):
    """One e-mail of the office's conversation with companies, sent or received.

    Incoming mail is read from the office mailbox by `flask crm fetch-mail`
    (crm/mailbox/); a reply sent from an enquiry is stored here when it is queued, beside its
    outbox message. Each message is stored once, by its Message-ID. Every field of an incoming
    message is untrusted: the HTML body is kept only after sanitising, and pages show text.
    """

    __tablename__ = "emails"
    __table_args__ = (sa.Index("ix_emails_state_received", "state", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # With its angle brackets, as in the header. Messages without one get a made-up id
    # (<sha256-of-the-bytes@crm.invalid>), so fetching the same bytes twice still stores once.
    message_id: Mapped[str] = mapped_column(sa.String(998), unique=True)
    direction: Mapped[EmailDirection] = mapped_column(enum_column(EmailDirection))
    state: Mapped[EmailState] = mapped_column(enum_column(EmailState), default=EmailState.FILED)
    in_reply_to: Mapped[str | None] = mapped_column(sa.String(998))
    # The References header: Message-IDs separated by spaces, oldest first.
    references: Mapped[str | None] = mapped_column(sa.Text)
    subject: Mapped[str] = mapped_column(sa.String(998), default="")
    from_address: Mapped[str] = mapped_column(sa.String(254), default="", index=True)
    from_name: Mapped[str] = mapped_column(sa.String(200), default="")
    # Addresses separated by ", " (lower case), for matching contacts and for privacy search.
    to_addresses: Mapped[str] = mapped_column(sa.Text, default="")
    cc_addresses: Mapped[str] = mapped_column(sa.Text, default="")
    # The message as text (from text/plain, or the sanitised HTML's text); what pages show.
    body_text: Mapped[str] = mapped_column(sa.Text, default="")
    # The new part of a reply, with quoted history cut off (shown first; the rest collapsed).
    reply_text: Mapped[str | None] = mapped_column(sa.Text)
    # The HTML body after sanitising (no scripts, no remote images, no styles), if any.
    body_html: Mapped[str | None] = mapped_column(sa.Text)
    # The Date header; received_at is when the CRM stored it (sent_at for outgoing mail).
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    quarantine_reason: Mapped[str | None] = mapped_column(sa.String(500))
    size_bytes: Mapped[int] = mapped_column(default=0)
    # Where it is filed. Both are set by domains above this one, so no relationship here.
    enquiry_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("enquiries.id", ondelete="SET NULL"), index=True
    )
    activity_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("activities.id", ondelete="SET NULL"), index=True
    )
    # Outgoing: the outbox message that carries it, and who wrote it.
    outbox_message_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("outbox_messages.id", ondelete="SET NULL")
    )
    sent_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    # Incoming: the staff user who forwarded it or sent it in BCC, when that is how it came.
    logged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    # A coordinator who attached or discarded an unmatched message, and when.
    handled_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    outbox_message: Mapped["OutboxMessage | None"] = relationship()

    def __repr__(self):
        return f"<Email {self.id} {self.direction} {self.state}>"

    @property
    def addresses(self):
        """Every address the message names (From, To, Cc), lower case, without repeats."""
        found = [self.from_address, *self.to_addresses.split(","), *self.cc_addresses.split(",")]
        return list(dict.fromkeys(item.strip().lower() for item in found if item.strip()))


class MailboxState(db.Model):
    """How far `fetch-mail` has read a mailbox folder: the highest IMAP UID whose message is
    stored. Updated in the transaction that stores the message, so a crash before the commit
    means the message is read again, and one after it means it is never read twice."""

    __tablename__ = "mailbox_states"

    folder: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    # The folder's UIDVALIDITY; when the server changes it, UIDs start afresh.
    uid_validity: Mapped[int] = mapped_column(sa.BigInteger)
    last_uid: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    last_fetch_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
