"""Contact pages: list, export, create, edit, delete, restore, merge, type-ahead. The
contact's own page, which lists what other domains hold about them, is in crm/hubs."""

from datetime import date

import sqlalchemy as sa
from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import selectinload

from crm.auth.decorators import role_required
from crm.auth.models import Role, User
from crm.core import records
from crm.core.csv_export import csv_response
from crm.core.deletion import confirm_delete, restore_deleted
from crm.core.forms import ConfirmForm
from crm.core.listing import paginate, sort_order
from crm.core.merge import count_references
from crm.core.records import get_visible_or_404
from crm.core.types import enum_value
from crm.extensions import db
from crm.organisations import contacts_bp as bp
from crm.organisations import services
from crm.organisations.contact_forms import (
    MAX_AFFILIATION_ROWS,
    ContactDeleteForm,
    ContactForm,
    MergeConfirmForm,
    MergePickForm,
)
from crm.organisations.models import Contact, ContactAffiliation, LegalBasis, Organisation
from crm.saved_views import views as saved_views

# What a merge moved, by table, in words for the flash message.
MOVED_LABELS = {
    "activity_contacts": _l("activities"),
    "enquiries": _l("enquiries"),
    "tasks": _l("tasks"),
    "contact_affiliations": _l("affiliations"),
}
EXPORT_HEADER = [
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "title",
    "organisation",
    "affiliations",
    "legal_basis",
    "do_not_contact",
    "owner_email",
    "created_at",
    "updated_at",
]


# ---------------------------------------------------------------- list and export


def _id_arg(name, source=None):
    """A positive id from the query string, or None for anything else (never an error)."""
    return records.parse_id((source or request.args).get(name))


def _filters_from_request():
    args = request.args
    return services.ContactFilters(
        query=args.get("q", "").strip()[:200],
        organisation_id=_id_arg("organisation_id"),
        legal_basis=enum_value(LegalBasis, args.get("legal_basis")),
        do_not_contact={"yes": True, "no": False}.get(args.get("do_not_contact")),
        owner_id=_id_arg("owner_id"),
        deleted=args.get("deleted") == "1" and current_user.has_role(Role.COORDINATOR),
    )


def _is_filtered(filters):
    return bool(
        filters.query
        or filters.organisation_id
        or filters.legal_basis
        or filters.do_not_contact is not None
        or filters.owner_id
    )


@bp.route("/")
def index():
    default = saved_views.default_redirect("contacts")
    if default is not None:
        return default
    filters = _filters_from_request()
    current_sort, order = sort_order(services.CONTACT_SORTS, "name")
    page = paginate(services.contact_select(filters).order_by(*order))
    organisation = (
        db.session.get(Organisation, filters.organisation_id) if filters.organisation_id else None
    )
    export_args = request.args.to_dict(flat=False)
    export_args.pop("page", None)
    export_args.pop("per_page", None)
    export_args.pop("mailing", None)
    return render_template(
        "contacts/index.html",
        page=page,
        filters=filters,
        filtered=_is_filtered(filters),
        current_sort=current_sort,
        filter_organisation=organisation,
        legal_bases=list(LegalBasis),
        owners=db.session.scalars(sa.select(User).order_by(User.name)).all(),
        export_url=url_for("contacts.export", **export_args),
        mailing_export_url=url_for("contacts.export", mailing="1", **export_args),
        restore_form=ConfirmForm(),
    )


def export_row(contact):
    """One contact as a row of the CSV export (EXPORT_HEADER's columns)."""
    return [
        contact.id,
        contact.first_name,
        contact.last_name,
        contact.email,
        contact.phone,
        contact.title,
        contact.organisation.name if contact.organisation else None,
        "; ".join(_affiliation_text(item) for item in contact.affiliations),
        contact.legal_basis.value,
        contact.do_not_contact,
        contact.owner.email if contact.owner else None,
        contact.created_at.isoformat() if contact.created_at else None,
        contact.updated_at.isoformat() if contact.updated_at else None,
    ]


@bp.route("/export.csv")
def export():
    """Every contact the list shows for these filters, in its order, as CSV.

    With ?mailing=1 it is a list to send to: people who asked not to be contacted, anonymised
    contacts and contacts without an e-mail address are left out.
    """
    filters = _filters_from_request()
    _, order = sort_order(services.CONTACT_SORTS, "name")
    select = services.contact_select(filters)
    mailing = request.args.get("mailing") == "1"
    if mailing:
        select = select.where(
            Contact.do_not_contact.is_(False),
            Contact.anonymised_at.is_(None),
            Contact.deleted_at.is_(None),
            Contact.email.is_not(None),
            Contact.email != "",
        )
    contacts = db.session.scalars(
        select.options(
            selectinload(Contact.affiliations).selectinload(ContactAffiliation.organisation)
        ).order_by(*order)
    ).all()
    rows = [export_row(contact) for contact in contacts]
    name = "contacts-mailing" if mailing else "contacts"
    return csv_response(f"{name}-{date.today().isoformat()}.csv", EXPORT_HEADER, rows)


def _affiliation_text(affiliation):
    name = affiliation.organisation.name
    return f"{name} ({affiliation.role})" if affiliation.role else name


# ---------------------------------------------------------------- create and edit


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.MEMBER)
def create():
    form = ContactForm()
    if not form.is_submitted():
        organisation_id = _id_arg("organisation_id")
        organisation = db.session.get(Organisation, organisation_id) if organisation_id else None
        if organisation is not None and not organisation.is_deleted:
            form.organisation.data = organisation
    duplicates = []
    if form.validate_on_submit():
        data = form.data_for_service()
        if not form.create_anyway.data:
            duplicates = services.find_duplicate_contacts(
                email=data["email"], first_name=data["first_name"], last_name=data["last_name"]
            )
        if not duplicates:
            contact = services.create_contact(data, actor=current_user)
            db.session.commit()
            flash(_("Contact %(name)s created.", name=contact.full_name), "success")
            return redirect(url_for("contacts.detail", contact_id=contact.id))
    return render_template("contacts/form.html", form=form, contact=None, duplicates=duplicates)


