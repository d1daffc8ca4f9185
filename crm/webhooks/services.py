"""Webhooks: registering them, queueing their deliveries, and the admin's actions on both.

Services flush and never commit. A delivery is queued in the caller's transaction, like an
outbox message, so it is stored with the change it reports or not at all; the worker
(crm/webhooks/delivery.py) sends it later.
"""

import json
import secrets
import uuid
from datetime import UTC, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm.core import audit
from crm.core.database import queue_again
from crm.core.forms import FieldError
from crm.core.types import utcnow
from crm.extensions import db
from crm.webhooks import addresses
from crm.webhooks.models import EVENTS, PING, DeliveryStatus, Webhook, WebhookDelivery

MAX_DESCRIPTION_LENGTH = 200
SECRET_PREFIX = "whsec_"  # noqa: S105  (a prefix, not a secret)

audit.describe_fields(
    "webhooks",
    {
        "url": (_l("Address"), None),
        "events": (_l("Events"), None),
        "active": (_l("Active"), bool),
    },
)
audit.describe_actions({"rotate_secret": _l("made a new secret")})


class WebhookError(FieldError):
    """A webhook that cannot be saved, or an action that cannot be taken (see FieldError)."""


# ---------------------------------------------------------------- queueing events


def subscribed_webhooks(event):
    """The active webhooks that are sent `event`."""
    webhooks = db.session.scalars(
        sa.select(Webhook).where(Webhook.active.is_(True)).order_by(Webhook.id)
    ).all()
    return [webhook for webhook in webhooks if event in (webhook.events or [])]


