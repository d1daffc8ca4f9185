"""Collaboration activities and follow-up tasks."""

from datetime import date, datetime, time
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.models import SoftDeleteMixin, TimestampMixin, live_index
from crm.core.types import LabelledEnum, UTCDateTime, enum_column, utcnow
from crm.extensions import db

if TYPE_CHECKING:
    from crm.agreements.models import Agreement
    from crm.auth.models import User
    from crm.organisations.models import Contact, Organisation


class ActivityKind(LabelledEnum):
    INFORMATION_MEETING = "information_meeting"
    DIALOGUE_MEETING = "dialogue_meeting"
    SEMINAR = "seminar"
    WORKSHOP = "workshop"
    COURSE = "course"
    JOINT_RD_PROJECT = "joint_rd_project"
    CONFERENCE = "conference"
    # An e-mail a staff member forwarded or sent in BCC to the office mailbox (crm/mailbox/).
    EMAIL = "email"
    OTHER = "other"

    @staticmethod
    def _labels():
        return {
            "information_meeting": _l("Information meeting"),
            "dialogue_meeting": _l("Dialogue meeting"),
            "seminar": _l("Seminar"),
            "workshop": _l("Workshop"),
            "course": _l("E-learning/course"),
            "joint_rd_project": _l("Joint R&D project"),
            "conference": _l("Conference"),
            "email": _l("E-mail"),
            "other": _l("Other"),
        }


class ActivityStatus(LabelledEnum):
    PLANNED = "planned"
    ONGOING = "ongoing"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    @staticmethod
    def _labels():
        return {
            "planned": _l("Planned"),
            "ongoing": _l("Ongoing"),
            "completed": _l("Completed"),
            "cancelled": _l("Cancelled"),
        }


class ActivityOrganisationRole(LabelledEnum):
    PARTNER = "partner"
    PARTICIPANT = "participant"
    SPONSOR = "sponsor"

    @staticmethod
    def _labels():
        return {
            "partner": _l("Partner"),
            "participant": _l("Participant"),
            "sponsor": _l("Sponsor"),
        }


