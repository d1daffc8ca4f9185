"""The admin's outbox page: what was queued, sent and failed, and a retry for failures."""

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.routing import BuildError

from crm.auth.decorators import role_required
from crm.core import records
from crm.core.database import NotRetryable
from crm.core.listing import paginate
from crm.core.security import is_safe_next
from crm.core.types import enum_value
from crm.extensions import db
from crm.mail import bp, sending
from crm.mail.forms import RetryForm
from crm.mail.models import OutboxMessage, OutboxStatus

KIND_MAX_LENGTH = 40
# Role.ADMIN by value: crm.auth.models imports the enquiries package, whose services import
# crm.mail, so importing crm.auth.models here would be circular.
ADMIN = "admin"


def _message_or_404(message_id):
    message = db.session.get(OutboxMessage, message_id) if records.is_valid_id(message_id) else None
    return message or abort(404)


@bp.route("/")
@role_required(ADMIN)
def outbox():
    """Every message, newest first, filtered by status and kind."""
    status = enum_value(OutboxStatus, request.args.get("status"))
    kind = request.args.get("kind", "").strip()[:KIND_MAX_LENGTH] or None

    select = sa.select(OutboxMessage).order_by(
        OutboxMessage.created_at.desc(), OutboxMessage.id.desc()
    )
    if status:
        select = select.where(OutboxMessage.status == status)
    if kind:
        select = select.where(OutboxMessage.kind == kind)
    page = paginate(select)

    totals = dict(
        db.session.execute(
            sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)
        ).all()
    )
    kinds = db.session.scalars(
        sa.select(OutboxMessage.kind).distinct().order_by(OutboxMessage.kind)
    ).all()
    return render_template(
        "mail/outbox.html",
        page=page,
        filters={"status": status, "kind": kind},
        filtered=bool(status or kind),
        statuses=list(OutboxStatus),
        totals={member: totals.get(member, 0) for member in OutboxStatus},
        kinds=kinds,
    )


@bp.route("/<int:message_id>")
@role_required(ADMIN)
def detail(message_id):
    message = _message_or_404(message_id)
    return render_template(
        "mail/detail.html", message=message, enquiry_url=_enquiry_url(message.enquiry_id)
    )


def _enquiry_url(enquiry_id):
    """A link to the enquiry the message is about, once the enquiry pages exist."""
    if enquiry_id is None:
        return None
    try:
        return url_for("enquiries.detail", enquiry_id=enquiry_id)
    except BuildError:
        return None


@bp.route("/<int:message_id>/retry", methods=["POST"])
@role_required(ADMIN)
def retry(message_id):
    """Queue a failed message again; it goes out on the worker's next round."""
    message = _message_or_404(message_id)
    form = RetryForm()
    target = form.next.data if is_safe_next(form.next.data) else None
    target = target or url_for("mail.detail", message_id=message.id)
    if not form.validate_on_submit():
        flash(_("The form had expired. Please send it again."), "error")
        return redirect(target)
    try:
        sending.retry_message(message, actor=current_user)
    except NotRetryable:
        flash(_("Only a failed message can be sent again."), "error")
        return redirect(target)
    db.session.commit()
    flash(_("The message is queued to be sent again."), "success")
    return redirect(target)
