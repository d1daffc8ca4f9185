"""Staff triage of enquiries: the inbox, its export, an enquiry's page, and the actions on it
(assign, comment, status, task, convert).

Admins and coordinators read and work every enquiry; members only those assigned to them;
another's enquiry answers 404, its actions included (SPEC §4). Viewers have no access.
"""

from datetime import date, timedelta

import sqlalchemy as sa
from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import selectinload

from crm.activities import task_services
from crm.auth.decorators import role_required
from crm.auth.models import Role, User
from crm.core import audit, records
from crm.core.csv_export import csv_response
from crm.core.listing import paginate
from crm.core.types import enum_value, utcnow
from crm.enquiries import bots, bp, services
from crm.enquiries.forms import (
    AssignForm,
    CommentForm,
    ConvertForm,
    ReplyForm,
    StatusForm,
    TaskForm,
)
from crm.enquiries.models import Enquiry, EnquiryComment, EnquirySource, EnquiryStatus, Topic
from crm.extensions import db
from crm.mail.models import EmailDirection
from crm.organisations.models import OrganisationKind
from crm.saved_views import views as saved_views

AGE_CHOICES = (1, 3, 7, 14, 30, 90)
MAX_AGE_DAYS = 3650
MATCH_REASONS = {
    "contact": _l("the contact with this e-mail address works there"),
    "domain": _l("it uses the e-mail address's domain"),
    "name": _l("it has the organisation name the sender gave"),
    "email": _l("a contact has this e-mail address"),
}
audit.describe_actions(
    {
        "assign": _l("assigned"),
        "status": _l("changed the status"),
        "comment": _l("commented"),
        "task": _l("added a task"),
        "convert": _l("converted"),
        "reply": _l("replied to the enquirer"),
    }
)
EXPORT_HEADER = (
    "reference",
    "received_at",
    "status",
    "closed_reason",
    "topic",
    "name",
    "email",
    "phone",
    "organisation_name",
    "organisation_type",
    "language",
    "assignee_email",
    "assigned_at",
    "first_response_at",
    "converted_at",
    "closed_at",
    "organisation",
    "organisation_id",
    "contact_id",
)


def get_enquiry_or_404(enquiry_id):
    """The enquiry, or 404 when it does not exist, is deleted, or the user may not read it."""

    enquiry_id = records.parse_id(enquiry_id)
    enquiry = None
    if enquiry_id:
        enquiry = db.session.get(
            Enquiry,
            enquiry_id,
            options=[
                selectinload(Enquiry.comments).selectinload(EnquiryComment.author),
                selectinload(Enquiry.assignee),
                selectinload(Enquiry.consent_text),
            ],
        )
    if not services.can_read(enquiry, current_user):
        abort(404)
    return enquiry


@bp.context_processor
def _helpers():
    return {"duration": _duration}


def _duration(start, end):
    """ "3 days", "2 hours": how long from `start` to `end`, in the page's language."""
    if start is None or end is None:
        return None
    return format_timedelta(max(end - start, timedelta(0)), granularity="minute")


# ---------------------------------------------------------------- inbox and export


def _filters_from_request():
    """The inbox's filters from the query string; values that mean nothing are ignored."""

    args = request.args
    status = args.get("status", services.OPEN)
    if status == "all":
        status = None
    elif status not in {services.OPEN} | {member.value for member in EnquiryStatus}:
        status = services.OPEN
    topic = enum_value(Topic, args.get("topic"))
    assignee = None
    if current_user.has_role(Role.COORDINATOR):
        raw = args.get("assignee", "")
        assignee = "none" if raw == "none" else records.parse_id(raw)
    age = records.parse_id(args.get("age"))
    return services.EnquiryFilters(
        status=status,
        topic=topic,
        assignee=assignee,
        older_than_days=age if age and age <= MAX_AGE_DAYS else None,
        query=args.get("q", "").strip()[:200],
    )


def _is_filtered(filters):

    return bool(
        filters.status != services.OPEN
        or filters.topic
        or filters.assignee
        or filters.older_than_days
        or filters.query
    )


