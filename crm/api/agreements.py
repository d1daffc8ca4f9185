"""/api/v1/agreements: agreements with their parties, through the pages' form and services.

A status change goes through the same service as the agreement pages (update_agreement,
which change_status calls too), so the lifecycle's rules, the date rules and the
agreement.status_changed signal hold for the API as for the pages.
"""

import marshmallow as ma
import sqlalchemy as sa
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from sqlalchemy.orm import InstrumentedAttribute

from crm.agreements import services
from crm.agreements.forms import MAX_ROWS, AgreementForm, status_choices
from crm.agreements.lifecycle import ALLOWED_TRANSITIONS
from crm.agreements.models import Agreement, AgreementKind, AgreementStatus, PartyRole
from crm.agreements.views import LIST_SORTS, MAX_ENDING_DAYS
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
from crm.api.pagination import SortKey, list_page, sort_argument
from crm.api.schemas import ID, ListArgs, SoftDeletedSchema, StrictBoolean, list_schema, location_of
from crm.auth.decorators import role_required
from crm.auth.models import Role
from crm.core import records
from crm.extensions import db
from crm.organisations.models import Organisation

bp = Blueprint(
    "api_agreements",
    __name__,
    url_prefix="/api/v1/agreements",
    description="Agreements: framework agreements, MoUs, NDAs …, with their parties.",
)


def _keyset(columns):
    """The page's sort columns as a cursor continues them: its "no end date last"
    (`end_date IS NULL`) as a key read off each agreement."""
    keys = []
    for column in columns:
        if isinstance(column, InstrumentedAttribute):
            keys.append(column)
        else:
            name = column.left.key
            keys.append(
                SortKey(column, lambda agreement, name=name: getattr(agreement, name) is None, bool)
            )
    return keys


SORTS = {key: _keyset(columns) for key, columns in LIST_SORTS.items()}
SORTS["created"] = [Agreement.created_at, Agreement.id]
SORTS["updated"] = [Agreement.updated_at, Agreement.id]
DEFAULT_SORT = "title"

LIFECYCLE = "; ".join(
    f"{status.value} → {', '.join(target.value for target in targets) or '(final)'}"
    for status, targets in ALLOWED_TRANSITIONS.items()
)


class PartySchema(ma.Schema):
    organisation_id = ma.fields.Integer(
        required=True, strict=True, validate=ma.validate.Range(1, records.MAX_ID)
    )
    organisation_name = ma.fields.String(attribute="organisation.name", dump_only=True)
    role = ma.fields.Enum(
        PartyRole, by_value=True, metadata={"description": "party when left out."}
    )


class AgreementSchema(SoftDeletedSchema):
    kind = ma.fields.Enum(AgreementKind, by_value=True, required=True)
    title = ma.fields.String(required=True, validate=ma.validate.Length(1, 300))
    parties = ma.fields.List(
        ma.fields.Nested(PartySchema),
        required=True,
        validate=ma.validate.Length(1, MAX_ROWS),
        metadata={
            "description": "The organisations that sign or observe it, each once. A change "
            "gives the whole list."
        },
    )
    our_signatory = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=200))
    status = ma.fields.Enum(
        AgreementStatus,
        by_value=True,
        metadata={
            "description": "draft when left out. A new agreement starts as draft, negotiation, "
            f"signed or active; a change follows the lifecycle: {LIFECYCLE}. Signed, active "
            "and expired need signed_date."
        },
    )
    allowed_statuses = ma.fields.Method(
        "_allowed_statuses",
        dump_only=True,
        metadata={
            "type": "array",
            "items": {"type": "string", "enum": [status.value for status in AgreementStatus]},
            "description": "The statuses it may move to from its present one.",
        },
    )
    signed_date = ma.fields.Date(allow_none=True)
    start_date = ma.fields.Date(allow_none=True)
    end_date = ma.fields.Date(
        allow_none=True, metadata={"description": "null: it runs until further notice."}
    )
    renewal_notice_days = ma.fields.Integer(
        strict=True,
        validate=ma.validate.Range(0, 3650),
        metadata={"description": "How many days before the end date to decide on renewal."},
    )
    renewal_notice_date = ma.fields.Method(
        "_renewal_notice_date",
        dump_only=True,
        metadata={"type": ["string", "null"], "format": "date"},
    )
    owner_id = ma.fields.Integer(
        allow_none=True,
        strict=True,
        validate=ma.validate.Range(1, records.MAX_ID),
        metadata={"description": "A user's id; the token's user when left out of a new one."},
    )
    description = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=10_000))
    is_public = StrictBoolean(metadata={"description": "Listed on the public page."})
    covers_members = StrictBoolean(
        metadata={"description": "Signed by an association on behalf of its members."}
    )

    def _allowed_statuses(self, agreement):
        return [status.value for status in ALLOWED_TRANSITIONS[agreement.status]]

    def _renewal_notice_date(self, agreement):
        notice = services.renewal_notice_date(agreement)
        return notice.isoformat() if notice else None

    @ma.post_dump(pass_original=True)
    def _sorted_parties(self, data, agreement, **_kwargs):
        if isinstance(agreement, Agreement):
            data["parties"] = PartySchema(many=True).dump(services.sorted_parties(agreement))
        return data


