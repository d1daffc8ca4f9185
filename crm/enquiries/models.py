"""Enquiries from the public contact form, and the comments staff add while working them."""

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.models import SoftDeleteMixin, TimestampMixin, live_index
from crm.core.topics import Topic
from crm.core.types import LabelledEnum, UTCDateTime, enum_column, utcnow
from crm.extensions import db

if TYPE_CHECKING:
    from crm.auth.models import User
    from crm.organisations.models import Contact, Organisation
    from crm.settings.models import ConsentText


class EnquiryStatus(LabelledEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    # A reply went to the company; their answer moves it back to in progress.
    WAITING = "waiting"
    CONVERTED = "converted"
    CLOSED = "closed"

    @staticmethod
    def _labels():
        return {
            "new": _l("New"),
            "assigned": _l("Assigned"),
            "in_progress": _l("In progress"),
            "waiting": _l("Waiting for the company"),
            "converted": _l("Converted"),
            "closed": _l("Closed"),
        }

    @property
    def is_open(self):
        return self in (
            EnquiryStatus.NEW,
            EnquiryStatus.ASSIGNED,
            EnquiryStatus.IN_PROGRESS,
            EnquiryStatus.WAITING,
        )


class EnquirySource(LabelledEnum):
    WEB = "web"
    EMAIL = "email"

    @staticmethod
    def _labels():
        return {"web": _l("Contact form"), "email": _l("E-mail")}


class ClosedReason(LabelledEnum):
    ANSWERED = "answered"
    NOT_RELEVANT = "not_relevant"
    DUPLICATE = "duplicate"
    SPAM = "spam"

    @staticmethod
    def _labels():
        return {
            "answered": _l("Answered"),
            "not_relevant": _l("Not relevant"),
            "duplicate": _l("Duplicate"),
            "spam": _l("Spam"),
        }


# Whether an enquiry has someone assigned, as the inbox sorts by it.
_ASSIGNED = sa.text("(assignee_id IS NOT NULL)")


class Enquiry(TimestampMixin, SoftDeleteMixin, db.Model):
    __tablename__ = "enquiries"
    __table_args__ = (
        sa.Index("ix_enquiries_status_received", "status", "received_at"),
        # Each person's open enquiries, and how many (the assignment choices, the overview),
        # answered from the index alone: it holds the deleted mark the queries test too.
        sa.Index("ix_enquiries_assignee_status", "assignee_id", "status", "deleted_at"),
        # The inbox's order (services.INBOX_ORDER), over every open status and over one.
        live_index("ix_enquiries_live_inbox", _ASSIGNED, "received_at", "id"),
        live_index("ix_enquiries_live_status_inbox", "status", _ASSIGNED, "received_at", "id"),
        # Each person's enquiries, and the unassigned ones, oldest first (the overview): read
        # in order, not found by walking every enquiry by date for someone who has a few.
        live_index("ix_enquiries_live_assignee_received", "assignee_id", "received_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # e.g. ENQ-2026-00042; set in the same transaction as the insert.
    reference: Mapped[str | None] = mapped_column(sa.String(20), unique=True)
    # A token from the form, so a double submit stores one enquiry.
    submission_token: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    phone: Mapped[str | None] = mapped_column(sa.String(50))
    organisation_name: Mapped[str | None] = mapped_column(sa.String(200))
    organisation_type: Mapped[str | None] = mapped_column(sa.String(32))
    topic: Mapped[Topic] = mapped_column(enum_column(Topic), index=True)
    message: Mapped[str] = mapped_column(sa.Text)
    language: Mapped[str] = mapped_column(sa.String(2), default="sv")
    # How it came: the contact form, or an e-mail to the office mailbox.
    source: Mapped[EnquirySource] = mapped_column(
        enum_column(EnquirySource), default=EnquirySource.WEB, server_default="web"
    )
    consent_text_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("consent_texts.id", ondelete="RESTRICT")
    )
    consent_given_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The privacy notice version the form linked to when the enquiry was sent.
    privacy_notice_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("privacy_notices.id", ondelete="RESTRICT")
    )
    status: Mapped[EnquiryStatus] = mapped_column(
        enum_column(EnquiryStatus), default=EnquiryStatus.NEW
    )
    closed_reason: Mapped[ClosedReason | None] = mapped_column(enum_column(ClosedReason))
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    converted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    legal_hold: Mapped[bool] = mapped_column(default=False)
    legal_hold_reason: Mapped[str | None] = mapped_column(sa.String(500))
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    consent_text: Mapped["ConsentText | None"] = relationship()
    # Privacy sits above enquiries, so the name is left for SQLAlchemy's registry to resolve.
    privacy_notice: Mapped["PrivacyNotice | None"] = relationship()  # noqa: F821
    assignee: Mapped["User | None"] = relationship(foreign_keys=[assignee_id])
    organisation: Mapped["Organisation | None"] = relationship()
    contact: Mapped["Contact | None"] = relationship()
    comments: Mapped[list["EnquiryComment"]] = relationship(
        back_populates="enquiry",
        cascade="all, delete-orphan",
        order_by="EnquiryComment.created_at",
    )

    def __repr__(self):
        return f"<Enquiry {self.id} {self.reference}>"


class EnquiryComment(TimestampMixin, db.Model):
    __tablename__ = "enquiry_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    enquiry_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enquiries.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(sa.Text)

    enquiry: Mapped[Enquiry] = relationship(back_populates="comments")
    author: Mapped["User | None"] = relationship(foreign_keys=[author_id])


class ReplyTemplate(TimestampMixin, db.Model):
    """A reply text admins keep for answering enquiries, in one language; staff pick one on
    the enquiry's reply form and edit it before sending."""

    __tablename__ = "reply_templates"
    __table_args__ = (sa.UniqueConstraint("language", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    language: Mapped[str] = mapped_column(sa.String(2))
    name: Mapped[str] = mapped_column(sa.String(100))
    body: Mapped[str] = mapped_column(sa.Text)

    def __repr__(self):
        return f"<ReplyTemplate {self.id} {self.language} {self.name}>"


class BotSubmissionCount(db.Model):
    """Contact form submissions turned away as automated (the honeypot filled in, or sent
    faster than a person types), counted per office day rather than logged one by one.

    `logged_at` is the hour the log last mentioned the day's count: the log gets one line
    an hour at most, however many arrive.
    """

    __tablename__ = "bot_submission_counts"

    day: Mapped[date] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
    logged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
