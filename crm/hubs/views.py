"""The organisation, contact and agreement pages (see the package's docstring)."""

from flask import render_template, request
from flask_login import current_user

from crm.agreements import bp as agreements_bp
from crm.agreements.forms import StatusForm
from crm.agreements.lifecycle import ALLOWED_TRANSITIONS
from crm.agreements.models import Agreement
from crm.agreements.services import parties_by_side, renewal_notice_date, sorted_parties
from crm.auth.models import Role
from crm.core.forms import ConfirmForm
from crm.core.listing import MAX_PAGE
from crm.core.records import get_visible_or_404
from crm.hubs.services import agreement_hub, contact_hub, organisation_hub
from crm.organisations import bp as organisations_bp
from crm.organisations import contacts_bp
from crm.organisations import services as organisation_services
from crm.organisations.forms import AddMembershipForm
from crm.organisations.models import Contact, Organisation


def _timeline_args():
    """The timeline's ?kind= and ?page= (bad values fall back to all kinds, the first page)."""
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    return {"kind": request.args.get("kind"), "page": page}


def _include_deleted():
    # Coordinators and admins may open a deleted record, to restore it.
    return current_user.has_role(Role.COORDINATOR)


@organisations_bp.route("/<int:organisation_id>", endpoint="detail")
def organisation_page(organisation_id):
    organisation = get_visible_or_404(
        Organisation, organisation_id, include_deleted=_include_deleted()
    )
    hub = organisation_hub(organisation, current_user, **_timeline_args())
    current_associations = {row.association_id for row in hub["member_of"] if row.until is None}
    candidates = [
        association
        for association in organisation_services.associations()
        if association.id != organisation.id and association.id not in current_associations
    ]
    return render_template(
        "organisations/detail.html",
        organisation=organisation,
        membership_form=AddMembershipForm(associations=candidates, formdata=None),
        confirm_form=ConfirmForm(),
        **hub,
    )


@contacts_bp.route("/<int:contact_id>", endpoint="detail")
def contact_page(contact_id):
    contact = get_visible_or_404(Contact, contact_id, include_deleted=_include_deleted())
    return render_template(
        "contacts/detail.html",
        contact=contact,
        restore_form=ConfirmForm(),
        **contact_hub(contact, current_user, **_timeline_args()),
    )


@agreements_bp.route("/<int:agreement_id>", endpoint="detail")
def agreement_page(agreement_id):
    agreement = get_visible_or_404(Agreement, agreement_id, include_deleted=_include_deleted())
    return render_template(
        "agreements/detail.html",
        agreement=agreement,
        parties=sorted_parties(agreement),
        sides=parties_by_side(agreement),
        notice_date=renewal_notice_date(agreement),
        next_statuses=ALLOWED_TRANSITIONS[agreement.status],
        status_form=StatusForm(),
        confirm_form=ConfirmForm(),
        **agreement_hub(agreement),
    )