@bp.route("/")
@role_required(Role.MEMBER)
def index():
    default = saved_views.default_redirect("enquiries")
    if default is not None:
        return default
    filters = _filters_from_request()
    page = paginate(services.enquiry_select(filters, user=current_user))
    export_args = request.args.to_dict(flat=False)
    export_args.pop("page", None)
    export_args.pop("per_page", None)
    return render_template(
        "enquiries/index.html",
        page=page,
        filters=filters,
        filtered=_is_filtered(filters),
        statuses=list(EnquiryStatus),
        topics=list(Topic),
        age_choices=AGE_CHOICES,
        assignees=[user for user, _count in services.assignable_users()]
        if current_user.has_role(Role.COORDINATOR)
        else [],
        export_url=url_for("enquiries.export", **export_args),
        now=utcnow(),
        # What the contact form turned away as automated: for admins, who look after it.
        turned_away=bots.turned_away_counts() if current_user.has_role(Role.ADMIN) else None,
    )


@bp.route("/export.csv")
@role_required(Role.MEMBER)
def export():
    """Every enquiry the inbox shows for these filters (not only one page), in its order."""

    filters = _filters_from_request()
    select = services.enquiry_select(filters, user=current_user).execution_options(yield_per=500)

    def rows():
        for enquiry in db.session.scalars(select):
            yield export_row(enquiry)

    filename = f"enquiries-{date.today().isoformat()}.csv"
    return csv_response(filename, EXPORT_HEADER, stream_with_context(rows()))


def _iso(moment):
    return moment.isoformat() if moment else None


def export_row(enquiry):
    """One enquiry as a row of the CSV export (EXPORT_HEADER's columns)."""
    return (
        enquiry.reference,
        _iso(enquiry.received_at),
        enquiry.status.value,
        enquiry.closed_reason.value if enquiry.closed_reason else None,
        enquiry.topic.value,
        enquiry.name,
        enquiry.email,
        enquiry.phone,
        enquiry.organisation_name,
        enquiry.organisation_type,
        enquiry.language,
        enquiry.assignee.email if enquiry.assignee else None,
        _iso(enquiry.assigned_at),
        _iso(enquiry.first_response_at),
        _iso(enquiry.converted_at),
        _iso(enquiry.closed_at),
        enquiry.organisation.name if enquiry.organisation else None,
        enquiry.organisation_id,
        enquiry.contact_id,
    )


# ---------------------------------------------------------------- detail


def _convert_form_for(enquiry, organisation, contact):
    """The conversion form prefilled from the enquiry and its likely matches."""

    first_name, last_name = services.split_name(enquiry.name)
    kinds = {member.value for member in OrganisationKind}
    return ConvertForm(
        formdata=None,
        data={
            "organisation_mode": "existing" if organisation else "new",
            "organisation": organisation,
            "org_name": enquiry.organisation_name or "",
            "org_kind": enquiry.organisation_type
            if enquiry.organisation_type in kinds
            else OrganisationKind.COMPANY.value,
            "contact_mode": "existing" if contact else "new",
            "contact": contact,
            "first_name": first_name,
            "last_name": last_name,
            "email": enquiry.email or "",
            "phone": enquiry.phone or "",
            "activity_title": _("First meeting with %(name)s", name=enquiry.organisation_name)
            if enquiry.organisation_name
            else "",
        },
    )


def _organisation_type_label(value):

    try:
        return OrganisationKind(value).label if value else None
    except ValueError:
        return value


