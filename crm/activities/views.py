"""Activity pages: list, export, detail, create, edit, quick-log, delete and restore."""

from datetime import date

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.activities import bp
from crm.activities.forms import ActivityForm, QuickLogForm
from crm.activities.models import Activity, ActivityKind, ActivityStatus
from crm.activities.quicklog_services import quick_log
from crm.activities.services import (
    ActivityFilters,
    activity_select,
    create_activity,
    update_activity,
)
from crm.activities.task_services import assignable_users, open_tasks_about
from crm.auth.decorators import role_required
from crm.auth.models import Role
from crm.auth.services import active_users
from crm.core import audit, records
from crm.core.csv_export import csv_response
from crm.core.deletion import confirm_delete, restore_deleted
from crm.core.forms import ConfirmForm, save_or_show_error
from crm.core.listing import paginate, sort_order
from crm.core.types import enum_value
from crm.documents.services import documents_for
from crm.extensions import db
from crm.mail.services import emails_on_activity
from crm.organisations.models import Contact, Organisation, Sector
from crm.saved_views import views as saved_views

LIST_SORTS = {
    "date": [Activity.start_date, Activity.id],
    "title": [Activity.title, Activity.id],
    "kind": [Activity.kind, Activity.start_date],
}
DEFAULT_SORT = "-date"
FILTER_NAMES = ("kind", "status", "organisation_id", "sector", "staff", "from", "to")


def _date_arg(name):
    try:
        return date.fromisoformat(request.args.get(name, "").strip())
    except ValueError:
        return None


def _filters_from_request():
    args = request.args
    organisation = None
    organisation_id = records.parse_id(args.get("organisation_id"))
    if organisation_id:
        organisation = db.session.get(Organisation, organisation_id)
    return ActivityFilters(
        kind=enum_value(ActivityKind, args.get("kind")),
        status=enum_value(ActivityStatus, args.get("status")),
        organisation=organisation,
        sector=enum_value(Sector, args.get("sector")),
        staff_id=records.parse_id(args.get("staff")),
        date_from=_date_arg("from"),
        date_to=_date_arg("to"),
        deleted=args.get("deleted") == "1" and current_user.has_role(Role.COORDINATOR),
    )


def _activity_or_404(activity_id, *, include_deleted=False):
    return records.get_visible_or_404(Activity, activity_id, include_deleted=include_deleted)


@bp.route("/")
def index():
    default = saved_views.default_redirect("activities")
    if default is not None:
        return default
    filters = _filters_from_request()
    current_sort, order = sort_order(LIST_SORTS, DEFAULT_SORT)
    page = paginate(activity_select(filters).order_by(*order))
    return render_template(
        "activities/index.html",
        page=page,
        filters=filters,
        current_sort=current_sort,
        kinds=ActivityKind,
        statuses=ActivityStatus,
        sectors=Sector,
        users=active_users(),
        filtered=any(request.args.get(name) for name in FILTER_NAMES),
        restore_form=ConfirmForm(),
    )


EXPORT_HEADER = (
    "id",
    "kind",
    "title",
    "start_date",
    "start_time",
    "end_date",
    "end_time",
    "status",
    "place",
    "is_online",
    "organisations",
    "staff",
    "outcome",
    "is_public",
    "public_summary",
)


def _time(value):
    return value.strftime("%H:%M") if value else None


def export_row(activity):
    """One activity as a row of the CSV export (EXPORT_HEADER's columns)."""
    return (
        activity.id,
        activity.kind.value,
        activity.title,
        activity.start_date.isoformat(),
        _time(activity.start_time),
        activity.end_date.isoformat() if activity.end_date else None,
        _time(activity.end_time),
        activity.status.value,
        activity.place,
        activity.is_online,
        "; ".join(
            sorted(
                f"{link.organisation.name} ({link.role.value})" for link in activity.organisations
            )
        ),
        "; ".join(sorted(user.name for user in activity.staff)),
        activity.outcome,
        activity.is_public,
        activity.public_summary,
    )


@bp.route("/export.csv")
def export():
    """Every activity the list's filters and sort select, not only one page."""
    filters = _filters_from_request()
    _current_sort, order = sort_order(LIST_SORTS, DEFAULT_SORT)
    activities = db.session.scalars(activity_select(filters).order_by(*order)).all()
    rows = [export_row(activity) for activity in activities]
    return csv_response(f"activities-{date.today().isoformat()}.csv", EXPORT_HEADER, rows)


