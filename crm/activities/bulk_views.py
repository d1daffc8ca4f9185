"""Bulk actions on the activity list: change the status, export the chosen rows. See
crm/core/bulk.py."""

from dataclasses import replace

from flask import url_for
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired

from crm.activities import bp, views
from crm.activities.models import Activity, ActivityStatus
from crm.activities.services import ActivityFilters, activity_select, update_activity
from crm.auth.decorators import role_required
from crm.auth.models import Role
from crm.core import bulk


class StatusForm(FlaskForm):
    status = SelectField(
        _l("New status"),
        choices=lambda: [SelectChoice("", _l("— Choose —"))] + ActivityStatus.choices(),
        validators=[DataRequired(message=_l("Choose a status."))],
    )


def _change_status(activity, form, actor):
    status = ActivityStatus(form.status.data)
    if activity.status == status:
        return False
    update_activity(activity, {"status": status}, actor=actor)
    return True


ACTIVITIES = bulk.BulkList(
    list_endpoint="activities.index",
    bulk_endpoint="activities.bulk_apply",
    model=Activity,
    what=lambda num: ngettext("%(num)s activity", "%(num)s activities", num),
    name=lambda activity: activity.title,
    url=lambda activity: url_for("activities.detail", activity_id=activity.id),
    actions={"status": bulk.Action(_l("Change status"), StatusForm, _change_status)},
    export_filename="activities",
    export_header=views.EXPORT_HEADER,
    export_row=views.export_row,
)


@bp.route("/bulk")
def bulk_confirm():
    # Deleted rows are only restored, one by one: bulk actions reach the live ones.
    filters = replace(views._filters_from_request(), deleted=False)
    return bulk.confirm_page(
        ACTIVITIES,
        activity_select(filters).order_by(Activity.start_date.desc(), Activity.id.desc()),
        may_change=current_user.has_role(Role.MEMBER),
    )


@bp.route("/bulk", methods=["POST"])
@role_required(Role.MEMBER)
def bulk_apply():
    return bulk.apply_page(ACTIVITIES, activity_select(ActivityFilters()), actor=current_user)
