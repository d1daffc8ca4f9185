"""The unmatched-mail list for coordinators, each e-mail's own page, and the actions on an
unmatched message: attach to an enquiry, log as an e-mail activity, discard."""

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.auth.decorators import role_required
from crm.auth.models import Role
from crm.core import records
from crm.core.forms import ConfirmForm
from crm.core.listing import paginate
from crm.documents import services as document_services
from crm.enquiries import services as enquiry_services
from crm.enquiries.models import Enquiry
from crm.extensions import db
from crm.mail.models import Email, EmailDirection, EmailState
from crm.mailbox import bp, parsing, services
from crm.mailbox.forms import AttachForm, LogForm


def _email_or_404(email_id):
    email = db.session.get(Email, email_id) if records.is_valid_id(email_id) else None
    if email is None or not services.can_read(email, current_user):
        abort(404)
    return email


def _unmatched_or_back(email_id):
    """The unmatched e-mail, or a redirect to its page when someone has filed it already."""
    email = _email_or_404(email_id)
    if email.state != EmailState.UNMATCHED:
        flash(_("This e-mail has already been filed or discarded."), "warning")
        return email, redirect(url_for("mailbox.email", email_id=email.id))
    return email, None


@bp.route("/")
@role_required(Role.COORDINATOR)
def unmatched():
    """Incoming mail no rule could file, newest first."""
    select = (
        sa.select(Email)
        .where(Email.state == EmailState.UNMATCHED, Email.direction == EmailDirection.INCOMING)
        .order_by(Email.received_at.desc(), Email.id.desc())
    )
    return render_template(
        "mailbox/unmatched.html",
        page=paginate(select),
        incoming_on=bool(current_app.config.get("IMAP_HOST")),
    )


@bp.route("/<int:email_id>")
def email(email_id):
    """One e-mail: its headers, the new text, the full text collapsed, and attachments."""
    email = _email_or_404(email_id)
    enquiry = db.session.get(Enquiry, email.enquiry_id) if email.enquiry_id else None
    if enquiry is not None and not enquiry_services.can_read(enquiry, current_user):
        enquiry = None
    may_file = email.state == EmailState.UNMATCHED and current_user.has_role(Role.COORDINATOR)
    matched = None
    if may_file:
        contacts, organisations = services.matched_records(
            services.addresses_to_match(email, parsing.forwarded_addresses(email.body_text))
        )
        matched = {"contacts": contacts, "organisations": organisations}
    return render_template(
        "mailbox/email.html",
        email=email,
        enquiry=enquiry,
        documents=document_services.documents_for(email),
        may_file=may_file,
        matched=matched,
        attach_form=AttachForm(),
        log_form=LogForm(),
    )


@bp.route("/<int:email_id>/attach", methods=["POST"])
@role_required(Role.COORDINATOR)
def attach(email_id):
    email, back = _unmatched_or_back(email_id)
    if back is not None:
        return back
    form = AttachForm()
    if not form.validate_on_submit():
        flash(_("Enter the reference of the enquiry, such as ENQ-2026-00042."), "error")
        return redirect(url_for("mailbox.email", email_id=email.id))
    enquiry = services.enquiry_by_reference(form.reference.data.upper())
    if enquiry is None:
        flash(_("There is no enquiry with that reference."), "error")
        return redirect(url_for("mailbox.email", email_id=email.id))
    services.attach_to_enquiry(email, enquiry, actor=current_user)
    db.session.commit()
    flash(
        _("The e-mail is filed on enquiry %(reference)s.", reference=enquiry.reference),
        "success",
    )
    return redirect(url_for("mailbox.unmatched"))


@bp.route("/<int:email_id>/log", methods=["POST"])
@role_required(Role.COORDINATOR)
def log(email_id):
    email, back = _unmatched_or_back(email_id)
    if back is not None:
        return back
    if not LogForm().validate_on_submit():
        flash(_("The form has expired. Try again."), "error")
        return redirect(url_for("mailbox.email", email_id=email.id))
    activity = services.log_as_activity(
        email,
        actor=current_user,
        forwarded=parsing.forwarded_addresses(email.body_text),
    )
    db.session.commit()
    flash(_("The e-mail is logged as an activity."), "success")
    return redirect(url_for("activities.detail", activity_id=activity.id))


@bp.route("/<int:email_id>/discard", methods=["GET", "POST"])
@role_required(Role.COORDINATOR)
def discard(email_id):
    email, back = _unmatched_or_back(email_id)
    if back is not None:
        return back
    form = ConfirmForm()
    if form.validate_on_submit():
        services.discard(email, actor=current_user)
        db.session.commit()
        flash(_("The e-mail is discarded."), "success")
        return redirect(url_for("mailbox.unmatched"))
    return render_template("mailbox/discard.html", email=email, form=form)
