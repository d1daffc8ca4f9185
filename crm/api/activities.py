"""/api/v1/activities: collaboration activities, with their organisations, contacts and staff."""

import marshmallow as ma
import sqlalchemy as sa
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from sqlalchemy.orm import selectinload

from crm.activities import services
from crm.activities.forms import MAX_ROWS, ActivityForm
from crm.activities.models import (
    Activity,
    ActivityKind,
    ActivityOrganisationRole,
    ActivityStatus,
)
from crm.activities.views import LIST_SORTS
from crm.agreements.models import Agreement
from crm.api.auth import lists_deleted
from crm.api.forms import (
    browser_formdata,
    check_references,
    record_reference,
    saved,
    set_field,
    set_rows,
    validated_form,
)
from crm.api.pagination import BAD_CURSOR, list_page, sort_argument
from crm.api.problems import Problem
from crm.api.schemas import ID, ListArgs, SoftDeletedSchema, StrictBoolean, list_schema, location_of
from crm.auth.decorators import role_required
from crm.auth.models import Role
from crm.core import records
from crm.extensions import db
from crm.organisations.models import Contact, Organisation, Sector

bp = Blueprint(
    "api_activities",
    __name__,
    url_prefix="/api/v1/activities",
    description="Activities: meetings, seminars, workshops, courses, joint projects …",
)

# The list page's orders, each ending in the id so that a cursor names one row.
SORTS = {
    key: columns if columns[-1] is Activity.id else [*columns, Activity.id]
    for key, columns in LIST_SORTS.items()
}
SORTS["created"] = [Activity.created_at, Activity.id]
SORTS["updated"] = [Activity.updated_at, Activity.id]
DEFAULT_SORT = "-date"
# The staff a form may list: every active user, so no row limit of the page's own.
MAX_STAFF = 200
MAX_TEXT = 20_000
TIME_FORMAT = "%H:%M"


def _id_field(**kwargs):
    return ma.fields.Integer(validate=ma.validate.Range(1, records.MAX_ID), **kwargs)


class ActivityOrganisationSchema(ma.Schema):
    organisation_id = _id_field(required=True)
    organisation_name = ma.fields.String(attribute="organisation.name", dump_only=True)
    role = ma.fields.Enum(
        ActivityOrganisationRole,
        by_value=True,
        metadata={"description": "Participant when left out."},
    )


class ActivityContactSchema(ma.Schema):
    id = _id_field(data_key="contact_id", required=True)
    name = ma.fields.String(attribute="full_name", dump_only=True)


class ActivityStaffSchema(ma.Schema):
    id = _id_field(data_key="user_id", required=True)
    name = ma.fields.String(dump_only=True)


def _time_field(description):
    return ma.fields.Time(
        format=TIME_FORMAT,
        allow_none=True,
        metadata={"description": description, "example": "14:30"},
    )


class ActivitySchema(SoftDeletedSchema):
    kind = ma.fields.Enum(ActivityKind, by_value=True, required=True)
    title = ma.fields.String(required=True, validate=ma.validate.Length(1, 300))
    start_date = ma.fields.Date(required=True)
    start_time = _time_field("HH:MM in the office's time zone; null for an all-day activity.")
    end_date = ma.fields.Date(allow_none=True, metadata={"description": "Null for one day."})
    end_time = _time_field("HH:MM in the office's time zone, or null.")
    place = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=300))
    is_online = StrictBoolean()
    status = ma.fields.Enum(
        ActivityStatus, by_value=True, metadata={"description": "Planned when left out."}
    )
    organisations = ma.fields.List(
        ma.fields.Nested(ActivityOrganisationSchema),
        validate=ma.validate.Length(max=MAX_ROWS),
        metadata={"description": "The organisations taking part, each with its role."},
    )
    contacts = ma.fields.List(
        ma.fields.Nested(ActivityContactSchema), validate=ma.validate.Length(max=MAX_ROWS)
    )
    staff = ma.fields.List(
        ma.fields.Nested(ActivityStaffSchema),
        validate=ma.validate.Length(max=MAX_STAFF),
        metadata={
            "description": "Our staff (active users); on create, the token's user when left out."
        },
    )
    agreement_id = _id_field(
        allow_none=True, metadata={"description": "The agreement it is held under."}
    )
    description = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=MAX_TEXT))
    outcome = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=MAX_TEXT))
    is_public = StrictBoolean(
        metadata={"description": "Shown on the public page; needs a public summary."}
    )
    public_summary = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=MAX_TEXT))


