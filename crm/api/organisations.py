"""/api/v1/organisations: the register of organisations, with their memberships."""

import marshmallow as ma
import sqlalchemy as sa
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from crm.api.auth import lists_deleted, record_first
from crm.api.forms import browser_formdata, set_field, validated_form
from crm.api.pagination import json_response, list_page, sort_argument
from crm.api.schemas import ID, ListArgs, SoftDeletedSchema, StrictBoolean, list_schema, location_of
from crm.auth.decorators import role_required
from crm.auth.models import Role
from crm.core import records
from crm.extensions import db
from crm.organisations import services
from crm.organisations.forms import OrganisationForm
from crm.organisations.models import (
    Membership,
    Organisation,
    OrganisationEmailDomain,
    OrganisationKind,
    OrganisationSector,
    Sector,
    SizeClass,
    Tag,
    organisation_tags,
)

bp = Blueprint(
    "api_organisations",
    __name__,
    url_prefix="/api/v1/organisations",
    description="Organisations: companies, associations, regions, universities …",
)

SORTS = {key: services.ORGANISATION_SORTS[key] for key in ("name", "kind", "city", "updated")}
SORTS["created"] = services.ORGANISATION_SORTS["created"]


class MembershipSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    association_id = ma.fields.Integer()
    association_name = ma.fields.String(attribute="association.name", dump_only=True)
    since = ma.fields.Date(allow_none=True)
    until = ma.fields.Date(allow_none=True)


class OrganisationSchema(SoftDeletedSchema):
    kind = ma.fields.Enum(OrganisationKind, by_value=True, required=True)
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))
    org_number = ma.fields.String(
        allow_none=True,
        validate=ma.validate.Length(max=20),
        metadata={"description": "Swedish organisation number, NNNNNN-NNNN."},
    )
    website = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=300))
    email_domains = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(max=253)),
        validate=ma.validate.Length(max=50),
        metadata={"description": "Used to match enquiries to the organisation."},
    )
    country = ma.fields.String(
        validate=ma.validate.Length(2, 2), metadata={"description": "Two-letter code."}
    )
    city = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=120))
    sectors = ma.fields.List(ma.fields.Enum(Sector, by_value=True), attribute="sector_values")
    size_class = ma.fields.Enum(SizeClass, by_value=True, allow_none=True)
    description = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=10_000))
    tags = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(max=60)), validate=ma.validate.Length(max=50)
    )
    is_partner = StrictBoolean(
        metadata={
            "description": "A GMS partner: a healthcare region or university, never a company."
        }
    )
    owner_id = ma.fields.Integer(allow_none=True, validate=ma.validate.Range(1, records.MAX_ID))
    memberships = ma.fields.List(
        ma.fields.Nested(MembershipSchema),
        dump_only=True,
        metadata={"description": "The associations it is a member of."},
    )


class OrganisationPatchSchema(OrganisationSchema):
    """Any of the fields; those left out keep their values."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


class OrganisationListArgs(ListArgs):
    q = ma.fields.String(validate=ma.validate.Length(max=200))
    kind = ma.fields.Enum(OrganisationKind, by_value=True)
    sector = ma.fields.Enum(Sector, by_value=True)
    tag = ma.fields.String(validate=ma.validate.Length(max=60))
    partner = ma.fields.Boolean()
    owner = ma.fields.Integer(validate=ma.validate.Range(1, records.MAX_ID))
    member_of = ma.fields.Integer(
        validate=ma.validate.Range(1, records.MAX_ID),
        metadata={"description": "An association's id: its members."},
    )
    deleted = ma.fields.Boolean(
        metadata={"description": "List the deleted ones (coordinators and admins)."}
    )
    sort = sort_argument(SORTS, "name")


OrganisationList = list_schema(OrganisationSchema, "OrganisationList")


# The table's columns an answer shows; a list reads only these, as plain rows.
_COLUMNS = [
    Organisation.__table__.c[name]
    for name in ("id", "created_at", "updated_at", "deleted_at", *services.ORGANISATION_FIELDS)
]


def _rows(select):
    """A list's page as plain rows of _COLUMNS: loading them as records (and each collection
    through the ORM) was most of a list's cost, twice what the rest of the request costs."""
    return db.session.execute(select.with_only_columns(*_COLUMNS)).all()


_IDS = sa.bindparam("ids", expanding=True)
_association = sa.orm.aliased(Organisation)
# Each collection of a page's organisations: built once, so that each request only binds
# the page's ids (a statement built per request is compiled per request).
_SECTORS = (
    sa.select(OrganisationSector.organisation_id, OrganisationSector.sector)
    .where(OrganisationSector.organisation_id.in_(_IDS))
    .order_by(OrganisationSector.sector)
)
_TAGS = (
    sa.select(organisation_tags.c.organisation_id, Tag.name)
    .join(Tag, Tag.id == organisation_tags.c.tag_id)
    .where(organisation_tags.c.organisation_id.in_(_IDS))
    .order_by(Tag.name)
)
_DOMAINS = (
    sa.select(OrganisationEmailDomain.organisation_id, OrganisationEmailDomain.domain)
    .where(OrganisationEmailDomain.organisation_id.in_(_IDS))
    .order_by(OrganisationEmailDomain.id)
)
_MEMBERSHIPS = (
    sa.select(
        Membership.member_id,
        Membership.id,
        Membership.association_id,
        _association.name,
        Membership.since,
        Membership.until,
    )
    .join(_association, _association.id == Membership.association_id)
    .where(Membership.member_id.in_(_IDS))
    .order_by(_association.name, Membership.id)
)


