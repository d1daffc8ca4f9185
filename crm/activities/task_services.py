"""Follow-up tasks: create, edit, complete and reopen, "my tasks", and the daily reminders."""

from dataclasses import dataclass

import sqlalchemy as sa
from blinker import Namespace
from flask import current_app, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from crm.activities.models import (
    TASK_SUBJECT_COLUMNS,
    Activity,
    Task,
    TaskDueEvent,
    TaskReminder,
)
from crm.activities.task_subjects import register_subject, registered_subject, subject_for
from crm.agreements.models import Agreement
from crm.auth.models import ASSIGNABLE_ROLES, Role, User
from crm.core import audit
from crm.core.dates import local_today
from crm.core.forms import FieldError
from crm.core.links import external_url
from crm.core.types import utcnow
from crm.extensions import db
from crm.mail.services import queue_message
from crm.notifications import services as notifications
from crm.notifications.models import TASK_ASSIGNED, TASK_DUE
from crm.organisations.models import Contact, Organisation

MAX_TITLE_LENGTH = 300

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


# The kinds below activities; enquiries registers its own (enquiries/services.py).
register_subject(
    "organisation_id",
    model=Organisation,
    endpoint="organisations.detail",
    label=_l("Organisation"),
    name=lambda organisation: organisation.name,
)
register_subject(
    "contact_id",
    model=Contact,
    endpoint="contacts.detail",
    label=_l("Contact"),
    name=lambda contact: contact.full_name,
)
register_subject(
    "agreement_id",
    model=Agreement,
    endpoint="agreements.detail",
    label=_l("Agreement"),
    name=lambda agreement: agreement.title,
)
register_subject(
    "activity_id",
    model=Activity,
    endpoint="activities.detail",
    label=_l("Activity"),
    name=lambda activity: activity.title,
)


def subject_of(task):
    """(column, record) of what the task follows up, or (None, None) for a plain to-do."""
    for column in TASK_SUBJECT_COLUMNS:
        if getattr(task, column) is not None:
            return column, getattr(task, column.removesuffix("_id"))
    return None, None


def subject_name(column, record):
    if record is None:
        return ""
    return registered_subject(column).name(record)


def subject_url(column, record):
    if record is None:
        return None
    return url_for(registered_subject(column).endpoint, **{column: record.id})


# ---------------------------------------------------------------- who sees which task


def may_see_subject(column, record, user):
    """Whether `user` may open the record a task follows up: everyone may, unless its kind
    has a rule of its own (an enquiry: SPEC §4)."""
    rule = registered_subject(column).may_see
    return rule is None or rule(record, user)


def may_see(task, user):
    """A task about a record that not everyone may read (an enquiry: members only their own,
    viewers none) is for those who may read the record, and for the member it is given to,
    who must be able to do it (they see the task, not the record). Every other task is for
    everyone."""
    column, record = subject_of(task)
    if column is None or registered_subject(column).may_see is None:
        return True
    if user.has_role(Role.MEMBER) and task.assignee_id == user.id:
        return True
    return may_see_subject(column, record, user)


def visible_to(user):
    """may_see as a condition on Task, so every list shows what the task's page would."""
    restricted = [
        registered_subject(column)
        for column in TASK_SUBJECT_COLUMNS
        if registered_subject(column).visible is not None
    ]
    if not restricted:
        return sa.true()
    # A task has one subject at most: either none of the restricted kinds, or a readable one.
    # Each row's subject is looked up (EXISTS), not every readable subject's id listed first
    # (IN): the list would be every live enquiry, 20,000 ids, to show a person's few tasks.
    # The cheapest conditions come first, as the database tries them in this order.
    conditions = []
    if user.has_role(Role.MEMBER):
        conditions.append(Task.assignee_id == user.id)
    conditions.append(sa.and_(*(getattr(Task, subject.column).is_(None) for subject in restricted)))
    conditions += [
        sa.exists().where(subject.model.id == getattr(Task, subject.column), subject.visible(user))
        for subject in restricted
    ]
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
        setattr(task, registered_subject(subject_kind).column, subject.id)
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
    if subject is not None and registered_subject(subject_kind).on_create is not None:
        registered_subject(subject_kind).on_create(subject, task, actor=actor)
    if assignee is not None:
        _tell_assignee(task, assignee, actor=actor)
    return task


