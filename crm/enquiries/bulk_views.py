"""Bulk actions on the enquiry list: assign, change status, export the chosen enquiries.

The list's form sends the ticked ids (or "all that match") and the action to the
confirmation page (GET, changes nothing), which says how many and asks for the details;
its POST changes each enquiry through the same service as the enquiry's own page.
"""

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, ValidationError

from crm.auth.decorators import role_required
from crm.auth.models import Role, User
from crm.core import bulk
from crm.core.csv_export import csv_response
from crm.core.forms import optional_id
from crm.enquiries import bp, services
from crm.enquiries.forms import _user_choices
from crm.enquiries.models import ClosedReason, Enquiry, EnquiryStatus
from crm.enquiries.views import EXPORT_HEADER, _filters_from_request, export_row
from crm.extensions import db

ACTIONS = {
    "assign": _l("Assign"),
    "status": _l("Change status"),
    "export": _l("Export CSV"),
}
MAX_FAILURES_SHOWN = 10
BULK_STATUSES = (EnquiryStatus.IN_PROGRESS, EnquiryStatus.WAITING, EnquiryStatus.CLOSED)


class BulkAssignForm(FlaskForm):
    assignee_id = SelectField(
        _l("Assign to"),
        coerce=optional_id,
        validators=[DataRequired(message=_l("Choose who is to take the enquiries."))],
    )
    submit = SubmitField(_l("Assign"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.assignee_id.choices = _user_choices(
            services.assignable_users(), empty=_l("— Choose —")
        )


class BulkStatusForm(FlaskForm):
    status = SelectField(
        _l("New status"),
        choices=lambda: (
            [SelectChoice("", _l("— Choose —"))]
            + [SelectChoice(status.value, status.label) for status in BULK_STATUSES]
        ),
        validators=[DataRequired(message=_l("Choose a status."))],
    )
    closed_reason = SelectField(
        _l("Reason for closing"),
        choices=lambda: [SelectChoice("", _l("— Choose when closing —"))] + ClosedReason.choices(),
        default="",
        description=_l("Needed when the enquiries are closed."),
    )
    submit = SubmitField(_l("Change status"))

    def validate_closed_reason(self, field):
        if self.status.data == "closed" and not field.data:
            raise ValidationError(_l("Choose why the enquiries are closed."))


def _form_for(action, **kwargs):
    kwargs["prefix"] = bulk.FORM_PREFIX.rstrip("-")
    if action == "assign":
        if not services.may_assign(current_user):
            abort(403)
        return BulkAssignForm(**kwargs)
    return BulkStatusForm(**kwargs)


def _list_url(query):
    return url_for("enquiries.index") + (f"?{query}" if query else "")


def _reference(enquiry):
    return enquiry.reference or f"#{enquiry.id}"


@bp.route("/bulk")
@role_required(Role.MEMBER)
def bulk_confirm():
    """How many enquiries were chosen, and the details of the action (or the CSV itself)."""

    action = request.args.get("action")
    query = bulk.filter_query(request.args)
    if action not in ACTIONS:
        flash(_("Choose what to do with the chosen enquiries."), "error")
        return redirect(_list_url(query))
    select = services.enquiry_select(_filters_from_request(), user=current_user)
    enquiries = bulk.chosen(select, Enquiry, request.args)
    if not enquiries:
        flash(_("Choose at least one enquiry."), "error")
        return redirect(_list_url(query))
    if len(enquiries) > bulk.MAX_RECORDS:
        flash(
            _("At most %(num)s enquiries can be changed at once.", num=bulk.MAX_RECORDS),
            "error",
        )
        return redirect(_list_url(query))
    if action == "export":
        filename = f"enquiries-selection-{date.today().isoformat()}.csv"
        return csv_response(filename, EXPORT_HEADER, [export_row(e) for e in enquiries])
    form = _form_for(action, formdata=None)
    return _render(action, form, enquiries, request.args)


@bp.route("/bulk", methods=["POST"])
@role_required(Role.MEMBER)
def bulk_apply():
    """Change each chosen enquiry the user may work on; one audit entry per enquiry."""

    action = request.form.get("action")
    query = bulk.filter_query(request.form)
    if action not in ("assign", "status"):
        abort(400)
    ids = bulk.chosen_ids(request.form.getlist("id"))
    # Read again through what the user may see: a member only ever reaches their own.
    readable = services.enquiry_select(services.EnquiryFilters(status=None), user=current_user)
    enquiries = bulk.by_ids(readable, Enquiry, ids)
    form = _form_for(action)
    if not enquiries:
        flash(_("None of the chosen enquiries can be changed by you."), "error")
        return redirect(_list_url(query))
    if not form.validate_on_submit():
        return _render(action, form, enquiries, request.form)
    if action == "assign":
        assignee = db.session.get(User, form.assignee_id.data)
        result = bulk.apply(
            enquiries,
            lambda enquiry: services.assign_enquiry(enquiry, assignee, actor=current_user),
            name=_reference,
        )
    else:
        result = bulk.apply(
            enquiries,
            lambda enquiry: services.change_status(
                enquiry,
                form.status.data,
                reason=form.closed_reason.data,
                actor=current_user,
            ),
            name=_reference,
        )
    db.session.commit()
    _flash_result(result)
    return redirect(_list_url(query))


def _render(action, form, enquiries, args):
    query = bulk.filter_query(args)
    return render_template(
        "enquiries/bulk.html",
        action=action,
        action_label=ACTIONS[action],
        form=form,
        enquiries=enquiries,
        query_pairs=bulk.filter_args(args),
        back_url=_list_url(query),
        reference_of=_reference,
        detail_url=lambda enquiry: url_for("enquiries.detail", enquiry_id=enquiry.id),
    )


def _flash_result(result):
    if result.changed:
        flash(
            ngettext("%(num)s enquiry changed.", "%(num)s enquiries changed.", result.changed),
            "success",
        )
    if result.unchanged:
        flash(
            ngettext(
                "%(num)s enquiry was already as chosen.",
                "%(num)s enquiries were already as chosen.",
                result.unchanged,
            ),
            "info",
        )
    for name, message in result.failed[:MAX_FAILURES_SHOWN]:
        flash(_("%(name)s was not changed: %(reason)s", name=name, reason=message), "error")
    if len(result.failed) > MAX_FAILURES_SHOWN:
        more = len(result.failed) - MAX_FAILURES_SHOWN
        flash(
            ngettext(
                "%(num)s more enquiry was not changed.",
                "%(num)s more enquiries were not changed.",
                more,
            ),
            "error",
        )