def _grouped(statement, ids, value):
    """{organisation id: [value(row), ...]} of the statement's rows (id first in each)."""
    groups = {}
    # On the session's connection: plain rows need none of the ORM's handling of a statement.
    for row in db.session.connection().execute(statement, {"ids": ids}):
        groups.setdefault(row[0], []).append(value(row))
    return groups


def present(organisations):
    """The JSON of `organisations` (records or rows of _COLUMNS) as OrganisationSchema
    documents it, each collection read for all of them in one query. The one way the API
    writes an organisation: lists, reads and the answers to changes alike."""
    ids = [organisation.id for organisation in organisations]
    if not ids:
        return []
    sectors = _grouped(_SECTORS, ids, lambda row: row[1].value)
    tags = _grouped(_TAGS, ids, lambda row: row[1])
    domains = _grouped(_DOMAINS, ids, lambda row: row[1])
    memberships = _grouped(
        _MEMBERSHIPS,
        ids,
        lambda row: {
            "id": row[1],
            "association_id": row[2],
            "association_name": row[3],
            "since": _iso(row[4]),
            "until": _iso(row[5]),
        },
    )
    return [
        {
            "id": organisation.id,
            "created_at": _iso(organisation.created_at),
            "updated_at": _iso(organisation.updated_at),
            "deleted_at": _iso(organisation.deleted_at),
            "kind": organisation.kind.value,
            "name": organisation.name,
            "org_number": organisation.org_number,
            "website": organisation.website,
            "email_domains": domains.get(organisation.id, []),
            "country": organisation.country,
            "city": organisation.city,
            "sectors": sectors.get(organisation.id, []),
            "size_class": organisation.size_class.value if organisation.size_class else None,
            "description": organisation.description,
            "tags": tags.get(organisation.id, []),
            "is_partner": organisation.is_partner,
            "owner_id": organisation.owner_id,
            "memberships": memberships.get(organisation.id, []),
        }
        for organisation in organisations
    ]


def _iso(value):
    return value.isoformat() if value is not None else None


def _organisation_or_404(organisation_id, *, include_deleted=False):
    return records.get_visible_or_404(
        Organisation, organisation_id, include_deleted=include_deleted
    )


def _formdata(data, organisation=None):
    """The organisation form as the page sends it, with the JSON's fields changed."""
    if organisation is not None:
        form = OrganisationForm.for_organisation(organisation, formdata=None, meta={"csrf": False})
    else:
        form = OrganisationForm(formdata=None, meta={"csrf": False})
    formdata = browser_formdata(form)
    for name, value in data.items():
        if name == "sector_values":  # the "sectors" of the JSON, as the schema loads them
            set_field(formdata, "sectors", value or [])
        elif name in ("email_domains", "tags"):
            set_field(formdata, name, ", ".join(value or []))
        else:
            set_field(formdata, name, value)
    return formdata


@bp.route("/")
class Organisations(MethodView):
    @bp.arguments(OrganisationListArgs, location="query", unknown=ma.RAISE)
    @bp.response(200, OrganisationList)
    def get(self, args):
        """List organisations, with the list page's filters and sort orders."""
        deleted = lists_deleted(args)
        filters = services.OrganisationFilters(
            query=args.get("q", ""),
            kind=args["kind"].value if args.get("kind") else None,
            sector=args["sector"].value if args.get("sector") else None,
            tag=(args.get("tag") or "").strip() or None,
            partner=args.get("partner"),
            owner_id=args.get("owner"),
            member_of=args.get("member_of"),
            deleted=deleted,
        )
        return list_page(
            services.organisation_select(filters),
            SORTS,
            args,
            default_sort="name",
            updated_column=Organisation.updated_at,
            rows_of=_rows,
            present=present,
        )

    @role_required(Role.MEMBER)
    @bp.arguments(OrganisationSchema)
    @bp.response(201, OrganisationSchema)
    def post(self, data):
        """Create an organisation (members, coordinators, admins)."""
        form = validated_form(OrganisationForm, _formdata(data))
        organisation = services.create_organisation(form.data_for_service(), actor=current_user)
        db.session.commit()
        return json_response(present([organisation])[0], 201, location_of(organisation))


@bp.route(f"/<{ID}:organisation_id>")
class OrganisationItem(MethodView):
    @bp.response(200, OrganisationSchema)
    def get(self, organisation_id):
        """One organisation."""
        organisation = _organisation_or_404(
            organisation_id, include_deleted=current_user.has_role(Role.COORDINATOR)
        )
        return json_response(present([organisation])[0])

    @role_required(Role.MEMBER)
    @record_first(_organisation_or_404)
    @bp.arguments(OrganisationPatchSchema)
    @bp.response(200, OrganisationSchema)
    def patch(self, data, organisation_id):
        """Change some of an organisation's fields; the others keep their values."""
        organisation = _organisation_or_404(organisation_id)
        form = validated_form(
            OrganisationForm, _formdata(data, organisation), organisation=organisation
        )
        services.update_organisation(organisation, form.data_for_service(), actor=current_user)
        db.session.commit()
        return json_response(present([organisation])[0])

    @role_required(Role.COORDINATOR)
    @record_first(_organisation_or_404)
    @bp.response(204)
    def delete(self, organisation_id):
        """Delete an organisation (coordinators and admins); it can be restored on its page."""
        organisation = _organisation_or_404(organisation_id)
        records.soft_delete(organisation, actor=current_user)
        db.session.commit()
        return None
