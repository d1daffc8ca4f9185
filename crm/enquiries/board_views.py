"""The enquiry board: the enquiries the user may read as columns by status, and the move of a
card from one column to another.

A move is a status change like the one on the enquiry's page: the same service
(services.change_status), so the same rules (a reason on closing, no way back to new, only a
coordinator reopens) and the same audit entry. The card's form works without JavaScript;
static/js/board.js adds drag and drop, which submits that same form.
"""

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from crm.auth.decorators import role_required
from crm.auth.models import Role
from crm.core import boards
from crm.core.types import utcnow
from crm.enquiries import bp, services
from crm.enquiries.forms import StatusForm
from crm.enquiries.models import ClosedReason, Enquiry, EnquiryStatus
from crm.enquiries.views import get_enquiry_or_404
from crm.extensions import db

CARD_LIMIT = boards.CARD_LIMIT
# Open enquiries oldest first (what has waited longest); converted and closed ones the most
# recently finished first. The first key is NULL for every open enquiry.
_FINISHED_AT = sa.case(
    (Enquiry.status == EnquiryStatus.CLOSED, Enquiry.closed_at),
    (Enquiry.status == EnquiryStatus.CONVERTED, Enquiry.converted_at),
)
BOARD_ORDER = (_FINISHED_AT.desc(), Enquiry.received_at, Enquiry.id)


def board_columns(user):
    """A column per status with the enquiries `user` may read (see boards.board_columns)."""
    return boards.board_columns(
        Enquiry,
        list(EnquiryStatus),
        where=services.readable_enquiries(user),
        order=BOARD_ORDER,
        options=(selectinload(Enquiry.assignee), selectinload(Enquiry.organisation)),
        limit=CARD_LIMIT,
    )


def _render_board(error=None):
    columns = board_columns(current_user)
    moves = {
        enquiry.id: [
            (status.value, status.label)
            for status in services.status_choices(enquiry, current_user)
        ]
        for column in columns
        for enquiry in column.cards
    }
    return render_template(
        "enquiries/board.html",
        columns=columns,
        moves=moves,
        reasons=[(reason.value, reason.label) for reason in ClosedReason],
        error=error,
        card_limit=CARD_LIMIT,
        now=utcnow(),
    )


def _reference(enquiry):
    return enquiry.reference or f"#{enquiry.id}"


@bp.route("/board")
@role_required(Role.MEMBER)
def board():
    return _render_board()


@bp.route("/board/<int:enquiry_id>/move", methods=["POST"])
@role_required(Role.MEMBER)
def board_move(enquiry_id):
    """Move a card: change the enquiry's status from the board, then show the board again."""
    enquiry = get_enquiry_or_404(enquiry_id)
    allowed = services.status_choices(enquiry, current_user)
    form = StatusForm(statuses=allowed)
    wanted = (request.form.get(form.status.name) or "").strip()
    reason = (request.form.get(form.closed_reason.name) or "").strip()

    def refuse(message, field="status"):
        db.session.rollback()
        return _render_board(
            boards.MoveError(enquiry.id, message, field=field, status=wanted, reason=reason)
        )

    if wanted not in {status.value for status in allowed}:
        try:
            target = EnquiryStatus(wanted).label
        except ValueError:
            return refuse(_("Choose where to move %(reference)s.", reference=_reference(enquiry)))
        return refuse(
            _(
                "%(reference)s cannot move from %(old)s to %(new)s.",
                reference=_reference(enquiry),
                old=enquiry.status.label,
                new=target,
            )
        )
    if not form.validate_on_submit():
        if form.closed_reason.errors:
            return refuse(str(form.closed_reason.errors[0]), field="closed_reason")
        return refuse(_("The form had expired. Please try again."))
    try:
        changed = services.change_status(enquiry, wanted, reason=reason, actor=current_user)
    except services.EnquiryError as error:
        return refuse(str(error), field=error.field or "status")
    db.session.commit()
    if changed:
        flash(
            _(
                "%(reference)s moved to %(status)s.",
                reference=_reference(enquiry),
                status=enquiry.status.label,
            ),
            "success",
        )
    return redirect(url_for("enquiries.board", _anchor=f"enquiry-{enquiry.id}"))