def update_task(task, *, title, due_date, assignee, actor):
    task.title = _clean_title(title)
    if getattr(assignee, "id", None) != task.assignee_id:
        # A task may stay with someone who has since left; it cannot be given to them anew.
        _check_assignee(assignee)
    task.due_date = due_date
    reassigned = assignee is not None and assignee.id != task.assignee_id
    task.assignee_id = assignee.id if assignee else None
    changes = audit.pending_changes(task)
    if changes:
        audit.record(task, "update", actor=actor, changes=changes)
    if reassigned:
        task.assignee = assignee
        _tell_assignee(task, assignee, actor=actor)
    return task


def _tell_assignee(task, assignee, *, actor):
    """E-mail the person a task was just given to, unless they gave it to themselves."""
    if actor is not None and actor.id == assignee.id:
        return
    if not assignee.active:
        return
    notifications.notify(assignee, TASK_ASSIGNED, task=task, actor=actor)
    language = assignee.language if assignee.language in current_app.config["LANGUAGES"] else "sv"
    with force_locale(language):
        subject = _("A task has been assigned to you: %(title)s", title=task.title)
        body = render_template(
            "email/task_assigned.txt",
            task=task,
            assignee=assignee,
            actor=actor,
            subject=subject_name(*subject_of(task)),
            url=external_url("tasks.index"),
        )
    queue_message(
        kind="task_assigned",
        recipient=assignee.email,
        subject=subject,
        body_text=body,
        language=language,
    )


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
        *(
            selectinload(getattr(Task, column.removesuffix("_id")))
            for column in TASK_SUBJECT_COLUMNS
        ),
    )


@dataclass
class TaskFilters:
    # "open", "done", or "all" (both, for the API's sync by updated_since)
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
    elif filters.state == "all":
        select = select.order_by(Task.updated_at, Task.id)
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


def tasks_about(record, *, open_only=False, limit=None):
    """The tasks following up `record` (an organisation, an enquiry, …): open ones first,
    then the soonest due; those without a due date last. At most `limit` of them."""
    column = subject_for(record).column
    select = sa.select(Task).where(getattr(Task, column) == record.id, Task.deleted_at.is_(None))
    if open_only:
        select = select.where(Task.is_done.is_(False))
    return db.session.scalars(
        select.options(selectinload(Task.assignee)).order_by(Task.is_done, *OPEN_ORDER).limit(limit)
    ).all()


def visible_tasks_about(record, user, *, enquiry_ids=None):
    """The live tasks, open and done, following up `record` or one of its enquiries
    (`enquiry_ids`, a select of their ids), that `user` may see, as an unordered select."""
    about = getattr(Task, subject_for(record).column) == record.id
    if enquiry_ids is not None:
        about = sa.or_(about, Task.enquiry_id.in_(enquiry_ids))
    return sa.select(Task).where(about, Task.deleted_at.is_(None), visible_to(user))


def open_tasks_about(record, *, limit=None):
    return tasks_about(record, open_only=True, limit=limit)


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
        for task in claimed:
            notifications.notify(user, TASK_DUE, task=task)
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


# ---------------------------------------------------------------- due dates announced

_signals = Namespace()
# Sent by the daily job once for each open task whose due date has come, the task as the
# sender, with `today`: for packages above this one (crm.webhooks announces it). Unlike the
# reminder e-mail (every day while the task is overdue), it says the task *became* due.
task_due = _signals.signal("task-due")


def announce_due_tasks(today=None):
    """Send task_due for every open task due today or earlier that has not been announced
    for its due date. Returns how many were announced. Never commits.

    Each (task, due date) is claimed by inserting a TaskDueEvent first, so a task is
    announced once however often, or however concurrently, the job runs; moving the due
    date later announces it again when the new date comes. The first run announces every
    task already overdue, once.
    """
    today = today or local_today()
    announced = sa.select(TaskDueEvent.id).where(
        TaskDueEvent.task_id == Task.id, TaskDueEvent.due_date == Task.due_date
    )
    tasks = db.session.scalars(
        sa.select(Task)
        .where(
            Task.deleted_at.is_(None),
            Task.is_done.is_(False),
            Task.due_date <= today,
            ~announced.exists(),
        )
        .order_by(Task.due_date, Task.id)
    ).all()
    count = 0
    for task in tasks:
        if _claim_due_event(task):
            task_due.send(task, today=today)
            count += 1
    return count


def _claim_due_event(task):
    """Insert the (task, due date) row; False when another run has claimed it already."""
    try:
        with db.session.begin_nested():
            db.session.add(TaskDueEvent(task_id=task.id, due_date=task.due_date))
    except sa.exc.IntegrityError:
        return False
    return True
