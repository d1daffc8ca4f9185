"""Task pages: my tasks (and everyone's), create from a subject, edit, complete, reopen."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.activities import task_services as services
from crm.activities import tasks_bp as bp
from crm.activities.models import TASK_SUBJECT_COLUMNS, Task
from crm.activities.task_forms import TaskActionForm, TaskForm
from crm.activities.task_subjects import registered_subject
from crm.auth.decorators import role_required
from crm.auth.models import Role
from crm.core import audit, records
from crm.core.dates import local_today
from crm.core.forms import show_error
from crm.core.listing import paginate
from crm.core.security import is_safe_next
from crm.extensions import db


def _subject_from_args():
    """(column, record) named by ?organisation_id=… etc.; 404 when it is unknown, deleted or
    not readable; (None, None) when none is named."""
    named = [column for column in TASK_SUBJECT_COLUMNS if column in request.args]
    if not named:
        return None, None
    if len(named) > 1:
        abort(404)
    column = named[0]
    model = registered_subject(column).model
    record = records.get_visible_or_404(model, records.parse_id(request.args.get(column)))
    if not services.may_see_subject(column, record, current_user):
        abort(404)
    return column, record


def _task_or_404(task_id):
    task = records.get_visible_or_404(Task, task_id)
    if not services.may_see(task, current_user):
        abort(404)
    return task


def _subject_context(column, record):
    if record is None:
        return None
    url = services.subject_url(column, record)
    if not services.may_see_subject(column, record, current_user):
        url = None
    return {
        "label": registered_subject(column).label,
        "name": services.subject_name(column, record),
        "url": url,
    }


def _next_url():
    target = request.values.get("next")
    return target if is_safe_next(target) else None


def _after_save(task):
    target = _next_url()
    if target:
        return redirect(target)
    column, record = services.subject_of(task)
    url = services.subject_url(column, record) if record is not None else None
    return redirect(url or url_for("tasks.index"))


def _assignee(form, users):
    return next((user for user in users if user.id == form.assignee_id.data), None)


# ---------------------------------------------------------------- list


def _filters_from_request():
    state = "done" if request.args.get("state") == "done" else "open"
    raw = request.args.get("assignee", "")
    assignee = "all" if raw == "all" else records.parse_id(raw)
    return services.TaskFilters(state=state, assignee=assignee)


@bp.route("/")
def index():
    filters = _filters_from_request()
    page = paginate(services.task_select(filters, user=current_user))
    today = local_today()
    rows = []
    for task in page.items:
        column, record = services.subject_of(task)
        rows.append(
            {
                "task": task,
                "overdue": services.is_overdue(task, today),
                "due_today": not task.is_done and task.due_date == today,
                "subject": _subject_context(column, record),
            }
        )
    return render_template(
        "tasks/index.html",
        page=page,
        rows=rows,
        filters=filters,
        users=services.assignable_users(),
        action_form=TaskActionForm(),
        may_edit=current_user.has_role(Role.MEMBER),
        mine=filters.assignee is None,
    )


# ---------------------------------------------------------------- create and edit


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.MEMBER)
def create():
    column, subject = _subject_from_args()
    users = services.assignable_users()
    form = TaskForm(users=users)
    if request.method == "GET" and current_user.id in {user.id for user in users}:
        form.assignee_id.data = current_user.id
    if form.validate_on_submit():
        try:
            task = services.create_task(
                title=form.title.data,
                due_date=form.due_date.data,
                assignee=_assignee(form, users),
                subject=subject,
                subject_kind=column,
                actor=current_user,
            )
        except services.TaskError as error:
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("Task saved."), "success")
            return _after_save(task)
    return render_template(
        "tasks/form.html",
        form=form,
        task=None,
        subject=_subject_context(column, subject),
        next_url=_next_url(),
    )


@bp.route("/<int:task_id>/edit", methods=["GET", "POST"])
@role_required(Role.MEMBER)
def edit(task_id):
    task = _task_or_404(task_id)
    users = services.assignable_users()
    if task.assignee is not None and task.assignee not in users:
        # Keep a former assignee selectable, so saving other changes does not drop them.
        users = [*users, task.assignee]
    form = TaskForm(obj=task, users=users)
    if form.validate_on_submit():
        try:
            services.update_task(
                task,
                title=form.title.data,
                due_date=form.due_date.data,
                assignee=_assignee(form, users),
                actor=current_user,
            )
        except services.TaskError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("Task saved."), "success")
            return _after_save(task)
    column, subject = services.subject_of(task)
    return render_template(
        "tasks/form.html",
        form=form,
        task=task,
        subject=_subject_context(column, subject),
        next_url=_next_url(),
        history=audit.history("tasks", task.id),
        action_form=TaskActionForm(),
    )


@bp.route("/<int:task_id>/complete", methods=["POST"])
@role_required(Role.MEMBER)
def complete(task_id):
    task = _task_or_404(task_id)
    form = TaskActionForm()
    if form.validate_on_submit():
        if services.complete_task(task, actor=current_user):
            db.session.commit()
            flash(_("Task marked as done."), "success")
    else:
        flash(_("The form had expired. Please send it again."), "error")
    return _after_save(task)


@bp.route("/<int:task_id>/reopen", methods=["POST"])
@role_required(Role.MEMBER)
def reopen(task_id):
    task = _task_or_404(task_id)
    form = TaskActionForm()
    if form.validate_on_submit():
        if services.reopen_task(task, actor=current_user):
            db.session.commit()
            flash(_("Task reopened."), "success")
    else:
        flash(_("The form had expired. Please send it again."), "error")
    return _after_save(task)
