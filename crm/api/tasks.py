"""/api/v1/tasks: follow-up tasks, each about one organisation, contact, agreement, activity
or enquiry (or none), seen by whom the task pages show them to.

There is no DELETE: the task pages offer no way to delete a task; it is marked done instead.
"""

import marshmallow as ma
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_smorest import Blueprint

from crm.activities import task_services as services
from crm.activities.models import TASK_SUBJECT_COLUMNS, Task
from crm.activities.task_forms import TaskForm
from crm.activities.task_subjects import registered_subject
from crm.api.forms import browser_formdata, saved, set_field, validated_form
from crm.api.pagination import SortKey, list_page
from crm.api.problems import Problem
from crm.api.schemas import ID, ListArgs, RecordSchema, StrictBoolean, list_schema, location_of
from crm.auth.decorators import role_required
from crm.auth.models import Role
from crm.core import records
from crm.core.dates import local_today
from crm.extensions import db

bp = Blueprint(
    "api_tasks",
    __name__,
    url_prefix="/api/v1/tasks",
    description="Tasks: follow-ups, each about one record or none.",
)

SORTS = {
    # The page's order: soonest due first, those without a due date last.
    "due": [
        SortKey(Task.due_date.is_(None), lambda task: task.due_date is None, bool),
        Task.due_date,
        Task.id,
    ],
    "done": [Task.done_at, Task.id],
    "title": [Task.title, Task.id],
    "created": [Task.created_at, Task.id],
    "updated": [Task.updated_at, Task.id],
}
# The task page's orders: open tasks soonest due first, done ones last done first.
DEFAULT_SORTS = {"open": "due", "done": "-done", "all": "updated"}
SUBJECT_TYPES = [column.removesuffix("_id") for column in TASK_SUBJECT_COLUMNS]

NO_SUCH_RECORD = _l("There is no record with this id.")
ONE_SUBJECT = _l("A task follows up one record at most: give only one of these ids.")
FIXED_SUBJECT = _l("What a task follows up cannot be changed.")
BAD_ASSIGNEE = _l("Give a user's id, or all.")


def _id_field(**kwargs):
    return ma.fields.Integer(validate=ma.validate.Range(1, records.MAX_ID), **kwargs)


class SubjectSchema(ma.Schema):
    type = ma.fields.String(validate=ma.validate.OneOf(SUBJECT_TYPES))
    id = ma.fields.Integer()
    name = ma.fields.String()


def _computed(field_class, function, **kwargs):
    """A read-only field of `field_class` whose value is function(task): documented with
    its type, unlike marshmallow's Function field."""

    class Computed(field_class):
        def serialize(self, attr, obj, accessor=None, **serialize_kwargs):
            return self._serialize(function(obj), attr, obj, **serialize_kwargs)

    return Computed(dump_only=True, **kwargs)


def _subject_id(kind):
    return _id_field(
        allow_none=True, metadata={"description": f"The {kind} it follows up (one at most)."}
    )


class TaskSchema(RecordSchema):
    title = ma.fields.String(required=True, validate=ma.validate.Length(1, 300))
    due_date = ma.fields.Date(allow_none=True)
    assignee_id = _id_field(
        allow_none=True,
        metadata={
            "description": "An active member, coordinator or admin; null for nobody. On "
            "create, the token's user when left out (if they may be given tasks)."
        },
    )
    assignee_name = _computed(
        ma.fields.String,
        lambda task: task.assignee.name if task.assignee is not None else None,
        allow_none=True,
    )
    is_done = StrictBoolean(metadata={"description": "True marks it done, false open again."})
    done_at = ma.fields.AwareDateTime(dump_only=True, allow_none=True)
    is_overdue = _computed(
        ma.fields.Boolean,
        lambda task: services.is_overdue(task, local_today()),
        metadata={"description": "Open, and due before today."},
    )
    # What it follows up: one of these ids at most (TASK_SUBJECT_COLUMNS), set on create.
    organisation_id = _subject_id("organisation")
    contact_id = _subject_id("contact")
    agreement_id = _subject_id("agreement")
    activity_id = _subject_id("activity")
    enquiry_id = _subject_id("enquiry")
    subject = _computed(
        ma.fields.Nested,
        lambda task: _subject(task),
        nested=SubjectSchema,
        allow_none=True,
        metadata={"description": "What it follows up, by type, id and name; null for none."},
    )


def _subject(task):
    column, record = services.subject_of(task)
    if record is None:
        return None
    return {
        "type": column.removesuffix("_id"),
        "id": record.id,
        "name": services.subject_name(column, record),
    }


