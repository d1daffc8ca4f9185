"""Organisation pages: list, export, detail, create, edit, delete, restore, memberships,
merge and type-ahead."""

from datetime import date

import sqlalchemy as sa
from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import selectinload

from crm.activities.models import Activity, ActivityOrganisation, Task
from crm.activities.services import member_activities
from crm.agreements.coverage import agreements_covering
from crm.auth.decorators import role_required
from crm.auth.models import Role, User
from crm.core import audit, records
from crm.core.csv_export import csv_response
from crm.core.deletion import confirm_delete, restore_deleted
from crm.core.forms import ConfirmForm
from crm.core.listing import paginate, sort_order
from crm.core.security import is_safe_next
from crm.core.types import enum_value
from crm.documents.services import documents_for
from crm.enquiries.models import Enquiry
from crm.extensions import db
from crm.organisations import bp, services
from crm.organisations.forms import (
    AddMembershipForm,
    EndMembershipForm,
    MergeForm,
    OrganisationForm,
)
from crm.organisations.models import (
    Contact,
    ContactAffiliation,
    Membership,
    Organisation,
    OrganisationKind,
    Sector,
)

LIST_SORTS = {key: services.ORGANISATION_SORTS[key] for key in ("name", "kind", "city", "updated")}
DEFAULT_SORT = "name"
# How many linked rows the detail page shows per section; the rest are a link away.
HUB_LIMIT = 50
TYPEAHEAD_LIMIT = 10
DUPLICATE_REASONS = {
    "org_number": _l("same organisation number"),
    "website": _l("same website"),
    "name": _l("same name"),
}
# What a merge moves, per referencing (table, column); anything else shows its table name.
MERGE_LABELS = {
    ("contacts", "organisation_id"): _l("contacts (primary organisation)"),
    ("contact_affiliations", "organisation_id"): _l("contact affiliations"),
    ("memberships", "member_id"): _l("memberships of associations"),
    ("memberships", "association_id"): _l("member organisations"),
    ("agreement_parties", "organisation_id"): _l("agreement parties"),
    ("activity_organisations", "organisation_id"): _l("activities"),
    ("tasks", "organisation_id"): _l("tasks"),
    ("enquiries", "organisation_id"): _l("enquiries"),
    ("documents", "organisation_id"): _l("documents"),
    ("organisation_sectors", "organisation_id"): _l("sectors"),
    ("organisation_tags", "organisation_id"): _l("tags"),
    ("organisation_email_domains", "organisation_id"): _l("e-mail domains"),
}
MERGE_TABLE_LABELS = {table: label for (table, _column), label in MERGE_LABELS.items()}
MERGE_TABLE_LABELS["memberships"] = _l("memberships")


def _organisation_or_404(organisation_id, *, include_deleted=False):
    return records.get_visible_or_404(
        Organisation, records.parse_id(organisation_id), include_deleted=include_deleted
    )


def endpoint_exists(endpoint):
    """Links to pages other people are still building are shown once the page exists."""
    return endpoint in current_app.view_functions


# ---------------------------------------------------------------- list and export


def _filters_from_request():
    """The list's filters from the query string; values that mean nothing are ignored."""
    args = request.args
    partner = {"yes": True, "no": False}.get(args.get("partner", ""))
    deleted = args.get("deleted") == "1" and current_user.has_role(Role.COORDINATOR)
    return services.OrganisationFilters(
        query=args.get("q", "")[:200],
        kind=enum_value(OrganisationKind, args.get("kind")),
        sector=enum_value(Sector, args.get("sector")),
        tag=args.get("tag", "").strip()[:60] or None,
        partner=partner,
        owner_id=records.parse_id(args.get("owner")),
        deleted=deleted,
    )


def _active_users():
    return db.session.scalars(sa.select(User).where(User.active).order_by(User.name)).all()


@bp.route("/")
def index():
    filters = _filters_from_request()
    current_sort, order = sort_order(LIST_SORTS, DEFAULT_SORT)
    page = paginate(services.organisation_select(filters).order_by(*order))
    return render_template(
        "organisations/index.html",
        page=page,
        filters=filters,
        current_sort=current_sort,
        kinds=OrganisationKind,
        sectors=Sector,
        owners=_active_users(),
        filtered=any(
            request.args.get(name) for name in ("q", "kind", "sector", "tag", "partner", "owner")
        ),
        can_import=endpoint_exists("organisations.import_csv"),
        restore_form=ConfirmForm(),
    )