def queue_event(event, data, *, webhooks):
    """Add a delivery of `event` with `data` (JSON-safe) for each of `webhooks` to the
    session, in the caller's transaction. Returns the deliveries."""
    now = utcnow()
    deliveries = []
    for webhook in webhooks:
        delivery_id = str(uuid.uuid4())
        body = {
            "id": delivery_id,
            "event": event,
            "occurred_at": iso_moment(now),
            "data": data,
        }
        delivery = WebhookDelivery(
            uuid=delivery_id,
            webhook_id=webhook.id,
            event=event,
            payload=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        db.session.add(delivery)
        deliveries.append(delivery)
    return deliveries


def iso_moment(moment):
    """A moment as the payloads write it: ISO 8601 in UTC, to the second, e.g.
    2026-03-01T09:30:00Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def send_test_event(webhook, *, actor):
    """Queue a `ping` for the webhook, whatever events it is sent, to try the receiver."""
    if not webhook.active:
        raise WebhookError(_("Switch the webhook on before sending it a test event."))
    [delivery] = queue_event(
        PING,
        {"webhook_id": webhook.id, "sent_by": getattr(actor, "id", None)},
        webhooks=[webhook],
    )
    db.session.flush()
    return delivery


def retry_delivery(delivery, *, actor):
    """Put a failed delivery back in the queue, due now, with its attempts counted afresh;
    NotRetryable when it has not failed."""
    queue_again(delivery, failed=DeliveryStatus.FAILED, pending=DeliveryStatus.PENDING)
    current_app.logger.info(
        "Webhook delivery %s (%s) queued again by user %s",
        delivery.id,
        delivery.event,
        getattr(actor, "id", None),
    )
    return delivery


def prune_deliveries(*, now=None):
    """Delete the deliveries that were delivered or given up more than WEBHOOKS_KEEP_DAYS
    ago; pending ones stay whatever their age. Returns how many. Never commits."""
    days = current_app.config["WEBHOOKS_KEEP_DAYS"]
    before = (now or utcnow()) - timedelta(days=days)
    result = db.session.execute(
        sa.delete(WebhookDelivery)
        .where(
            WebhookDelivery.status != DeliveryStatus.PENDING,
            WebhookDelivery.created_at < before,
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


# ---------------------------------------------------------------- registering webhooks


def new_secret():
    """A random signing secret; the prefix lets secret scanners and people recognise it."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def create_webhook(data, *, actor):
    """data: {"url", "description", "events", "active"}. Refuses (WebhookError) an address
    it may not send to. The new secret is `webhook.secret`: show it to the admin now."""
    values = _checked(data)
    webhook = Webhook(**values, secret=new_secret(), created_by_id=getattr(actor, "id", None))
    db.session.add(webhook)
    audit.record(
        webhook,
        "create",
        actor=actor,
        changes={key: [None, value] for key, value in values.items() if value != ""},
    )
    return webhook


def update_webhook(webhook, data, *, actor):
    """Change the address, description, events and active flag; True when anything changed."""
    values = _checked(data)
    changes = {}
    for key, value in values.items():
        if getattr(webhook, key) != value:
            changes[key] = [getattr(webhook, key), value]
            setattr(webhook, key, value)
    if changes:
        audit.record(webhook, "update", actor=actor, changes=changes)
    return bool(changes)


def delete_webhook(webhook, *, actor):
    """Delete the webhook for good, with its deliveries (pending ones are not sent)."""
    audit.record(webhook, "delete", actor=actor, changes={"url": [webhook.url, None]})
    db.session.delete(webhook)
    db.session.flush()


def rotate_secret(webhook, *, actor):
    """Give the webhook a new secret at once (the old one stops working); returns it."""
    webhook.secret = new_secret()
    # The secret itself is never written to the history.
    audit.record(webhook, "rotate_secret", actor=actor, changes={})
    return webhook.secret


def _checked(data):
    url = (data.get("url") or "").strip()
    if not url:
        raise WebhookError(_("Enter the address to send the events to."), field="url")
    try:
        # Where private addresses are allowed, any address would pass: no lookup needed.
        addresses.check_url(url, resolve=not addresses.allow_private())
    except addresses.UnsafeURL as error:
        raise WebhookError(url_refusal(error), field="url") from None
    description = " ".join((data.get("description") or "").split())
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise WebhookError(
            _("The description can be at most %(count)d characters.", count=MAX_DESCRIPTION_LENGTH),
            field="description",
        )
    chosen = set(data.get("events") or [])
    if chosen - set(EVENTS):
        raise WebhookError(_("Choose events from the list."), field="events")
    if not chosen:
        raise WebhookError(_("Choose at least one event."), field="events")
    # Kept in the list's order, so the pages and the history read them alike.
    events = [event for event in EVENTS if event in chosen]
    return {
        "url": url,
        "description": description,
        "events": events,
        "active": bool(data.get("active")),
    }


def url_refusal(error):
    """Why a webhook may not be sent to an address, in the admin's language."""
    if error.reason == "scheme":
        if addresses.allow_private():
            return _("The address must start with https:// or http://.")
        return _("The address must start with https://: events are not sent unencrypted.")
    if error.reason == "credentials":
        return _(
            "Leave the user name and password out of the address: the signature tells the "
            "receiver that an event comes from the CRM."
        )
    if error.reason == "unresolved":
        return _("The host %(host)s could not be found. Check the address.", host=error.host)
    if error.reason == "private":
        return _(
            "%(host)s is a private, local or reserved address (%(address)s). Webhooks are "
            "only sent to addresses on the internet, so that they cannot reach the CRM's own "
            "network.",
            host=error.host,
            address=error.address,
        )
    return _("Enter the whole address, such as https://example.org/hooks/crm.")


# ---------------------------------------------------------------- lists


def webhooks_with_last_delivery():
    """Every webhook, oldest first, with its latest delivery (or None)."""
    webhooks = db.session.scalars(sa.select(Webhook).order_by(Webhook.id)).all()
    latest_ids = (
        sa.select(sa.func.max(WebhookDelivery.id))
        .group_by(WebhookDelivery.webhook_id)
        .scalar_subquery()
    )
    latest = {
        delivery.webhook_id: delivery
        for delivery in db.session.scalars(
            sa.select(WebhookDelivery).where(WebhookDelivery.id.in_(latest_ids))
        )
    }
    return [(webhook, latest.get(webhook.id)) for webhook in webhooks]


def deliveries_select(webhook):
    """The webhook's deliveries, newest first."""
    return (
        sa.select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook.id)
        .order_by(WebhookDelivery.id.desc())
    )