activity_contacts = sa.Table(
    "activity_contacts",
    db.metadata,
    sa.Column("activity_id", sa.ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "contact_id", sa.ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
)

activity_staff = sa.Table(
    "activity_staff",
    db.metadata,
    sa.Column("activity_id", sa.ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
)


class Activity(TimestampMixin, SoftDeleteMixin, db.Model):
    """A collaboration activity. Dates are local; a time is optional (all-day when absent)."""

    __tablename__ = "activities"
    __table_args__ = (
        sa.CheckConstraint("end_date IS NULL OR end_date >= start_date", name="end_after_start"),
        # The public page's lists: the public activities in date order, without sorting them
        # (with only is_public indexed, the planner walks every activity by date instead).
        sa.Index("ix_activities_public_start", "is_public", "start_date"),
        # …and those still running: ending later, or ongoing without an end date.
        sa.Index("ix_activities_public_end", "is_public", "end_date", "status"),
        # An agreement's page lists its newest activities: found and ordered by one index
        # (with agreement_id alone, the planner walks every activity by date instead).
        sa.Index("ix_activities_agreement_start", "agreement_id", "start_date", "id"),
        # The list's filters by status or kind in date order, and its sort orders: a page
        # read in order from an index, not by walking every activity by date.
        live_index("ix_activities_live_status_start", "status", "start_date", "id"),
        live_index("ix_activities_live_kind_start", "kind", "start_date", "id"),
        # The title order holds the kind and status the list filters by, as the date order
        # below does: a walk in either order for a rare kind or status checks them in the
        # index rather than reading each activity.
        live_index("ix_activities_live_title", "title", "id", "kind", "status", "deleted_at"),
        # The list's default order: a deep page's ids are read from the index alone (with
        # start_date alone indexed, each skipped activity was read to test its deleted mark).
        # It holds deleted_at too, all NULL: without it, SQLite's planner thinks it must read
        # each row to test the mark anyway, which makes it no better than the index of
        # start_date, and it picks either.
        live_index("ix_activities_live_start", "start_date", "id", "deleted_at", "kind", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ActivityKind] = mapped_column(enum_column(ActivityKind))
    title: Mapped[str] = mapped_column(sa.String(300))
    start_date: Mapped[date] = mapped_column(index=True)
    start_time: Mapped[time | None]
    end_date: Mapped[date | None] = mapped_column(index=True)
    end_time: Mapped[time | None]
    place: Mapped[str | None] = mapped_column(sa.String(300))
    is_online: Mapped[bool] = mapped_column(default=False)
    agreement_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("agreements.id", ondelete="SET NULL")
    )
    # The enquiry this activity came from, when it was logged while converting one.
    enquiry_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("enquiries.id", ondelete="SET NULL"), index=True
    )
    description: Mapped[str | None] = mapped_column(sa.Text)
    outcome: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[ActivityStatus] = mapped_column(
        enum_column(ActivityStatus), default=ActivityStatus.PLANNED
    )
    is_public: Mapped[bool] = mapped_column(default=False, index=True)
    public_summary: Mapped[str | None] = mapped_column(sa.Text)

    agreement: Mapped["Agreement | None"] = relationship()
    organisations: Mapped[list["ActivityOrganisation"]] = relationship(
        back_populates="activity", cascade="all, delete-orphan"
    )
    contacts: Mapped[list["Contact"]] = relationship(secondary=activity_contacts)
    staff: Mapped[list["User"]] = relationship(secondary=activity_staff)

    def __repr__(self):
        return f"<Activity {self.id} {self.title!r}>"


class ActivityOrganisation(db.Model):
    __tablename__ = "activity_organisations"
    __table_args__ = (
        # An organisation's activities (its page, the list's filters by organisation and by
        # sector) read from the index alone, without a lookup in the table per row.
        sa.Index(
            "ix_activity_organisations_organisation_activity", "organisation_id", "activity_id"
        ),
    )

    activity_id: Mapped[int] = mapped_column(
        sa.ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True
    )
    organisation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[ActivityOrganisationRole] = mapped_column(
        enum_column(ActivityOrganisationRole), default=ActivityOrganisationRole.PARTICIPANT
    )

    activity: Mapped[Activity] = relationship(back_populates="organisations")
    organisation: Mapped["Organisation"] = relationship()


# A task follows up exactly one record of these kinds (or none, as a plain to-do).
TASK_SUBJECT_COLUMNS = (
    "organisation_id",
    "contact_id",
    "agreement_id",
    "activity_id",
    "enquiry_id",
)


class Task(TimestampMixin, SoftDeleteMixin, db.Model):
    __tablename__ = "tasks"
    __table_args__ = (
        sa.CheckConstraint(
            " + ".join(
                f"(CASE WHEN {column} IS NULL THEN 0 ELSE 1 END)" for column in TASK_SUBJECT_COLUMNS
            )
            + " <= 1",
            name="one_subject",
        ),
        sa.Index("ix_tasks_assignee_open", "assignee_id", "is_done", "due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    due_date: Mapped[date | None] = mapped_column(index=True)
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    is_done: Mapped[bool] = mapped_column(default=False)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    agreement_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("agreements.id", ondelete="CASCADE"), index=True
    )
    activity_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("activities.id", ondelete="CASCADE"), index=True
    )
    enquiry_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("enquiries.id", ondelete="CASCADE"), index=True
    )

    assignee: Mapped["User | None"] = relationship(foreign_keys=[assignee_id])
    organisation: Mapped["Organisation | None"] = relationship()
    contact: Mapped["Contact | None"] = relationship()
    agreement: Mapped["Agreement | None"] = relationship()
    activity: Mapped[Activity | None] = relationship()
    # Enquiries sit above activities, so the name is left for SQLAlchemy's registry to resolve.
    enquiry: Mapped["Enquiry | None"] = relationship()  # noqa: F821

    def __repr__(self):
        return f"<Task {self.id} {self.title!r}>"


class TaskReminder(db.Model):
    """A reminder e-mail queued for a task on a day; unique, so the job sends it once a day."""

    __tablename__ = "task_reminders"
    __table_args__ = (sa.UniqueConstraint("task_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(sa.ForeignKey("tasks.id", ondelete="CASCADE"))
    day: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TaskDueEvent(db.Model):
    """That a task's due date came while it was open, announced once (`task_due`, sent by the
    daily job). Unique per due date: running the job again announces nothing new, and a task
    given a later due date is announced again when that date comes."""

    __tablename__ = "task_due_events"
    __table_args__ = (sa.UniqueConstraint("task_id", "due_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(sa.ForeignKey("tasks.id", ondelete="CASCADE"))
    due_date: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
