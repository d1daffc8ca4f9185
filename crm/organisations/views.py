"""Organisation pages: list, export, create, edit, delete, restore, memberships, merge and
type-ahead. The organisation's own page, which lists what other domains hold about it, is in
crm/hubs."""

from datetime import date

from flask import (
    abort,
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

from crm.auth.decorators import role_required
from crm.auth.models import Role
from crm.auth.services import active_users
from crm.core import records
from crm.core.csv_export import csv_response
from crm.core.deletion import confirm_delete, restore_deleted
from crm.core.forms import ConfirmForm
from crm.core.listing import paginate, sort_order
from crm.core.merge import count_references
from crm.core.security import is_safe_next
from crm.core.types import enum_value
from crm.extensions import db
from crm.organisations import bp, services
from crm.organisations.forms import (
    AddMembershipForm,
    EndMembershipForm,
    MergeForm,
    OrganisationForm,
)
from crm.organisations.models import (
    Membership,
    Organisation,
    OrganisationKind,
    Sector,
)
from crm.saved_views import views as saved_views

LIST_SORTS = {key: services.ORGANISATION_SORTS[key] for key in ("name", "kind", "city", "updated")}
DEFAULT_SORT = "name"
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
        member_of=records.parse_id(args.get("member_of")),
        deleted=deleted,
    )


@bp.route("/")
def index():
    default = saved_views.default_redirect("organisations")
    if default is not None:
        return default
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
        owners=active_users(),
        filtered=any(
            request.args.get(name)
            for name in ("q", "kind", "sector", "tag", "partner", "owner", "member_of")
        ),
        filter_association=db.session.get(Organisation, filters.member_of)
        if filters.member_of
        else None,
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


def export_row(organisation):
    """One organisation as a row of the CSV export (EXPORT_HEADER's columns)."""
    return (
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
            yield export_row(organisation)

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
    return [
        (MERGE_LABELS.get((table.name, column.name), table.name), rows)
        for table, column, rows in count_references(remove)
    ]


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