@bp.route("/<int:activity_id>")
def detail(activity_id):
    activity = _activity_or_404(
        activity_id, include_deleted=current_user.has_role(Role.COORDINATOR)
    )
    links = sorted(activity.organisations, key=lambda link: link.organisation.name.lower())
    return render_template(
        "activities/detail.html",
        activity=activity,
        links=links,
        contacts=sorted(activity.contacts, key=lambda contact: contact.full_name.lower()),
        staff=sorted(activity.staff, key=lambda user: user.name.lower()),
        history=audit.history("activities", activity.id),
        documents=documents_for(activity),
        tasks=open_tasks_about(activity),
        emails=emails_on_activity(activity),
        confirm_form=ConfirmForm(),
    )


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.MEMBER)
def create():
    form = ActivityForm()
    if request.method == "GET":
        form.staff.data = [current_user.id]
        organisation_id = records.parse_id(request.args.get("organisation_id"))
        organisation = db.session.get(Organisation, organisation_id) if organisation_id else None
        if organisation is not None and not organisation.is_deleted:
            form.organisations[0].organisation.data = organisation
        contact_id = records.parse_id(request.args.get("contact_id"))
        contact = db.session.get(Contact, contact_id) if contact_id else None
        if contact is not None and not contact.is_deleted:
            form.contacts[0].data = contact
    if form.wants_another_row():
        return render_template("activities/form.html", form=form, activity=None)
    if form.validate_on_submit():
        activity = save_or_show_error(
            form, lambda: create_activity(form.data_for_service(), actor=current_user)
        )
        if activity is not None:
            db.session.commit()
            flash(_("Activity %(title)s saved.", title=activity.title), "success")
            return redirect(url_for("activities.detail", activity_id=activity.id))
    return render_template("activities/form.html", form=form, activity=None)


@bp.route("/<int:activity_id>/edit", methods=["GET", "POST"])
@role_required(Role.MEMBER)
def edit(activity_id):
    activity = _activity_or_404(activity_id)
    if request.method == "POST":
        form = ActivityForm(activity=activity)
    else:
        form = ActivityForm.for_activity(activity)
    if form.wants_another_row():
        return render_template("activities/form.html", form=form, activity=activity)
    if form.validate_on_submit():
        saved = save_or_show_error(
            form,
            lambda: update_activity(activity, form.data_for_service(), actor=current_user),
        )
        if saved is not None:
            db.session.commit()
            flash(_("Activity %(title)s saved.", title=activity.title), "success")
            return redirect(url_for("activities.detail", activity_id=activity.id))
        activity = _activity_or_404(activity_id)
    return render_template("activities/form.html", form=form, activity=activity)


@bp.route("/quick", methods=["GET", "POST"])
@role_required(Role.MEMBER)
def quick():
    """Log an activity; organisations and contacts not in the register yet are created with
    it, and a follow-up task too, in one commit."""
    form = QuickLogForm(users=assignable_users())
    if request.method == "GET":
        form.task_assignee_id.data = current_user.id
        organisation_id = records.parse_id(request.args.get("organisation_id"))
        organisation = db.session.get(Organisation, organisation_id) if organisation_id else None
        if organisation is not None and not organisation.is_deleted:
            form.organisations[0].form.name.data = organisation
        contact_id = records.parse_id(request.args.get("contact_id"))
        contact = db.session.get(Contact, contact_id) if contact_id else None
        if contact is not None and not contact.is_deleted:
            form.contacts[0].form.name.data = contact
            if form.organisations[0].form.name.data is None and contact.organisation is not None:
                form.organisations[0].form.name.data = contact.organisation
    if form.wants_another_row():
        return render_template("activities/quick.html", form=form)
    if form.validate_on_submit():
        activity = save_or_show_error(
            form,
            lambda: quick_log(
                form.data_for_service(staff=current_user, today=date.today()),
                actor=current_user,
            ),
        )
        if activity is not None:
            db.session.commit()
            flash(_("Activity %(title)s logged.", title=activity.title), "success")
            return redirect(url_for("activities.detail", activity_id=activity.id))
    return render_template("activities/quick.html", form=form)


@bp.route("/<int:activity_id>/delete", methods=["GET", "POST"])
@role_required(Role.COORDINATOR)
def delete(activity_id):
    activity = _activity_or_404(activity_id)
    return confirm_delete(
        activity,
        template="activities/delete.html",
        activity=activity,
        done_message=_(
            "Activity %(title)s deleted. A coordinator can restore it.", title=activity.title
        ),
        done_url=url_for("activities.index"),
    )


@bp.route("/<int:activity_id>/restore", methods=["POST"])
@role_required(Role.COORDINATOR)
def restore(activity_id):
    activity = _activity_or_404(activity_id, include_deleted=True)
    return restore_deleted(
        activity,
        done_message=_("Activity %(title)s restored.", title=activity.title),
        done_url=url_for("activities.detail", activity_id=activity.id),
    )