class ActivityPatchSchema(ActivitySchema):
    """Any of the fields; those left out keep their values."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


class ActivityListArgs(ListArgs):
    kind = ma.fields.Enum(ActivityKind, by_value=True)
    status = ma.fields.Enum(ActivityStatus, by_value=True)
    organisation_id = _id_field(metadata={"description": "Activities the organisation was in."})
    sector = ma.fields.Enum(
        Sector, by_value=True, metadata={"description": "With an organisation of this sector."}
    )
    staff = _id_field(metadata={"description": "A user's id: activities they were staff on."})
    date_from = ma.fields.Date(
        data_key="from", metadata={"description": "Going on at some time on or after this day."}
    )
    date_to = ma.fields.Date(
        data_key="to", metadata={"description": "Going on at some time on or before this day."}
    )
    deleted = ma.fields.Boolean(
        metadata={"description": "List the deleted ones (coordinators and admins)."}
    )
    sort = sort_argument(SORTS, DEFAULT_SORT)


ActivityList = list_schema(ActivitySchema, "ActivityList")


def _activity_or_404(activity_id, *, include_deleted=False):
    return records.get_visible_or_404(Activity, activity_id, include_deleted=include_deleted)


def _check_references(data, activity=None):
    check_references(
        [("agreement_id", Agreement, data.get("agreement_id"))]
        + [
            (f"organisations.{index}.organisation_id", Organisation, row["organisation_id"])
            for index, row in enumerate(data.get("organisations") or [])
        ]
        + [
            (f"contacts.{index}.contact_id", Contact, row["id"])
            for index, row in enumerate(data.get("contacts") or [])
        ],
        kept=ActivityForm.linked_records(activity) if activity else (),
    )


def _set_contacts(formdata, contact_ids):
    """The contact rows (a FieldList of pickers: contacts-0, contacts-1, …) replaced; one
    empty row when there are none, as the page always shows one."""
    for key in [key for key in formdata if key.startswith("contacts-")]:
        formdata.poplist(key)
    for index, contact_id in enumerate(contact_ids or [None]):
        set_field(formdata, f"contacts-{index}", record_reference(contact_id))


def _formdata(data, activity=None):
    """The activity form as the page sends it, with the JSON's fields changed."""
    kwargs = {"formdata": None, "meta": {"csrf": False}}
    if activity is not None:
        form = ActivityForm.for_activity(activity, **kwargs)
    else:
        form = ActivityForm(**kwargs)
        # The new-activity page ticks the signed-in user as staff.
        form.staff.data = [current_user.id]
    formdata = browser_formdata(form)
    for name, value in data.items():
        if name == "organisations":
            rows = [
                {
                    "organisation": record_reference(row["organisation_id"]),
                    "role": row.get("role") or ActivityOrganisationRole.PARTICIPANT,
                }
                for row in value or []
            ] or [{"organisation": "", "role": ActivityOrganisationRole.PARTICIPANT}]
            set_rows(formdata, "organisations", rows)
        elif name == "contacts":
            _set_contacts(formdata, [row["id"] for row in value or []])
        elif name == "staff":
            set_field(formdata, "staff", [row["id"] for row in value or []])
        elif name in ("start_time", "end_time"):
            set_field(formdata, name, value.strftime(TIME_FORMAT) if value else None)
        else:
            set_field(formdata, name, value)
    return formdata


@bp.route("/")
class Activities(MethodView):
    @bp.arguments(ActivityListArgs, location="query", unknown=ma.RAISE)
    @bp.response(200, ActivityList)
    def get(self, args):
        """List activities, with the list page's filters and sort orders."""
        deleted = lists_deleted(args)
        organisation = None
        if args.get("organisation_id"):
            organisation = db.session.get(Organisation, args["organisation_id"])
        filters = services.ActivityFilters(
            kind=args["kind"].value if args.get("kind") else None,
            status=args["status"].value if args.get("status") else None,
            organisation=organisation,
            sector=args["sector"].value if args.get("sector") else None,
            staff_id=args.get("staff"),
            date_from=args.get("date_from"),
            date_to=args.get("date_to"),
            deleted=deleted,
        )
        select = services.activity_select(filters).options(selectinload(Activity.contacts))
        if args.get("organisation_id") and organisation is None:
            select = select.where(sa.false())  # no such organisation: none of its activities
        try:
            return list_page(
                select, SORTS, args, default_sort=DEFAULT_SORT, updated_column=Activity.updated_at
            )
        except sa.exc.StatementError as error:
            # A cursor made up with a kind no activity has: crm/api/pagination.py checks a
            # cursor's values by type, not an enum's values, and SQLAlchemy refuses to bind it.
            if not isinstance(error.orig, LookupError):
                raise
            db.session.rollback()
            raise Problem(
                400, BAD_CURSOR, errors=[{"field": "cursor", "detail": str(BAD_CURSOR)}]
            ) from None

    @role_required(Role.MEMBER)
    @bp.arguments(ActivitySchema)
    @bp.response(201, ActivitySchema)
    def post(self, data):
        """Log an activity (members, coordinators, admins)."""
        _check_references(data)
        form = validated_form(ActivityForm, _formdata(data))
        activity = saved(
            lambda: services.create_activity(form.data_for_service(), actor=current_user)
        )
        db.session.commit()
        return activity, 201, location_of(activity)


@bp.route(f"/<{ID}:activity_id>")
class ActivityItem(MethodView):
    @bp.response(200, ActivitySchema)
    def get(self, activity_id):
        """One activity."""
        return _activity_or_404(
            activity_id, include_deleted=current_user.has_role(Role.COORDINATOR)
        )

    @role_required(Role.MEMBER)
    @bp.arguments(ActivityPatchSchema)
    @bp.response(200, ActivitySchema)
    def patch(self, data, activity_id):
        """Change some of an activity's fields; the others keep their values. A list given
        (organisations, contacts, staff) replaces the activity's."""
        activity = _activity_or_404(activity_id)
        _check_references(data, activity)
        form = validated_form(ActivityForm, _formdata(data, activity), activity=activity)
        saved(
            lambda: services.update_activity(activity, form.data_for_service(), actor=current_user)
        )
        db.session.commit()
        return activity

    @role_required(Role.COORDINATOR)
    @bp.response(204)
    def delete(self, activity_id):
        """Delete an activity (coordinators and admins); it can be restored on its page."""
        activity = _activity_or_404(activity_id)
        records.soft_delete(activity, actor=current_user)
        db.session.commit()
        return None
