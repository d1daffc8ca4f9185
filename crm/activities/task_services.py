"""Follow-up tasks: create, edit, complete and reopen, "my tasks", and the daily reminders."""

from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from crm.activities.models import TASK_SUBJECT_COLUMNS, Activity, Task, TaskReminder
from crm.agreements.models import Agreement
from crm.auth.models import ASSIGNABLE_ROLES, Role, User
from crm.core import audit
from crm.core.dates import local_today
from crm.core.forms import FieldError
from crm.core.links import external_url
from crm.core.types import utcnow
from crm.enquiries.models import Enquiry
from crm.enquiries.services import can_read as can_read_enquiry
from crm.enquiries.services import readable_enquiries
from crm.extensions import db
from crm.mail.services import queue_message
from crm.organisations.models import Contact, Organisation

MAX_TITLE_LENGTH = 300

# What a task can follow up: the query argument / column, the model and its detail page.
SUBJECT_KINDS = {
    "organisation_id": (Organisation, "organisations.detail"),
    "contact_id": (Contact, "contacts.detail"),
    "agreement_id": (Agreement, "agreements.detail"),
    "activity_id": (Activity, "activities.detail"),
    "enquiry_id": (Enquiry, "enquiries.detail"),
}
assert set(SUBJECT_KINDS) == set(TASK_SUBJECT_COLUMNS)

SUBJECT_LABELS = {
    "organisation_id": _l("Organisation"),
    "contact_id": _l("Contact"),
    "agreement_id": _l("Agreement"),
    "activity_id": _l("Activity"),
    "enquiry_id": _l("Enquiry"),
}

audit.describe_fields(
    "tasks",
    {
        "title": (_l("Task"), None),
        "due_date": (_l("Due date"), None),
        "assignee_id": (_l("Assignee"), "user"),
        "is_done": (_l("Done"), bool),
        "done_at": (_l("Done at"), None),
    },
)
audit.describe_actions({"complete": _l("marked done"), "reopen": _l("reopened")})


class TaskError(FieldError):
    """Input a task cannot be saved with (see FieldError)."""


# ---------------------------------------------------------------- subjects


def subject_column(task):
    for column in TASK_SUBJECT_COLUMNS:
        if getattr(task, column) is not None:
            return column
    return None


def subject_of(task):
    """(column, record) of what the task follows up, or (None, None) for a plain to-do."""
    column = subject_column(task)
    if column is None:
        return None, None
    return column, getattr(task, column.removesuffix("_id"))


def subject_name(column, record):
    if record is None:
        return ""
    if column == "contact_id":
        return record.full_name
    if column == "organisation_id":
        return record.name
    if column == "enquiry_id":
        return record.reference or f"#{record.id}"
    return record.title


def subject_url(column, record):
    """The subject's page, when that page exists (some are still being built)."""
    if record is None:
        return None
    endpoint = SUBJECT_KINDS[column][1]
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **{column: record.id})


# ---------------------------------------------------------------- who sees which task


def may_see(task, user):
    """A task about an enquiry is for those who may read the enquiry (SPEC §4: members only
    their own, viewers none), and for the member it is given to, who must be able to do it
    (they see the task, not the enquiry). Every other task is for everyone."""
    if task.enquiry_id is None:
        return True
    if user.has_role(Role.MEMBER) and task.assignee_id == user.id:
        return True
    return can_read_enquiry(task.enquiry, user)


def visible_to(user):
    """may_see as a condition on Task, so every list shows what the task's page would."""
    conditions = [
        Task.enquiry_id.is_(None),
        Task.enquiry_id.in_(sa.select(Enquiry.id).where(readable_enquiries(user))),
    ]
    if user.has_role(Role.MEMBER):
        conditions.append(Task.assignee_id == user.id)
    return sa.or_(*conditions)


def assignable_users():
    return db.session.scalars(
        sa.select(User)
        .where(User.active.is_(True), User.role.in_(ASSIGNABLE_ROLES))
        .order_by(User.name, User.id)
    ).all()


# ---------------------------------------------------------------- changing tasks


def _clean_title(title):
    title = " ".join((title or "").split())
    if not title:
        raise TaskError(_("Enter what is to be done."), field="title")
    if len(title) > MAX_TITLE_LENGTH:
        raise TaskError(_("The title can be at most 300 characters."), field="title")
    return title


def _check_assignee(assignee):
    if assignee is not None and (not assignee.active or assignee.role not in ASSIGNABLE_ROLES):
        raise TaskError(
            _("Tasks can only be given to active members, coordinators or admins."),
            field="assignee_id",
        )


def create_task(*, title, due_date=None, assignee=None, subject=None, subject_kind=None, actor):
    """A new task following up `subject` (a record of kind `subject_kind`, e.g. "contact_id")."""
    title = _clean_title(title)
    _check_assignee(assignee)
    task = Task(
        title=title,
        due_date=due_date,
        assignee_id=assignee.id if assignee else None,
        created_by_id=getattr(actor, "id", None),
    )
    if subject is not None:
        if subject_kind not in SUBJECT_KINDS:
            raise ValueError(f"unknown task subject {subject_kind!r}")
        setattr(task, subject_kind, subject.id)
    db.session.add(task)
    db.session.flush()
    audit.record(
        task,
        "create",
        actor=actor,
        changes={
            "title": [None, title],
            "due_date": [None, due_date.isoformat() if due_date else None],
            "assignee_id": [None, task.assignee_id],
        },
    )
    return task


