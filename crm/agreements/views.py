"""Agreement pages: list, export, create, edit, status change, delete and restore. The
agreement's own page, which lists its activities and tasks, is in crm/hubs."""

from datetime import date

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.agreements import bp, services
from crm.agreements.forms import AgreementForm, StatusForm
from crm.agreements.models import Agreement, AgreementKind, AgreementStatus
from crm.agreements.services import (
    AgreementError,
    change_status,
    create_agreement,
    renewal_notice_date,
    update_agreement,
)
from crm.auth.decorators import role_required
from crm.auth.models import Role
from crm.auth.services import active_users
from crm.core import records
from crm.core.csv_export import csv_response
from crm.core.deletion import confirm_delete, restore_deleted
from crm.core.forms import ConfirmForm, save_or_show_error
from crm.core.listing import paginate, sort_order
from crm.core.types import enum_value
from crm.extensions import db
from crm.organisations.models import Organisation

LIST_SORTS = {
    "title": [Agreement.title, Agreement.id],
    "kind": [Agreement.kind, Agreement.title, Agreement.id],
    "status": [Agreement.status, Agreement.title, Agreement.id],
    # Open-ended agreements sort after those with an end date.
    "end": [Agreement.end_date.is_(None), Agreement.end_date, Agreement.id],
    "start": [Agreement.start_date.is_(None), Agreement.start_date, Agreement.id],
}
DEFAULT_SORT = "title"
# Errors on the party rows as a whole are shown above them (form.parties_list_errors).
LIST_FIELDS = ("parties",)
FILTER_NAMES = ("kind", "status", "party", "owner", "ending", "q")
MAX_ENDING_DAYS = 3650


def _ending_days(value):
    text = (value or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 5:
        return None
    return min(int(text), MAX_ENDING_DAYS)


def _filters_from_request():
    args = request.args
    party = None
    party_id = records.parse_id(args.get("party"))
    if party_id:
        party = db.session.get(Organisation, party_id)
    return services.AgreementFilters(
        kind=enum_value(AgreementKind, args.get("kind")),
        status=enum_value(AgreementStatus, args.get("status")),
        party=party,
        owner_id=records.parse_id(args.get("owner")),
        ending_days=_ending_days(args.get("ending")),
        text=(args.get("q") or "").strip()[:200],
        deleted=args.get("deleted") == "1" and current_user.has_role(Role.COORDINATOR),
    )


def _agreement_or_404(agreement_id, *, include_deleted=False):
    return records.get_visible_or_404(Agreement, agreement_id, include_deleted=include_deleted)


@bp.route("/")
def index():
    filters = _filters_from_request()
    current_sort, order = sort_order(LIST_SORTS, DEFAULT_SORT)
    page = paginate(services.agreement_select(filters).order_by(*order))
    return render_template(
        "agreements/index.html",
        page=page,
        filters=filters,
        current_sort=current_sort,
        kinds=AgreementKind,
        statuses=AgreementStatus,
        party_organisations=services.party_organisations(),
        users=active_users(),
        filtered=any(request.args.get(name) for name in FILTER_NAMES),
        restore_form=ConfirmForm(),
        sorted_parties=services.sorted_parties,
        parties_by_side=services.parties_by_side,
    )


EXPORT_HEADER = (
    "id",
    "kind",
    "title",
    "status",
    "parties",
    "our_signatory",
    "signed_date",
    "start_date",
    "end_date",
    "renewal_notice_days",
    "renewal_notice_date",
    "owner",
    "covers_members",
    "is_public",
    "description",
)


def _iso(value):
    return value.isoformat() if value else None


@bp.route("/export.csv")
def export():
    """Every agreement the list's filters and sort select, not only one page."""
    filters = _filters_from_request()
    _current_sort, order = sort_order(LIST_SORTS, DEFAULT_SORT)
    agreements = db.session.scalars(services.agreement_select(filters).order_by(*order)).all()
    rows = [
        (
            agreement.id,
            agreement.kind.value,
            agreement.title,
            agreement.status.value,
            "; ".join(
                f"{party.organisation.name} ({party.role.value})"
                for party in services.sorted_parties(agreement)
            ),
            agreement.our_signatory,
            _iso(agreement.signed_date),
            _iso(agreement.start_date),
            _iso(agreement.end_date),
            agreement.renewal_notice_days,
            _iso(renewal_notice_date(agreement)),
            agreement.owner.name if agreement.owner else None,
            agreement.covers_members,
            agreement.is_public,
            agreement.description,
        )
        for agreement in agreements
    ]
    return csv_response(f"agreements-{date.today().isoformat()}.csv", EXPORT_HEADER, rows)


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.MEMBER)
def create():
    form = AgreementForm()
    if request.method == "GET":
        form.owner_id.data = current_user.id
        organisation_id = records.parse_id(request.args.get("organisation_id"))
        organisation = db.session.get(Organisation, organisation_id) if organisation_id else None
        if organisation is not None and not organisation.is_deleted:
            form.parties[0].organisation.data = organisation
    if form.validate_on_submit():
        agreement = save_or_show_error(
            form,
            lambda: create_agreement(form.data_for_service(), actor=current_user),
            list_errors=LIST_FIELDS,
        )
        if agreement is not None:
            db.session.commit()
            flash(_("Agreement %(title)s saved.", title=agreement.title), "success")
            return redirect(url_for("agreements.detail", agreement_id=agreement.id))
    return render_template("agreements/form.html", form=form, agreement=None)