def _render_detail(enquiry, **forms):
    """The enquiry's page; `forms` holds a submitted form to show again with its errors."""

    is_coordinator = current_user.has_role(Role.COORDINATOR)
    users = services.assignable_users()
    match_organisation = match_contact = match_reason = None
    if enquiry.status.is_open and enquiry.organisation_id is None:
        match_organisation, match_contact, match_reason = services.match_organisation_and_contact(
            enquiry
        )
    suggestion, suggested_by_topic = None, False
    if is_coordinator and enquiry.status.is_open:
        suggestion, suggested_by_topic = services.suggestion_for(enquiry)
        if suggestion is not None and suggestion.id == enquiry.assignee_id:
            suggestion = None
    statuses = services.status_choices(enquiry, current_user)
    if "assign_form" not in forms:
        forms["assign_form"] = AssignForm(formdata=None, users_with_counts=users)
    if "comment_form" not in forms:
        forms["comment_form"] = CommentForm(formdata=None)
    if "status_form" not in forms:
        forms["status_form"] = StatusForm(formdata=None, statuses=statuses)
    if "task_form" not in forms:
        forms["task_form"] = TaskForm(formdata=None, users_with_counts=users)
    if "convert_form" not in forms:
        forms["convert_form"] = _convert_form_for(enquiry, match_organisation, match_contact)
    may_reply = services.may_reply(enquiry, current_user)
    reply = _reply_choices(enquiry) if may_reply else {}
    if may_reply and "reply_form" not in forms:
        template = reply.get("reply_template")
        forms["reply_form"] = ReplyForm(
            formdata=None,
            data={
                "subject": services.reply_subject(enquiry),
                "body": template.body if template is not None else "",
            },
        )
    return render_template(
        "enquiries/detail.html",
        enquiry=enquiry,
        organisation_type_label=_organisation_type_label(enquiry.organisation_type),
        now=utcnow(),
        may_assign=is_coordinator and enquiry.status.is_open,
        may_change_status=bool(statuses),
        may_convert=enquiry.status.is_open,
        suggestion=suggestion,
        suggested_by_topic=suggested_by_topic,
        match_organisation=match_organisation,
        match_contact=match_contact,
        match_reason=MATCH_REASONS.get(match_reason),
        tasks=task_services.tasks_about(enquiry),
        history=audit.history("enquiries", enquiry.id),
        conversation=_conversation(enquiry),
        may_reply=may_reply,
        **reply,
        **forms,
    )


def _reply_choices(enquiry):
    """The reply form's template picker: the language chosen (the enquirer's at first), the
    templates grouped by language with that one first, and the template picked, if any."""
    languages = current_app.config["LANGUAGES"]
    language = request.args.get("reply_language")
    if language not in languages:
        language = enquiry.language if enquiry.language in languages else languages[0]
    templates = services.reply_templates()
    order = [language] + [other for other in languages if other != language]
    groups = [
        (code, [template for template in templates if template.language == code]) for code in order
    ]
    picked = records.parse_id(request.args.get("template"))
    template = next((item for item in templates if item.id == picked), None)
    return {
        "reply_language": language,
        "reply_template_groups": [(code, items) for code, items in groups if items],
        "reply_template": template,
    }


def _conversation(enquiry):
    """The stored e-mails after the enquiry's own message, with who sent the outgoing ones.

    An enquiry that came by e-mail already shows that e-mail as its message, so the first
    received one is left out."""
    emails = list(services.conversation(enquiry))
    if enquiry.source == EnquirySource.EMAIL:
        first_in = next(
            (email for email in emails if email.direction == EmailDirection.INCOMING), None
        )
        if first_in is not None:
            emails.remove(first_in)
    sender_ids = {email.sent_by_id for email in emails if email.sent_by_id}
    senders = {}
    if sender_ids:
        users = db.session.scalars(sa.select(User).where(User.id.in_(sender_ids)))
        senders = {user.id: user for user in users}
    return [(email, senders.get(email.sent_by_id)) for email in emails]


@bp.route("/<int:enquiry_id>")
@role_required(Role.MEMBER)
def detail(enquiry_id):
    return _render_detail(get_enquiry_or_404(enquiry_id))


def _reference(enquiry):
    return enquiry.reference or f"#{enquiry.id}"


def _back(enquiry):
    return redirect(url_for("enquiries.detail", enquiry_id=enquiry.id))