EXPORT_HEADER = (
    "id",
    "name",
    "kind",
    "org_number",
    "website",
    "email_domains",
    "country",
    "city",
    "sectors",
    "tags",
    "size_class",
    "is_partner",
    "owner_email",
    "created_at",
    "updated_at",
)


@bp.route("/export.csv")
def export():
    """Every organisation the list's filters and sort select, not only one page."""
    filters = _filters_from_request()
    _current_sort, order = sort_order(LIST_SORTS, DEFAULT_SORT)
    select = (
        services.organisation_select(filters)
        .options(selectinload(Organisation.email_domains))
        .order_by(*order)
        # Rows arrive in batches; each batch loads its sectors, tags, … in one query each.
        .execution_options(yield_per=500)
    )

    def rows():
        for organisation in db.session.scalars(select):
            yield (
                organisation.id,
                organisation.name,
                organisation.kind.value,
                organisation.org_number,
                organisation.website,
                ", ".join(sorted(item.domain for item in organisation.email_domains)),
                organisation.country,
                organisation.city,
                ", ".join(sorted(str(value) for value in organisation.sector_values)),
                ", ".join(sorted(tag.name for tag in organisation.tags)),
                organisation.size_class.value if organisation.size_class else None,
                organisation.is_partner,
                organisation.owner.email if organisation.owner else None,
                organisation.created_at.isoformat() if organisation.created_at else None,
                organisation.updated_at.isoformat() if organisation.updated_at else None,
            )

    filename = f"organisations-{date.today().isoformat()}.csv"
    return csv_response(filename, EXPORT_HEADER, stream_with_context(rows()))


# ---------------------------------------------------------------- create and edit


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.MEMBER)
def create():
    form = OrganisationForm()
    duplicates = []
    if form.validate_on_submit():
        data = form.data_for_service()
        duplicates = services.find_duplicate_organisations(
            name=data["name"], website=data["website"]
        )
        if not duplicates or form.confirm_duplicate.data:
            organisation = services.create_organisation(data, actor=current_user)
            db.session.commit()
            flash(_("Organisation %(name)s created.", name=organisation.name), "success")
            return redirect(url_for("organisations.detail", organisation_id=organisation.id))
    return render_template(
        "organisations/form.html",
        form=form,
        organisation=None,
        duplicates=[
            (organisation, [DUPLICATE_REASONS[reason] for reason in sorted(reasons)])
            for organisation, reasons in duplicates
        ],
    )


@bp.route("/<int:organisation_id>/edit", methods=["GET", "POST"])
@role_required(Role.MEMBER)
def edit(organisation_id):
    organisation = _organisation_or_404(organisation_id)
    if request.method == "POST":
        form = OrganisationForm(organisation=organisation)
    else:
        form = OrganisationForm.for_organisation(organisation)
    if form.validate_on_submit():
        services.update_organisation(organisation, form.data_for_service(), actor=current_user)
        db.session.commit()
        flash(_("Organisation %(name)s saved.", name=organisation.name), "success")
        return redirect(url_for("organisations.detail", organisation_id=organisation.id))
    return render_template(
        "organisations/form.html", form=form, organisation=organisation, duplicates=[]
    )


# ---------------------------------------------------------------- detail


def _may_read_enquiries():
    return current_user.has_role(Role.MEMBER)


def _hub(organisation):
    """The linked records the detail page lists, each a bounded query."""
    organisation_id = organisation.id
    primary_contacts = db.session.scalars(
        sa.select(Contact)
        .where(Contact.organisation_id == organisation_id, Contact.deleted_at.is_(None))
        .order_by(Contact.last_name, Contact.first_name, Contact.id)
        .limit(HUB_LIMIT)
    ).all()
    affiliations = db.session.execute(
        sa.select(Contact, ContactAffiliation.role)
        .join(ContactAffiliation, ContactAffiliation.contact_id == Contact.id)
        .where(
            ContactAffiliation.organisation_id == organisation_id,
            Contact.deleted_at.is_(None),
        )
        .order_by(Contact.last_name, Contact.first_name, Contact.id)
        .limit(HUB_LIMIT)
    ).all()
    # Direct parties first, then the agreements of associations it belongs to (SPEC §3.5).
    agreements = agreements_covering(organisation_id, limit=HUB_LIMIT)
    activities = db.session.execute(
        sa.select(Activity, ActivityOrganisation.role)
        .join(ActivityOrganisation, ActivityOrganisation.activity_id == Activity.id)
        .where(
            ActivityOrganisation.organisation_id == organisation_id,
            Activity.deleted_at.is_(None),
        )
        .order_by(Activity.start_date.desc(), Activity.id.desc())
        .limit(HUB_LIMIT)
    ).all()
    tasks = db.session.scalars(
        sa.select(Task)
        .where(
            Task.organisation_id == organisation_id,
            Task.deleted_at.is_(None),
            Task.is_done.is_(False),
        )
        .options(selectinload(Task.assignee))
        .order_by(Task.due_date.is_(None), Task.due_date, Task.id)
        .limit(HUB_LIMIT)
    ).all()
    enquiries = None
    if _may_read_enquiries():
        select = sa.select(Enquiry).where(
            Enquiry.organisation_id == organisation_id, Enquiry.deleted_at.is_(None)
        )
        if not current_user.has_role(Role.COORDINATOR):
            # Members read only the enquiries assigned to them (SPEC §4).
            select = select.where(Enquiry.assignee_id == current_user.id)
        enquiries = db.session.scalars(
            select.order_by(Enquiry.received_at.desc(), Enquiry.id.desc()).limit(HUB_LIMIT)
        ).all()
    return {
        "primary_contacts": primary_contacts,
        "affiliations": affiliations,
        "agreements": agreements,
        "activities": activities,
        "tasks": tasks,
        "enquiries": enquiries,
    }