def update_task(task, *, title, due_date, assignee, actor):
    task.title = _clean_title(title)
    if getattr(assignee, "id", None) != task.assignee_id:
        # A task may stay with someone who has since left; it cannot be given to them anew.
        _check_assignee(assignee)
    task.due_date = due_date
    task.assignee_id = assignee.id if assignee else None
    changes = audit.pending_changes(task)
    if changes:
        audit.record(task, "update", actor=actor, changes=changes)
    return task


def complete_task(task, *, actor):
    if task.is_done:
        return False
    task.is_done = True
    task.done_at = utcnow()
    audit.record(task, "complete", actor=actor, changes={"is_done": [False, True]})
    return True


def reopen_task(task, *, actor):
    if not task.is_done:
        return False
    task.is_done = False
    task.done_at = None
    audit.record(task, "reopen", actor=actor, changes={"is_done": [True, False]})
    return True


# ---------------------------------------------------------------- lists


def is_overdue(task, today=None):
    return (
        not task.is_done and task.due_date is not None and task.due_date < (today or local_today())
    )


# Overdue and soonest due first; tasks without a due date last.
OPEN_ORDER = (Task.due_date.is_(None), Task.due_date, Task.id)


def _with_subjects(select):
    return select.options(
        selectinload(Task.assignee),
        selectinload(Task.organisation),
        selectinload(Task.contact),
        selectinload(Task.agreement),
        selectinload(Task.activity),
        selectinload(Task.enquiry),
    )


@dataclass
class TaskFilters:
    # "open" or "done"
    state: str = "open"
    # A user id, "all" for everyone's, or None for the signed-in user's own.
    assignee: int | str | None = None


def task_select(filters, *, user):
    select = sa.select(Task).where(Task.deleted_at.is_(None), visible_to(user))
    if filters.assignee is None:
        select = select.where(Task.assignee_id == user.id)
    elif filters.assignee != "all":
        select = select.where(Task.assignee_id == filters.assignee)
    if filters.state == "done":
        select = select.where(Task.is_done.is_(True)).order_by(Task.done_at.desc(), Task.id.desc())
    else:
        select = select.where(Task.is_done.is_(False)).order_by(*OPEN_ORDER)
    return _with_subjects(select)


def open_tasks_for(user):
    """The user's open tasks, overdue first, then by due date."""
    return db.session.scalars(task_select(TaskFilters(), user=user)).all()


def overdue_tasks_for(user, today=None):
    today = today or local_today()
    return [task for task in open_tasks_for(user) if is_overdue(task, today)]


def due_tasks_for(user, today=None):
    """Open tasks due today or earlier: what the reminder lists."""
    today = today or local_today()
    return db.session.scalars(
        _with_subjects(
            sa.select(Task).where(
                Task.deleted_at.is_(None),
                Task.is_done.is_(False),
                Task.assignee_id == user.id,
                Task.due_date <= today,
                visible_to(user),
            )
        ).order_by(*OPEN_ORDER)
    ).all()


# ---------------------------------------------------------------- reminders


def _claim_reminder(task, day):
    """Insert the (task, day) reminder; False when one exists already (sent by another run)."""
    try:
        with db.session.begin_nested():
            db.session.add(TaskReminder(task_id=task.id, day=day))
    except sa.exc.IntegrityError:
        return False
    return True


def send_task_reminders(today=None):
    """Queue one e-mail per active user listing their open tasks due today or overdue that
    were not reminded of today. Returns {"users": n, "tasks": n}. Never commits."""
    today = today or local_today()
    counts = {"users": 0, "tasks": 0}
    users = db.session.scalars(sa.select(User).where(User.active.is_(True)).order_by(User.id)).all()
    for user in users:
        tasks = due_tasks_for(user, today)
        if not tasks:
            continue
        reminded = set(
            db.session.scalars(
                sa.select(TaskReminder.task_id).where(
                    TaskReminder.day == today,
                    TaskReminder.task_id.in_([task.id for task in tasks]),
                )
            )
        )
        claimed = [
            task for task in tasks if task.id not in reminded and _claim_reminder(task, today)
        ]
        if not claimed:
            continue
        _queue_reminder(user, claimed, today)
        counts["users"] += 1
        counts["tasks"] += len(claimed)
    return counts


def _queue_reminder(user, tasks, today):
    language = user.language if user.language in current_app.config["LANGUAGES"] else "sv"
    with force_locale(language):
        subject = _("Your tasks due today or overdue (%(count)s)", count=len(tasks))
        body = render_template(
            "email/task_reminder.txt",
            user=user,
            tasks=[
                (task, is_overdue(task, today), subject_name(*subject_of(task))) for task in tasks
            ],
            today=today,
            url=external_url("tasks.index"),
        )
    return queue_message(
        kind="task_reminder",
        recipient=user.email,
        subject=subject,
        body_text=body,
        language=language,
    )


def open_tasks_about(activity):
    """The activity's open follow-up tasks, soonest due first."""
    return db.session.scalars(
        _with_subjects(
            sa.select(Task).where(
                Task.activity_id == activity.id,
                Task.deleted_at.is_(None),
                Task.is_done.is_(False),
            )
        ).order_by(Task.due_date.is_(None), Task.due_date, Task.id)
    ).all()