class TaskPatchSchema(TaskSchema):
    """Any of the fields; those left out keep their values."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


def _assignee_argument(value):
    if value != "all" and records.parse_id(value) is None:
        raise ma.ValidationError(str(BAD_ASSIGNEE))


def _subject_filter(kind):
    return _id_field(metadata={"description": f"Only tasks about this {kind}."})


class TaskListArgs(ListArgs):
    state = ma.fields.String(
        load_default="open",
        validate=ma.validate.OneOf(["open", "done", "all"]),
        metadata={"description": "Open tasks, those marked done, or all (to keep in step)."},
    )
    assignee = ma.fields.String(
        validate=[ma.validate.Length(max=10), _assignee_argument],
        metadata={
            "description": "A user's id, or all for everyone's; the token's user's own when "
            "left out."
        },
    )
    organisation_id = _subject_filter("organisation")
    contact_id = _subject_filter("contact")
    agreement_id = _subject_filter("agreement")
    activity_id = _subject_filter("activity")
    enquiry_id = _subject_filter("enquiry")
    sort = ma.fields.String(
        validate=ma.validate.OneOf([*SORTS, *[f"-{key}" for key in SORTS]]),
        metadata={
            "description": "A key, or -key for the reverse order. Open tasks by due date "
            "when left out (due), done ones by when they were done (-done)."
        },
    )


TaskList = list_schema(TaskSchema, "TaskList")


def _task_or_404(task_id):
    """The task, as its page loads it: 404 unless the user may see it (tasks.edit)."""
    task = records.get_visible_or_404(Task, task_id)
    if not services.may_see(task, current_user):
        raise Problem(404)
    return task


def _named_subject(data):
    """(column, record) of the subject the JSON names, or (None, None); a 422 for more than
    one, or for one the user may not open (as the page's 404: the same answer as for an id
    that does not exist, so it tells nothing)."""
    named = [column for column in TASK_SUBJECT_COLUMNS if data.get(column) is not None]
    if not named:
        return None, None
    if len(named) > 1:
        raise Problem(
            422, errors=[{"field": column, "detail": str(ONE_SUBJECT)} for column in named]
        )
    column = named[0]
    record = db.session.get(registered_subject(column).model, data[column])
    if (
        record is None
        or getattr(record, "is_deleted", False)
        or not getattr(record, "can_view", lambda: True)()
        or not services.may_see_subject(column, record, current_user)
    ):
        raise Problem(422, errors=[{"field": column, "detail": str(NO_SUCH_RECORD)}])
    return column, record


def _formdata(data, form):
    formdata = browser_formdata(form)
    for name in ("title", "due_date", "assignee_id"):
        if name in data:
            set_field(formdata, name, data[name])
    return formdata


def _assignee(form, users):
    return next((user for user in users if user.id == form.assignee_id.data), None)


def _mark(task, is_done):
    if is_done:
        services.complete_task(task, actor=current_user)
    else:
        services.reopen_task(task, actor=current_user)


@bp.route("/")
class Tasks(MethodView):
    @bp.arguments(TaskListArgs, location="query", unknown=ma.RAISE)
    @bp.response(200, TaskList)
    def get(self, args):
        """List tasks as the task page does: the token's user's own open ones unless the
        filters say otherwise, only those the user may see."""
        raw = args.get("assignee")
        assignee = "all" if raw == "all" else records.parse_id(raw)
        filters = services.TaskFilters(state=args["state"], assignee=assignee)
        # The page's query, without its fixed order (the sort argument gives it).
        select = services.task_select(filters, user=current_user).order_by(None)
        for column in TASK_SUBJECT_COLUMNS:
            if args.get(column):
                select = select.where(getattr(Task, column) == args[column])
        return list_page(
            select,
            SORTS,
            args,
            default_sort=DEFAULT_SORTS[args["state"]],
            updated_column=Task.updated_at,
        )

    @role_required(Role.MEMBER)
    @bp.arguments(TaskSchema)
    @bp.response(201, TaskSchema)
    def post(self, data):
        """Create a task (members, coordinators, admins), about one record or none."""
        column, subject = _named_subject(data)
        users = services.assignable_users()
        form = TaskForm(users=users, formdata=None, meta={"csrf": False})
        # The new-task page gives the task to the signed-in user when they may have it.
        if current_user.id in {user.id for user in users}:
            form.assignee_id.data = current_user.id
        form = validated_form(TaskForm, _formdata(data, form), users=users)
        task = saved(
            lambda: services.create_task(
                title=form.title.data,
                due_date=form.due_date.data,
                assignee=_assignee(form, users),
                subject=subject,
                subject_kind=column,
                actor=current_user,
            )
        )
        if data.get("is_done"):
            _mark(task, True)
        db.session.commit()
        return task, 201, location_of(task)


@bp.route(f"/<{ID}:task_id>")
class TaskItem(MethodView):
    @bp.response(200, TaskSchema)
    def get(self, task_id):
        """One task."""
        return _task_or_404(task_id)

    @role_required(Role.MEMBER)
    @bp.arguments(TaskPatchSchema)
    @bp.response(200, TaskSchema)
    def patch(self, data, task_id):
        """Change some of a task's fields, or mark it done (is_done) or open again; the
        others keep their values. What it follows up stays."""
        task = _task_or_404(task_id)
        changed = [
            column
            for column in TASK_SUBJECT_COLUMNS
            if column in data and data[column] != getattr(task, column)
        ]
        if changed:
            raise Problem(
                422, errors=[{"field": column, "detail": str(FIXED_SUBJECT)} for column in changed]
            )
        if {"title", "due_date", "assignee_id"} & data.keys():
            users = services.assignable_users()
            if task.assignee is not None and task.assignee not in users:
                # As the page: a former assignee stays selectable, so other changes keep them.
                users = [*users, task.assignee]
            form = TaskForm(obj=task, users=users, formdata=None, meta={"csrf": False})
            form = validated_form(TaskForm, _formdata(data, form), users=users)
            saved(
                lambda: services.update_task(
                    task,
                    title=form.title.data,
                    due_date=form.due_date.data,
                    assignee=_assignee(form, users),
                    actor=current_user,
                )
            )
        if data.get("is_done") is not None:
            _mark(task, data["is_done"])
        db.session.commit()
        return task