def _attach_error(form, error):
    """Show a service's refusal at its field when the form has one, else as a message."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, str(error)]
    else:
        flash(str(error), "error")


# ---------------------------------------------------------------- actions


@bp.route("/<int:enquiry_id>/assign", methods=["POST"])
@role_required(Role.MEMBER)
def assign(enquiry_id):

    enquiry = get_enquiry_or_404(enquiry_id)
    if not services.may_assign(current_user):
        abort(403)
    form = AssignForm(users_with_counts=services.assignable_users())
    if not form.validate_on_submit():
        return _render_detail(enquiry, assign_form=form)
    assignee = db.session.get(User, form.assignee_id.data)
    try:
        changed = services.assign_enquiry(enquiry, assignee, actor=current_user)
    except services.EnquiryError as error:
        db.session.rollback()
        _attach_error(form, error)
        return _render_detail(enquiry, assign_form=form)
    db.session.commit()
    if changed:
        flash(
            _(
                "%(reference)s is assigned to %(name)s, who has been told by e-mail.",
                reference=_reference(enquiry),
                name=assignee.name,
            ),
            "success",
        )
    else:
        flash(_("%(name)s already has this enquiry.", name=assignee.name), "info")
    return _back(enquiry)


@bp.route("/<int:enquiry_id>/comments", methods=["POST"])
@role_required(Role.MEMBER)
def comment(enquiry_id):

    enquiry = get_enquiry_or_404(enquiry_id)
    form = CommentForm()
    if not form.validate_on_submit():
        return _render_detail(enquiry, comment_form=form)
    try:
        services.add_comment(enquiry, form.body.data, actor=current_user)
    except services.EnquiryError as error:
        db.session.rollback()
        _attach_error(form, error)
        return _render_detail(enquiry, comment_form=form)
    db.session.commit()
    flash(_("Comment added."), "success")
    return _back(enquiry)


@bp.route("/<int:enquiry_id>/reply", methods=["POST"])
@role_required(Role.MEMBER)
def reply(enquiry_id):

    enquiry = get_enquiry_or_404(enquiry_id)
    if not services.may_reply(enquiry, current_user):
        abort(403)
    form = ReplyForm()
    if not form.validate_on_submit():
        return _render_detail(enquiry, reply_form=form)
    try:
        services.send_reply(
            enquiry, subject=form.subject.data, body=form.body.data, actor=current_user
        )
    except services.EnquiryError as error:
        db.session.rollback()
        _attach_error(form, error)
        return _render_detail(enquiry, reply_form=form)
    db.session.commit()
    flash(
        _("Your reply to %(email)s is queued for sending.", email=enquiry.email),
        "success",
    )
    return redirect(url_for("enquiries.detail", enquiry_id=enquiry.id, _anchor="conversation"))


@bp.route("/<int:enquiry_id>/status", methods=["POST"])
@role_required(Role.MEMBER)
def status(enquiry_id):

    enquiry = get_enquiry_or_404(enquiry_id)
    form = StatusForm(statuses=services.status_choices(enquiry, current_user))
    if not form.validate_on_submit():
        return _render_detail(enquiry, status_form=form)
    try:
        changed = services.change_status(
            enquiry, form.status.data, reason=form.closed_reason.data, actor=current_user
        )
    except services.EnquiryError as error:
        db.session.rollback()
        _attach_error(form, error)
        return _render_detail(enquiry, status_form=form)
    db.session.commit()
    if changed:
        flash(_("Status changed to %(status)s.", status=enquiry.status.label), "success")
    return _back(enquiry)


@bp.route("/<int:enquiry_id>/tasks", methods=["POST"])
@role_required(Role.MEMBER)
def task(enquiry_id):

    enquiry = get_enquiry_or_404(enquiry_id)
    form = TaskForm(users_with_counts=services.assignable_users())
    if not form.validate_on_submit():
        return _render_detail(enquiry, task_form=form)
    assignee = db.session.get(User, form.assignee_id.data) if form.assignee_id.data else None
    try:
        task_services.create_task(
            title=form.title.data,
            due_date=form.due_date.data,
            assignee=assignee,
            subject=enquiry,
            subject_kind="enquiry_id",
            actor=current_user,
        )
    except task_services.TaskError as error:
        db.session.rollback()
        _attach_error(form, error)
        return _render_detail(enquiry, task_form=form)
    db.session.commit()
    flash(_("Task added."), "success")
    return _back(enquiry)


@bp.route("/<int:enquiry_id>/convert", methods=["POST"])
@role_required(Role.MEMBER)
def convert(enquiry_id):

    enquiry = get_enquiry_or_404(enquiry_id)
    form = ConvertForm()
    if not enquiry.status.is_open:
        flash(_("Only an open enquiry can be converted."), "error")
        return _back(enquiry)
    if not form.validate_on_submit():
        return _render_detail(enquiry, convert_form=form)
    try:
        organisation, _contact, _activity = services.convert_enquiry(
            enquiry, **form.service_arguments(), actor=current_user
        )
    except services.EnquiryError as error:
        db.session.rollback()
        _attach_error(form, error)
        return _render_detail(enquiry, convert_form=form)
    db.session.commit()
    flash(
        _(
            "%(reference)s is converted and linked to %(organisation)s.",
            reference=_reference(enquiry),
            organisation=organisation.name,
        ),
        "success",
    )
    return _back(enquiry)