@bp.route("/<int:contact_id>/edit", methods=["GET", "POST"])
@role_required(Role.MEMBER)
def edit(contact_id):
    contact = get_visible_or_404(Contact, contact_id)
    form = ContactForm(obj=contact, contact=contact)
    if form.validate_on_submit():
        services.update_contact(contact, form.data_for_service(), actor=current_user)
        db.session.commit()
        flash(_("Contact %(name)s saved.", name=contact.full_name), "success")
        return redirect(url_for("contacts.detail", contact_id=contact.id))
    if not form.is_submitted():
        # Always offer an empty row, so one more affiliation can be added.
        rows = form.affiliations
        if len(rows) < MAX_AFFILIATION_ROWS and all(row.organisation.data for row in rows):
            rows.append_entry()
    return render_template("contacts/form.html", form=form, contact=contact, duplicates=[])


# ---------------------------------------------------------------- delete and restore


@bp.route("/<int:contact_id>/delete", methods=["GET", "POST"])
@role_required(Role.COORDINATOR)
def delete(contact_id):
    contact = get_visible_or_404(Contact, contact_id)
    return confirm_delete(
        contact,
        template="contacts/delete.html",
        form=ContactDeleteForm(),
        contact=contact,
        done_message=_("Contact %(name)s deleted.", name=contact.full_name),
        done_url=url_for("contacts.index"),
    )


@bp.route("/<int:contact_id>/restore", methods=["POST"])
@role_required(Role.COORDINATOR)
def restore(contact_id):
    contact = get_visible_or_404(Contact, contact_id, include_deleted=True)
    return restore_deleted(
        contact,
        done_message=_("Contact %(name)s restored.", name=contact.full_name),
        done_url=url_for("contacts.detail", contact_id=contact.id),
        expired_message=_("The form had expired. Please send it again."),
    )


# ---------------------------------------------------------------- merge


def _merge_preview(remove):
    """How many links of `remove` a merge moves, by kind, for the confirmation page."""
    rows = {}
    for table, _column, count in count_references(remove):
        rows[table.name] = rows.get(table.name, 0) + count
    return {
        "activities": rows.get("activity_contacts", 0),
        "enquiries": rows.get("enquiries", 0),
        "tasks": rows.get("tasks", 0),
        "affiliations": rows.get("contact_affiliations", 0),
    }


def _moved_text(moved):
    parts = [f"{MOVED_LABELS.get(table, table)}: {count}" for table, count in sorted(moved.items())]
    return ", ".join(parts)


@bp.route("/<int:contact_id>/merge", methods=["GET", "POST"])
@role_required(Role.COORDINATOR)
def merge(contact_id):
    """Merge a duplicate into this contact: pick it, see both, confirm."""
    contact = get_visible_or_404(Contact, contact_id)

    if request.method == "POST" and "remove_id" in request.form:
        form = MergeConfirmForm()
        remove_id = _id_arg("remove_id", request.form)
        remove = get_visible_or_404(Contact, remove_id or 0)
        if remove.id == contact.id:
            flash(_("A contact cannot be merged with itself."), "error")
            return redirect(url_for("contacts.merge", contact_id=contact.id))
        if form.validate_on_submit():
            removed_name, removed_id = remove.full_name, remove.id
            moved = services.merge_contacts(contact, remove, actor=current_user)
            db.session.commit()
            message = _(
                "%(removed)s (#%(id)s) was merged into this contact.",
                removed=removed_name,
                id=removed_id,
            )
            if moved:
                message += " " + _("Moved: %(moved)s.", moved=_moved_text(moved))
            flash(message, "success")
            return redirect(url_for("contacts.detail", contact_id=contact.id))
        return render_template(
            "contacts/merge_confirm.html",
            contact=contact,
            remove=remove,
            form=form,
            preview=_merge_preview(remove),
        )

    form = MergePickForm(keep=contact)
    if form.validate_on_submit():
        return redirect(
            url_for("contacts.merge", contact_id=contact.id, remove=form.duplicate.data.id)
        )
    remove_id = _id_arg("remove")
    if request.method == "GET" and remove_id is not None:
        remove = get_visible_or_404(Contact, remove_id)
        if remove.id == contact.id:
            flash(_("A contact cannot be merged with itself."), "error")
            return redirect(url_for("contacts.merge", contact_id=contact.id))
        return render_template(
            "contacts/merge_confirm.html",
            contact=contact,
            remove=remove,
            form=MergeConfirmForm(remove_id=remove.id),
            preview=_merge_preview(remove),
        )
    suggestions = services.find_duplicate_contacts(
        email=contact.email,
        first_name=contact.first_name,
        last_name=contact.last_name,
        exclude_id=contact.id,
    )
    return render_template(
        "contacts/merge.html", contact=contact, form=form, suggestions=suggestions
    )


# ---------------------------------------------------------------- type-ahead


@bp.route("/typeahead")
def typeahead():
    """JSON for picker fields: {"results": [{"id", "name", "label"}]}, at most 10."""
    query = request.args.get("q", "")[:100]
    results = []
    for contact in services.typeahead_contacts(query, limit=10):
        label = contact.full_name
        if contact.organisation is not None:
            label += f" – {contact.organisation.name}"
        if contact.email:
            label += f" ({contact.email})"
        results.append({"id": contact.id, "name": contact.full_name, "label": label})
    return jsonify(results=results)