@bp.route("/<int:agreement_id>/edit", methods=["GET", "POST"])
@role_required(Role.MEMBER)
def edit(agreement_id):
    agreement = _agreement_or_404(agreement_id)
    if request.method == "POST":
        form = AgreementForm(agreement=agreement)
    else:
        form = AgreementForm.for_agreement(agreement)
    if form.validate_on_submit():
        saved = save_or_show_error(
            form,
            lambda: update_agreement(agreement, form.data_for_service(), actor=current_user),
            list_errors=LIST_FIELDS,
        )
        if saved is not None:
            db.session.commit()
            flash(_("Agreement %(title)s saved.", title=agreement.title), "success")
            return redirect(url_for("agreements.detail", agreement_id=agreement.id))
        agreement = _agreement_or_404(agreement_id)
    return render_template("agreements/form.html", form=form, agreement=agreement)


@bp.route("/<int:agreement_id>/status", methods=["POST"])
@role_required(Role.MEMBER)
def status(agreement_id):
    agreement = _agreement_or_404(agreement_id)
    form = StatusForm()
    if not form.validate_on_submit():
        flash(_("The form had expired, or the status was unknown. Please try again."), "error")
    else:
        try:
            change_status(agreement, form.status.data, actor=current_user)
        except AgreementError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(_("The agreement is now %(status)s.", status=agreement.status.label), "success")
    return redirect(url_for("agreements.detail", agreement_id=agreement_id))


@bp.route("/<int:agreement_id>/delete", methods=["GET", "POST"])
@role_required(Role.COORDINATOR)
def delete(agreement_id):
    agreement = _agreement_or_404(agreement_id)
    return confirm_delete(
        agreement,
        template="agreements/delete.html",
        agreement=agreement,
        done_message=_(
            "Agreement %(title)s deleted. A coordinator can restore it.", title=agreement.title
        ),
        done_url=url_for("agreements.index"),
    )


@bp.route("/<int:agreement_id>/restore", methods=["POST"])
@role_required(Role.COORDINATOR)
def restore(agreement_id):
    agreement = _agreement_or_404(agreement_id, include_deleted=True)
    return restore_deleted(
        agreement,
        done_message=_("Agreement %(title)s restored.", title=agreement.title),
        done_url=url_for("agreements.detail", agreement_id=agreement.id),
    )
