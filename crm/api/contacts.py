"""/api/v1/contacts: people at the organisations, with their other affiliations."""

import marshmallow as ma
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from sqlalchemy.orm import selectinload

from crm.api.auth import lists_deleted, record_first
from crm.api.forms import (
    browser_formdata,
    check_references,
    record_reference,
    set_field,
    set_rows,
    validated_form,
)
from crm.api.pagination import list_page, sort_argument
from crm.api.schemas import ID, ListArgs, SoftDeletedSchema, StrictBoolean, list_schema, location_of
from crm.auth.decorators import role_required
from crm.auth.models import Role
from crm.core import records
from crm.extensions import db
from crm.organisations import services
from crm.organisations.contact_forms import MAX_AFFILIATION_ROWS, ContactForm
from crm.organisations.models import Contact, ContactAffiliation, LegalBasis, Organisation

bp = Blueprint(
    "api_contacts", __name__, url_prefix="/api/v1/contacts", description="Contacts: people."
)

SORTS = services.CONTACT_SORTS


class AffiliationSchema(ma.Schema):
    organisation_id = ma.fields.Integer(
        required=True, validate=ma.validate.Range(1, records.MAX_ID)
    )
    organisation_name = ma.fields.String(attribute="organisation.name", dump_only=True)
    role = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=200))


class ContactSchema(SoftDeletedSchema):
    first_name = ma.fields.String(validate=ma.validate.Length(max=100))
    last_name = ma.fields.String(required=True, validate=ma.validate.Length(1, 100))
    email = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=254))
    phone = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=50))
    title = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=200))
    organisation_id = ma.fields.Integer(
        allow_none=True,
        validate=ma.validate.Range(1, records.MAX_ID),
        metadata={"description": "The primary organisation."},
    )
    affiliations = ma.fields.List(
        ma.fields.Nested(AffiliationSchema),
        validate=ma.validate.Length(max=MAX_AFFILIATION_ROWS),
        metadata={"description": "Other organisations the person is affiliated with."},
    )
    notes = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=10_000))
    legal_basis = ma.fields.Enum(
        LegalBasis,
        by_value=True,
        required=True,
        metadata={"description": "The legal basis for keeping the contact."},
    )
    do_not_contact = StrictBoolean()
    owner_id = ma.fields.Integer(allow_none=True, validate=ma.validate.Range(1, records.MAX_ID))
    legal_hold = StrictBoolean(dump_only=True)
    anonymised_at = ma.fields.AwareDateTime(dump_only=True, allow_none=True)


class ContactPatchSchema(ContactSchema):
    """Any of the fields; those left out keep their values."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


class ContactListArgs(ListArgs):
    q = ma.fields.String(validate=ma.validate.Length(max=200))
    organisation_id = ma.fields.Integer(
        validate=ma.validate.Range(1, records.MAX_ID),
        metadata={"description": "The organisation's people, primary and affiliated."},
    )
    legal_basis = ma.fields.Enum(LegalBasis, by_value=True)
    do_not_contact = ma.fields.Boolean()
    owner_id = ma.fields.Integer(validate=ma.validate.Range(1, records.MAX_ID))
    deleted = ma.fields.Boolean(
        metadata={"description": "List the deleted ones (coordinators and admins)."}
    )
    sort = sort_argument(SORTS, "name")


ContactList = list_schema(ContactSchema, "ContactList")


def _contact_or_404(contact_id, *, include_deleted=False):
    return records.get_visible_or_404(Contact, contact_id, include_deleted=include_deleted)


FIELD_NAMES = {"organisation": "organisation_id"}


def _check_references(data, contact=None):
    check_references(
        [("organisation_id", Organisation, data.get("organisation_id"))]
        + [
            (f"affiliations.{index}.organisation_id", Organisation, row["organisation_id"])
            for index, row in enumerate(data.get("affiliations") or [])
        ],
        kept=ContactForm.linked_records(contact) if contact else (),
    )


def _formdata(data, contact=None):
    """The contact form as the page sends it, with the JSON's fields changed."""
    kwargs = {"formdata": None, "meta": {"csrf": False}}
    if contact is not None:
        form = ContactForm(obj=contact, contact=contact, **kwargs)
    else:
        form = ContactForm(**kwargs)
    formdata = browser_formdata(form)
    for name, value in data.items():
        if name == "organisation_id":
            set_field(formdata, "organisation", record_reference(value))
        elif name == "affiliations":
            rows = [
                {"organisation": record_reference(row["organisation_id"]), "role": row.get("role")}
                for row in value or []
            ]
            set_rows(formdata, "affiliations", rows)
        else:
            set_field(formdata, name, value)
    return formdata


@bp.route("/")
class Contacts(MethodView):
    @bp.arguments(ContactListArgs, location="query", unknown=ma.RAISE)
    @bp.response(200, ContactList)
    def get(self, args):
        """List contacts, with the list page's filters and sort orders."""
        deleted = lists_deleted(args)
        filters = services.ContactFilters(
            query=args.get("q", ""),
            organisation_id=args.get("organisation_id"),
            legal_basis=args["legal_basis"].value if args.get("legal_basis") else None,
            do_not_contact=args.get("do_not_contact"),
            owner_id=args.get("owner_id"),
            deleted=deleted,
        )
        select = services.contact_select(filters).options(
            selectinload(Contact.affiliations).selectinload(ContactAffiliation.organisation)
        )
        return list_page(
            select, SORTS, args, default_sort="name", updated_column=Contact.updated_at
        )

    @role_required(Role.MEMBER)
    @bp.arguments(ContactSchema)
    @bp.response(201, ContactSchema)
    def post(self, data):
        """Create a contact (members, coordinators, admins)."""
        _check_references(data)
        form = validated_form(ContactForm, _formdata(data), field_names=FIELD_NAMES)
        contact = services.create_contact(form.data_for_service(), actor=current_user)
        db.session.commit()
        return contact, 201, location_of(contact)


@bp.route(f"/<{ID}:contact_id>")
class ContactItem(MethodView):
    @bp.response(200, ContactSchema)
    def get(self, contact_id):
        """One contact."""
        return _contact_or_404(contact_id, include_deleted=current_user.has_role(Role.COORDINATOR))

    @role_required(Role.MEMBER)
    @record_first(_contact_or_404)
    @bp.arguments(ContactPatchSchema)
    @bp.response(200, ContactSchema)
    def patch(self, data, contact_id):
        """Change some of a contact's fields; the others keep their values."""
        contact = _contact_or_404(contact_id)
        _check_references(data, contact)
        form = validated_form(
            ContactForm,
            _formdata(data, contact),
            field_names=FIELD_NAMES,
            contact=contact,
        )
        services.update_contact(contact, form.data_for_service(), actor=current_user)
        db.session.commit()
        return contact

    @role_required(Role.COORDINATOR)
    @record_first(_contact_or_404)
    @bp.response(204)
    def delete(self, contact_id):
        """Delete a contact (coordinators and admins); it can be restored on its page."""
        contact = _contact_or_404(contact_id)
        records.soft_delete(contact, actor=current_user)
        db.session.commit()
        return None
