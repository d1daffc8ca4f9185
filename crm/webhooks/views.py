"""The admin's webhook pages: the list, a webhook with its deliveries, and the changes."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.auth.decorators import role_required
from crm.auth.models import Role
from crm.core import audit, records
from crm.core.database import NotRetryable
from crm.core.deletion import confirm_delete
from crm.core.forms import ConfirmForm, save_or_show_error
from crm.core.listing import paginate
from crm.extensions import db
from crm.webhooks import bp, services
from crm.webhooks.forms import WebhookForm
from crm.webhooks.models import EVENTS, Webhook, WebhookDelivery


@bp.before_request
@role_required(Role.ADMIN)
def require_admin():
    """Every webhook page is for admins only: a webhook sends the CRM's events elsewhere."""


def _webhook_or_404(webhook_id):
    webhook = db.session.get(Webhook, webhook_id) if records.is_valid_id(webhook_id) else None
    return webhook or abort(404)


@bp.route("/")
def index():
    return render_template(
        "webhooks/index.html",
        webhooks=services.webhooks_with_last_delivery(),
        event_labels=EVENTS,
    )


@bp.route("/new", methods=["GET", "POST"])
def create():
    """A new webhook; the page that answers shows its secret, this once."""
    form = WebhookForm()
    if form.validate_on_submit():
        webhook = save_or_show_error(
            form,
            lambda: services.create_webhook(form.data_for_service(), actor=current_user),
        )
        if webhook is not None:
            db.session.commit()
            flash(_("Webhook saved."), "success")
            return _show_secret(webhook, new=True)
    return render_template("webhooks/form.html", form=form, webhook=None)


@bp.route("/<int:webhook_id>")
def detail(webhook_id):
    """The webhook, and its deliveries newest first, with what the receiver answered."""
    webhook = _webhook_or_404(webhook_id)
    return render_template(
        "webhooks/detail.html",
        webhook=webhook,
        page=paginate(services.deliveries_select(webhook)),
        event_labels=EVENTS,
        history=audit.history("webhooks", webhook.id),
    )


@bp.route("/<int:webhook_id>/edit", methods=["GET", "POST"])
def edit(webhook_id):
    webhook = _webhook_or_404(webhook_id)
    form = WebhookForm(obj=webhook)
    if form.validate_on_submit():
        changed = save_or_show_error(
            form,
            lambda: services.update_webhook(webhook, form.data_for_service(), actor=current_user),
        )
        if changed is not None:
            db.session.commit()
            if changed:
                flash(_("Webhook saved."), "success")
            else:
                flash(_("Nothing was changed."), "info")
            return redirect(url_for("webhooks.detail", webhook_id=webhook.id))
    return render_template("webhooks/form.html", form=form, webhook=webhook)


@bp.route("/<int:webhook_id>/delete", methods=["GET", "POST"])
def delete(webhook_id):
    webhook = _webhook_or_404(webhook_id)
    return confirm_delete(
        webhook,
        template="webhooks/delete.html",
        webhook=webhook,
        delete=services.delete_webhook,
        done_message=_("Webhook deleted."),
        done_url=url_for("webhooks.index"),
    )


@bp.route("/<int:webhook_id>/secret", methods=["GET", "POST"])
def rotate_secret(webhook_id):
    """Confirm, then give the webhook a new secret and show it, this once."""
    webhook = _webhook_or_404(webhook_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        services.rotate_secret(webhook, actor=current_user)
        db.session.commit()
        flash(_("The webhook has a new secret. The old one no longer works."), "success")
        return _show_secret(webhook, new=False)
    return render_template("webhooks/rotate_secret.html", form=form, webhook=webhook)


def _show_secret(webhook, *, new):
    # Rendered as the answer to the POST, never at an address of its own, so the secret is
    # shown once: reloading asks to send the form again, and no page shows it afterwards.
    # Staff pages are never stored by the browser (Cache-Control: no-store).
    return render_template("webhooks/secret.html", webhook=webhook, new=new)


@bp.route("/<int:webhook_id>/ping", methods=["POST"])
def ping(webhook_id):
    """Queue a test event; the webhook worker sends it on its next round."""
    webhook = _webhook_or_404(webhook_id)
    target = url_for("webhooks.detail", webhook_id=webhook.id)
    if not ConfirmForm().validate_on_submit():
        flash(_("The form had expired. Please send it again."), "error")
        return redirect(target)
    try:
        services.send_test_event(webhook, actor=current_user)
    except services.WebhookError as error:
        flash(str(error), "error")
        return redirect(target)
    db.session.commit()
    flash(
        _(
            "A test event is queued. The webhook worker sends it within a few seconds: "
            "reload this page to see the answer."
        ),
        "success",
    )
    return redirect(target)


@bp.route("/deliveries/<int:delivery_id>/retry", methods=["POST"])
def retry(delivery_id):
    """Queue a failed delivery again, due now."""
    delivery = (
        db.session.get(WebhookDelivery, delivery_id) if records.is_valid_id(delivery_id) else None
    ) or abort(404)
    target = url_for("webhooks.detail", webhook_id=delivery.webhook_id)
    if not ConfirmForm().validate_on_submit():
        flash(_("The form had expired. Please send it again."), "error")
        return redirect(target)
    try:
        services.retry_delivery(delivery, actor=current_user)
    except NotRetryable:
        flash(_("Only a failed delivery can be sent again."), "error")
        return redirect(target)
    db.session.commit()
    flash(_("The delivery is queued to be sent again."), "success")
    return redirect(target)