@bp.route("/<int:organisation_id>")
def detail(organisation_id):
    organisation = _organisation_or_404(
        organisation_id,
        include_deleted=current_user.has_role(Role.COORDINATOR),
    )
    member_of, members = services.current_memberships(organisation)
    candidates = [
        association
        for association in services.associations()
        if association.id != organisation.id
        and association.id not in {row.association_id for row in member_of if row.until is None}
    ]
    return render_template(
        "organisations/detail.html",
        organisation=organisation,
        member_of=member_of,
        members=members,
        membership_form=AddMembershipForm(associations=candidates, formdata=None),
        history=audit.history("organisations", organisation.id),
        documents=documents_for(organisation),
        link_contacts=endpoint_exists("contacts.detail"),
        link_contact_list=endpoint_exists("contacts.index"),
        link_agreements=endpoint_exists("agreements.detail"),
        new_agreement_url=(
            url_for("agreements.create", organisation_id=organisation.id)
            if endpoint_exists("agreements.create")
            else None
        ),
        confirm_form=ConfirmForm(),
        member_activities=(
            member_activities(organisation, limit=HUB_LIMIT)
            if organisation.kind == OrganisationKind.INDUSTRY_ASSOCIATION
            else None
        ),
        **_hub(organisation),
    )


# ---------------------------------------------------------------- delete and restore


@bp.route("/<int:organisation_id>/delete", methods=["GET", "POST"])
@role_required(Role.COORDINATOR)
def delete(organisation_id):
    organisation = _organisation_or_404(organisation_id)
    return confirm_delete(
        organisation,
        template="organisations/delete.html",
        organisation=organisation,
        done_message=_(
            "Organisation %(name)s deleted. A coordinator can restore it.", name=organisation.name
        ),
        done_url=url_for("organisations.index"),
    )


@bp.route("/<int:organisation_id>/restore", methods=["POST"])
@role_required(Role.COORDINATOR)
def restore(organisation_id):
    organisation = _organisation_or_404(organisation_id, include_deleted=True)
    return restore_deleted(
        organisation,
        done_message=_("Organisation %(name)s restored.", name=organisation.name),
        done_url=url_for("organisations.detail", organisation_id=organisation.id),
    )


# ---------------------------------------------------------------- memberships


@bp.route("/<int:organisation_id>/memberships", methods=["POST"])
@role_required(Role.MEMBER)
def add_membership(organisation_id):
    organisation = _organisation_or_404(organisation_id)
    form = AddMembershipForm(associations=services.associations())
    back = redirect(url_for("organisations.detail", organisation_id=organisation.id))
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return back
    association = _organisation_or_404(form.association_id.data)
    try:
        services.add_membership(
            organisation, association, since=form.since.data, actor=current_user
        )
    except services.MembershipError as error:
        db.session.rollback()
        flash(str(error), "error")
        return back
    db.session.commit()
    flash(
        _(
            "%(member)s is now a member of %(association)s.",
            member=organisation.name,
            association=association.name,
        ),
        "success",
    )
    return back


