"""Agreements (framework agreements, MoUs, …), their parties and renewal reminders."""

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.models import SoftDeleteMixin, TimestampMixin
from crm.core.types import LabelledEnum, UTCDateTime, enum_column, utcnow
from crm.extensions import db

if TYPE_CHECKING:
    from crm.auth.models import User
    from crm.organisations.models import Organisation


class AgreementKind(LabelledEnum):
    FRAMEWORK = "framework"
    MOU = "mou"
    NDA = "nda"
    COLLABORATION = "collaboration"
    DATA_SHARING = "data_sharing"
    OTHER = "other"

    @staticmethod
    def _labels():
        return {
            "framework": _l("Framework agreement"),
            "mou": _l("Memorandum of Understanding"),
            "nda": _l("NDA/CDA"),
            "collaboration": _l("Collaboration agreement"),
            "data_sharing": _l("Data-sharing agreement"),
            "other": _l("Other"),
        }


class AgreementStatus(LabelledEnum):
    DRAFT = "draft"
    NEGOTIATION = "negotiation"
    SIGNED = "signed"
    ACTIVE = "active"
    EXPIRED = "expired"
    TERMINATED = "terminated"

    @staticmethod
    def _labels():
        return {
            "draft": _l("Draft"),
            "negotiation": _l("Negotiation"),
            "signed": _l("Signed"),
            "active": _l("Active"),
            "expired": _l("Expired"),
            "terminated": _l("Terminated"),
        }


class PartyRole(LabelledEnum):
    PARTY = "party"
    SIGNATORY = "signatory"
    OBSERVER = "observer"

    @staticmethod
    def _labels():
        return {"party": _l("Party"), "signatory": _l("Signatory"), "observer": _l("Observer")}


class Agreement(TimestampMixin, SoftDeleteMixin, db.Model):
    __tablename__ = "agreements"
    __table_args__ = (
        sa.CheckConstraint(
            "end_date IS NULL OR start_date IS NULL OR end_date >= start_date",
            name="end_after_start",
        ),
        sa.CheckConstraint("renewal_notice_days >= 0", name="renewal_notice_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AgreementKind] = mapped_column(enum_column(AgreementKind), index=True)
    title: Mapped[str] = mapped_column(sa.String(300), index=True)
    status: Mapped[AgreementStatus] = mapped_column(
        enum_column(AgreementStatus), default=AgreementStatus.DRAFT, index=True
    )
    our_signatory: Mapped[str | None] = mapped_column(sa.String(200))
    signed_date: Mapped[date | None]
    start_date: Mapped[date | None]
    end_date: Mapped[date | None] = mapped_column(index=True)
    renewal_notice_days: Mapped[int] = mapped_column(default=90)
    owner_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    description: Mapped[str | None] = mapped_column(sa.Text)
    is_public: Mapped[bool] = mapped_column(default=False, index=True)
    # Signed by an association on behalf of its members.
    covers_members: Mapped[bool] = mapped_column(default=False)

    owner: Mapped["User | None"] = relationship(foreign_keys=[owner_id])
    parties: Mapped[list["AgreementParty"]] = relationship(
        back_populates="agreement", cascade="all, delete-orphan"
    )

    def __repr__(self):
        return f"<Agreement {self.id} {self.title!r}>"


class AgreementParty(db.Model):
    __tablename__ = "agreement_parties"
    __table_args__ = (sa.UniqueConstraint("agreement_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(
        sa.ForeignKey("agreements.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[PartyRole] = mapped_column(enum_column(PartyRole), default=PartyRole.PARTY)

    agreement: Mapped[Agreement] = relationship(back_populates="parties")
    organisation: Mapped["Organisation"] = relationship()


class ReminderEvent(LabelledEnum):
    # Ahead of the notice date (the office's agreement_warning_days); its date is the notice date.
    WARNING = "warning"
    NOTICE = "notice"
    END = "end"

    @staticmethod
    def _labels():
        return {
            "warning": _l("Renewal notice date coming up"),
            "notice": _l("Renewal notice date"),
            "end": _l("End date"),
        }


class AgreementReminder(db.Model):
    """A reminder queued for an agreement's notice or end date.

    Unique per agreement, event and date, so the daily job sends each reminder once however
    often it runs, and again only when the date itself changes (say, after a renewal).
    """

    __tablename__ = "agreement_reminders"
    __table_args__ = (sa.UniqueConstraint("agreement_id", "event", "event_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(
        sa.ForeignKey("agreements.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[ReminderEvent] = mapped_column(enum_column(ReminderEvent))
    event_date: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
