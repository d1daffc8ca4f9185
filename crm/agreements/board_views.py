"""The agreement board: agreements as columns by lifecycle stage (crm/agreements/lifecycle.py),
and the move of a card from one stage to another.

A move is the status change of the agreement's page: services.change_status, so the same
lifecycle (ALLOWED_TRANSITIONS), the same date rules (a signed agreement needs the date it was
signed, an active one must have started) and the same audit entry. The card's form works
without JavaScript; static/js/board.js adds drag and drop, which submits that same form.
"""

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from crm.agreements import bp, services
from crm.agreements.forms import StatusForm
from crm.agreements.lifecycle import ALLOWED_TRANSITIONS
from crm.agreements.models import Agreement, AgreementParty, AgreementStatus
from crm.auth.decorators import role_required
from crm.auth.models import Role
from crm.core import boards, records
from crm.extensions import db

CARD_LIMIT = boards.CARD_LIMIT
ENDED_STATUSES = (AgreementStatus.EXPIRED, AgreementStatus.TERMINATED)
# Ended agreements the most recently ended first; the others by end date, the soonest first
# (open-ended ones last), then by title. The first key is NULL for every agreement not ended.
BOARD_ORDER = (
    sa.case((Agreement.status.in_(ENDED_STATUSES), Agreement.end_date)).desc(),
    Agreement.end_date.is_(None),
    Agreement.end_date,
    Agreement.title,
    Agreement.id,
)


def board_columns():
    """A column per lifecycle stage with the agreements not deleted (see boards.board_columns)."""
    return boards.board_columns(
        Agreement,
        list(AgreementStatus),
        where=Agreement.deleted_at.is_(None),
        order=BOARD_ORDER,
        options=(
            selectinload(Agreement.parties).selectinload(AgreementParty.organisation),
            selectinload(Agreement.owner),
        ),
        limit=CARD_LIMIT,
    )


def _render_board(error=None):
    columns = board_columns()
    may_move = current_user.has_role(Role.MEMBER)
    moves = {
        agreement.id: [
            (status.value, status.label) for status in ALLOWED_TRANSITIONS[agreement.status]
        ]
        if may_move
        else []
        for column in columns
        for agreement in column.cards
    }
    return render_template(
        "agreements/board.html",
        columns=columns,
        moves=moves,
        may_move=may_move,
        error=error,
        parties_by_side=services.parties_by_side,
        sorted_parties=services.sorted_parties,
    )


@bp.route("/board")
def board():
    return _render_board()


@bp.route("/board/<int:agreement_id>/move", methods=["POST"])
@role_required(Role.MEMBER)
def board_move(agreement_id):
    """Move a card: change the agreement's status from the board, then show the board again."""
    agreement = records.get_visible_or_404(Agreement, agreement_id)
    form = StatusForm()
    wanted = (request.form.get(form.status.name) or "").strip()

    def refuse(message, field="status"):
        db.session.rollback()
        return _render_board(boards.MoveError(agreement.id, message, field=field, status=wanted))

    allowed = {status.value for status in ALLOWED_TRANSITIONS[agreement.status]}
    if wanted not in allowed:
        try:
            target = AgreementStatus(wanted).label
        except ValueError:
            return refuse(_("Choose where to move %(title)s.", title=agreement.title))
        return refuse(
            _(
                "%(title)s cannot move from %(old)s to %(new)s.",
                title=agreement.title,
                old=agreement.status.label,
                new=target,
            )
        )
    if not form.validate_on_submit():
        return refuse(_("The form had expired. Please try again."))
    try:
        services.change_status(agreement, wanted, actor=current_user)
    except services.AgreementError as error:
        return refuse(str(error), field=error.field or "status")
    db.session.commit()
    flash(
        _("%(title)s moved to %(status)s.", title=agreement.title, status=agreement.status.label),
        "success",
    )
    return redirect(url_for("agreements.board", _anchor=f"agreement-{agreement.id}"))