class AgreementPatchSchema(AgreementSchema):
    """Any of the fields; those left out keep their values."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


class AgreementListArgs(ListArgs):
    q = ma.fields.String(
        validate=ma.validate.Length(max=200), metadata={"description": "Part of the title."}
    )
    kind = ma.fields.Enum(AgreementKind, by_value=True)
    status = ma.fields.Enum(AgreementStatus, by_value=True)
    party = ma.fields.Integer(
        validate=ma.validate.Range(1, records.MAX_ID),
        metadata={"description": "An organisation's id: the agreements it is a party to."},
    )
    owner = ma.fields.Integer(validate=ma.validate.Range(1, records.MAX_ID))
    ending = ma.fields.Integer(
        validate=ma.validate.Range(0, MAX_ENDING_DAYS),
        metadata={"description": "Only those whose end date is within this many days."},
    )
    deleted = ma.fields.Boolean(
        metadata={"description": "List the deleted ones (coordinators and admins)."}
    )
    sort = sort_argument(SORTS, DEFAULT_SORT)


AgreementList = list_schema(AgreementSchema, "AgreementList")


class _AgreementForm(AgreementForm):
    """The page's form, offering every status: the page shows only the statuses the lifecycle
    allows, so the form would answer a disallowed one with "Not a valid choice"; here the
    service refuses it instead, naming the move it cannot make."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.status.choices = status_choices(AgreementStatus)


def _agreement_or_404(agreement_id, *, include_deleted=False):
    return records.get_visible_or_404(Agreement, agreement_id, include_deleted=include_deleted)


def _check_references(data, agreement=None):
    check_references(
        [
            (f"parties.{index}.organisation_id", Organisation, row["organisation_id"])
            for index, row in enumerate(data.get("parties") or [])
        ],
        kept=AgreementForm.linked_records(agreement) if agreement else (),
    )


def _formdata(data, agreement=None):
    """The agreement form as the page sends it, with the JSON's fields changed."""
    if agreement is not None:
        form = AgreementForm.for_agreement(agreement, formdata=None, meta={"csrf": False})
    else:
        form = AgreementForm(formdata=None, meta={"csrf": False})
        # As the page's new-agreement form: the person creating it owns it.
        form.owner_id.data = current_user.id
    formdata = browser_formdata(form)
    for name, value in data.items():
        if name == "parties":
            rows = [
                {
                    "organisation": record_reference(row["organisation_id"]),
                    "role": row.get("role") or PartyRole.PARTY,
                }
                for row in value or []
            ]
            set_rows(formdata, "parties", rows)
        else:
            set_field(formdata, name, value)
    return formdata


def _filters(args):
    deleted = lists_deleted(args)
    party = None
    if args.get("party"):
        party = db.session.get(Organisation, args["party"])
    filters = services.AgreementFilters(
        kind=args["kind"].value if args.get("kind") else None,
        status=args["status"].value if args.get("status") else None,
        party=party,
        owner_id=args.get("owner"),
        ending_days=args.get("ending"),
        text=(args.get("q") or "").strip(),
        deleted=deleted,
    )
    return filters, args.get("party") and party is None


@bp.route("/")
class Agreements(MethodView):
    @bp.arguments(AgreementListArgs, location="query", unknown=ma.RAISE)
    @bp.response(200, AgreementList)
    def get(self, args):
        """List agreements, with the list page's filters and sort orders."""
        filters, unknown_party = _filters(args)
        select = services.agreement_select(filters)
        if unknown_party:
            # The page ignores a party it cannot find; a program asked for that party's.
            select = select.where(sa.false())
        return list_page(
            select, SORTS, args, default_sort=DEFAULT_SORT, updated_column=Agreement.updated_at
        )

    @role_required(Role.MEMBER)
    @bp.arguments(AgreementSchema)
    @bp.response(201, AgreementSchema)
    def post(self, data):
        """Create an agreement with its parties (members, coordinators, admins)."""
        _check_references(data)
        form = validated_form(_AgreementForm, _formdata(data))
        agreement = saved(
            lambda: services.create_agreement(form.data_for_service(), actor=current_user)
        )
        db.session.commit()
        return agreement, 201, location_of(agreement)


@bp.route(f"/<{ID}:agreement_id>")
class AgreementItem(MethodView):
    @bp.response(200, AgreementSchema)
    def get(self, agreement_id):
        """One agreement."""
        return _agreement_or_404(
            agreement_id, include_deleted=current_user.has_role(Role.COORDINATOR)
        )

    @role_required(Role.MEMBER)
    @bp.arguments(AgreementPatchSchema)
    @bp.response(200, AgreementSchema)
    def patch(self, data, agreement_id):
        """Change some of an agreement's fields, its status among them; the others keep
        their values. A status change follows the lifecycle, as on the agreement's page."""
        agreement = _agreement_or_404(agreement_id)
        _check_references(data, agreement)
        form = validated_form(_AgreementForm, _formdata(data, agreement), agreement=agreement)
        saved(
            lambda: services.update_agreement(
                agreement, form.data_for_service(), actor=current_user
            )
        )
        db.session.commit()
        return agreement

    @role_required(Role.COORDINATOR)
    @bp.response(204)
    def delete(self, agreement_id):
        """Delete an agreement (coordinators and admins); it can be restored on its page."""
        agreement = _agreement_or_404(agreement_id)
        records.soft_delete(agreement, actor=current_user)
        db.session.commit()
        return None