@bp.route("/memberships/<int:membership_id>/end", methods=["GET", "POST"])
@role_required(Role.MEMBER)
def end_membership(membership_id):
    if records.parse_id(membership_id) is None:
        abort(404)
    membership = db.session.get(Membership, membership_id) or abort(404)
    member = _organisation_or_404(membership.member_id)
    association = _organisation_or_404(membership.association_id)
    form = EndMembershipForm(membership=membership)
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    target = form.next.data if is_safe_next(form.next.data) else None
    back = target or url_for("organisations.detail", organisation_id=member.id)
    if membership.until is not None:
        flash(_("This membership has already ended."), "info")
        return redirect(back)
    if form.validate_on_submit():
        services.end_membership(membership, until=form.until.data, actor=current_user)
        db.session.commit()
        flash(
            _(
                "The membership of %(member)s in %(association)s has ended.",
                member=member.name,
                association=association.name,
            ),
            "success",
        )
        return redirect(back)
    return render_template(
        "organisations/end_membership.html",
        form=form,
        membership=membership,
        member=member,
        association=association,
        back=back,
    )


# ---------------------------------------------------------------- merge


def _merge_candidates(keep, query):
    """Likely duplicates of `keep` first, then what the search finds."""
    suggested = services.find_duplicate_organisations(
        name=keep.name, org_number=keep.org_number, website=keep.website, exclude_id=keep.id
    )
    found = []
    if query.strip():
        select = (
            services.organisation_select(services.OrganisationFilters(query=query))
            .where(Organisation.id != keep.id)
            .order_by(Organisation.name, Organisation.id)
            .limit(25)
        )
        suggested_ids = {organisation.id for organisation, _reasons in suggested}
        found = [
            organisation
            for organisation in db.session.scalars(select)
            if organisation.id not in suggested_ids
        ]
    return [
        (organisation, [DUPLICATE_REASONS[reason] for reason in sorted(reasons)])
        for organisation, reasons in suggested
    ], found


def _merge_preview(remove):
    """[(label, count)] of the rows pointing at `remove` that a merge would move."""
    target = Organisation.__table__
    preview = []
    for table in db.metadata.sorted_tables:
        if table is target:
            continue
        for foreign_key in table.foreign_keys:
            if foreign_key.column.table is not target:
                continue
            column = foreign_key.parent
            count = db.session.scalar(
                sa.select(sa.func.count()).select_from(table).where(column == remove.id)
            )
            if count:
                label = MERGE_LABELS.get((table.name, column.name), table.name)
                preview.append((label, count))
    return preview


@bp.route("/<int:organisation_id>/merge", methods=["GET", "POST"])
@role_required(Role.COORDINATOR)
def merge(organisation_id):
    keep = _organisation_or_404(organisation_id)
    form = MergeForm()
    remove_id = request.args.get("remove")
    if request.method == "POST":
        remove_id = form.remove_id.data
    if not remove_id:
        query = request.args.get("q", "")[:200]
        suggested, found = _merge_candidates(keep, query)
        return render_template(
            "organisations/merge.html", keep=keep, query=query, suggested=suggested, found=found
        )
    remove = _organisation_or_404(remove_id)
    if remove.id == keep.id:
        flash(_("Choose another organisation: a record cannot be merged with itself."), "error")
        return redirect(url_for("organisations.merge", organisation_id=keep.id))
    if form.validate_on_submit():
        moved = services.merge_organisations(keep, remove, actor=current_user)
        db.session.commit()
        summary = ", ".join(
            # "label: count" reads right for any count, where "1 tasks" would not.
            f"{MERGE_TABLE_LABELS.get(table, table)}: {count}"
            for table, count in moved.items()
        )
        flash(
            _(
                "%(removed)s was merged into %(kept)s. Moved: %(summary)s.",
                removed=remove.name,
                kept=keep.name,
                summary=summary or _("nothing"),
            ),
            "success",
        )
        return redirect(url_for("organisations.detail", organisation_id=keep.id))
    form.remove_id.data = str(remove.id)
    return render_template(
        "organisations/merge_confirm.html",
        keep=keep,
        remove=remove,
        form=form,
        preview=_merge_preview(remove),
    )


# ---------------------------------------------------------------- type-ahead


@bp.route("/typeahead")
def typeahead():
    """JSON for the organisation pickers of other forms."""
    kinds = [kind for kind in request.args.getlist("kind") if enum_value(OrganisationKind, kind)]
    matches = services.typeahead_organisations(
        request.args.get("q", "")[:200], limit=TYPEAHEAD_LIMIT, kinds=kinds or None
    )
    results = []
    for organisation_id, name, kind in matches:
        kind = OrganisationKind(kind)
        results.append(
            {
                "id": organisation_id,
                "name": name,
                "kind": kind.value,
                "label": f"{name} ({kind.label})",
            }
        )
    return jsonify(results=results)
