"""Bulk actions on the enquiry list: assign, change status, export the chosen enquiries.

The list's form sends the ticked ids (or "all that match") and the action to the
confirmation page (GET, changes nothing), which says how many and asks for the details;
its POST changes each enquiry through the same service as the enquiry's own page. The
pages are crm/core/bulk.py's, in the enquiries' own words.
"""

from flask import flash, url_for
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
from crm.core.forms import optional_id
from crm.enquiries import bp, services
from crm.enquiries.forms import _user_choices
from crm.enquiries.models import ClosedReason, Enquiry, EnquiryStatus
from crm.enquiries.views import EXPORT_HEADER, _filters_from_request, export_row
from crm.extensions import db

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


def _assign(enquiry, form, actor):
    assignee = db.session.get(User, form.assignee_id.data)
    return services.assign_enquiry(enquiry, assignee, actor=actor)


def _change_status(enquiry, form, actor):
    return services.change_status(
        enquiry, form.status.data, reason=form.closed_reason.data, actor=actor
    )


def _reference(enquiry):
    return enquiry.reference or f"#{enquiry.id}"


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
    for name, message in result.failed[: bulk.MAX_FAILURES_SHOWN]:
        flash(_("%(name)s was not changed: %(reason)s", name=name, reason=message), "error")
    if len(result.failed) > bulk.MAX_FAILURES_SHOWN:
        more = len(result.failed) - bulk.MAX_FAILURES_SHOWN
        flash(
            ngettext(
                "%(num)s more enquiry was not changed.",
                "%(num)s more enquiries were not changed.",
                more,
            ),
            "error",
        )


ENQUIRIES = bulk.BulkList(
    list_endpoint="enquiries.index",
    bulk_endpoint="enquiries.bulk_apply",
    model=Enquiry,
    what=lambda num: ngettext("%(num)s enquiry", "%(num)s enquiries", num),
    name=_reference,
    url=lambda enquiry: url_for("enquiries.detail", enquiry_id=enquiry.id),
    actions={
        "assign": bulk.Action(_l("Assign"), BulkAssignForm, _assign, may=services.may_assign),
        "status": bulk.Action(_l("Change status"), BulkStatusForm, _change_status),
    },
    export_filename="enquiries",
    export_header=EXPORT_HEADER,
    export_row=export_row,
    template="enquiries/bulk.html",
    no_action=_l("Choose what to do with the chosen enquiries."),
    none_chosen=_l("Choose at least one enquiry."),
    too_many=_l("At most %(num)s enquiries can be changed at once."),
    none_to_change=_l("None of the chosen enquiries can be changed by you."),
    report=_flash_result,
)


@bp.route("/bulk")
@role_required(Role.MEMBER)
def bulk_confirm():
    """How many enquiries were chosen, and the details of the action (or the CSV itself)."""
    select = services.enquiry_select(_filters_from_request(), user=current_user)
    return bulk.confirm_page(ENQUIRIES, select, may_change=True)


@bp.route("/bulk", methods=["POST"])
@role_required(Role.MEMBER)
def bulk_apply():
    """Change each chosen enquiry the user may work on; one audit entry per enquiry."""
    # Read again through what the user may see: a member only ever reaches their own.
    readable = services.enquiry_select(services.EnquiryFilters(status=None), user=current_user)
    return bulk.apply_page(ENQUIRIES, readable, actor=current_user)
