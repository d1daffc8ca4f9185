"""Bulk actions on the organisation and contact lists: set the owner, add or remove a tag
(organisations; contacts have no tags), export the chosen rows. See crm/core/bulk.py."""

from dataclasses import replace

from flask import url_for
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from crm.auth.decorators import role_required
from crm.auth.forms import owner_choices
from crm.auth.models import Role
from crm.core import bulk
from crm.core.forms import optional_id, strip
from crm.core.text import fold
from crm.organisations import bp, contact_views, contacts_bp, services, views
from crm.organisations.models import Contact, Organisation

MAX_TAG_LENGTH = 60


class OwnerForm(FlaskForm):
    owner_id = SelectField(_l("New owner"), coerce=optional_id)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner_id.choices = owner_choices(blank=_l("No owner"))


class TagForm(FlaskForm):
    tag = StringField(
        _l("Tag"),
        filters=[strip],
        validators=[DataRequired(message=_l("Enter a tag.")), Length(max=MAX_TAG_LENGTH)],
    )


def _tag_names(organisation):
    return [tag.name for tag in organisation.tags]


def _set_organisation_owner(organisation, form, actor):
    if organisation.owner_id == form.owner_id.data:
        return False
    services.update_organisation(organisation, {"owner_id": form.owner_id.data}, actor=actor)
    return True


def _add_tag(organisation, form, actor):
    names = _tag_names(organisation)
    if fold(form.tag.data) in names:
        return False
    services.update_organisation(organisation, {"tags": names + [form.tag.data]}, actor=actor)
    return True


def _remove_tag(organisation, form, actor):
    names = _tag_names(organisation)
    tag = fold(form.tag.data)
    if tag not in names:
        return False
    remaining = [name for name in names if name != tag]
    services.update_organisation(organisation, {"tags": remaining}, actor=actor)
    return True


def _set_contact_owner(contact, form, actor):
    if contact.owner_id == form.owner_id.data:
        return False
    services.update_contact(contact, {"owner_id": form.owner_id.data}, actor=actor)
    return True


ORGANISATIONS = bulk.BulkList(
    list_endpoint="organisations.index",
    bulk_endpoint="organisations.bulk_apply",
    model=Organisation,
    what=lambda num: ngettext("%(num)s organisation", "%(num)s organisations", num),
    name=lambda organisation: organisation.name,
    url=lambda organisation: url_for("organisations.detail", organisation_id=organisation.id),
    actions={
        "owner": bulk.Action(_l("Set the owner"), OwnerForm, _set_organisation_owner),
        "add_tag": bulk.Action(_l("Add a tag"), TagForm, _add_tag),
        "remove_tag": bulk.Action(_l("Remove a tag"), TagForm, _remove_tag),
    },
    export_filename="organisations",
    export_header=views.EXPORT_HEADER,
    export_row=views.export_row,
)

CONTACTS = bulk.BulkList(
    list_endpoint="contacts.index",
    bulk_endpoint="contacts.bulk_apply",
    model=Contact,
    what=lambda num: ngettext("%(num)s contact", "%(num)s contacts", num),
    name=lambda contact: contact.full_name,
    url=lambda contact: url_for("contacts.detail", contact_id=contact.id),
    actions={"owner": bulk.Action(_l("Set the owner"), OwnerForm, _set_contact_owner)},
    export_filename="contacts",
    export_header=contact_views.EXPORT_HEADER,
    export_row=contact_views.export_row,
)


@bp.route("/bulk")
def bulk_confirm():
    # Deleted rows are only restored, one by one: bulk actions reach the live ones.
    filters = replace(views._filters_from_request(), deleted=False)
    return bulk.confirm_page(
        ORGANISATIONS,
        services.organisation_select(filters).order_by(Organisation.name, Organisation.id),
        may_change=current_user.has_role(Role.MEMBER),
    )


@bp.route("/bulk", methods=["POST"])
@role_required(Role.MEMBER)
def bulk_apply():
    select = services.organisation_select(services.OrganisationFilters())
    return bulk.apply_page(ORGANISATIONS, select, actor=current_user)


@contacts_bp.route("/bulk", endpoint="bulk_confirm")
def contacts_bulk_confirm():
    filters = replace(contact_views._filters_from_request(), deleted=False)
    return bulk.confirm_page(
        CONTACTS,
        services.contact_select(filters).order_by(Contact.last_name, Contact.id),
        may_change=current_user.has_role(Role.MEMBER),
    )


@contacts_bp.route("/bulk", methods=["POST"], endpoint="bulk_apply")
@role_required(Role.MEMBER)
def contacts_bulk_apply():
    select = services.contact_select(services.ContactFilters())
    return bulk.apply_page(CONTACTS, select, actor=current_user)
