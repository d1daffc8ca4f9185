"""Webhooks: HTTPS endpoints an admin registers for events, and each event's delivery to each.

A delivery is written in the transaction of the change it reports (crm/webhooks/events.py)
and sent later by `flask crm send-webhooks` (crm/webhooks/delivery.py), as e-mail goes
through the outbox: a receiver that is down loses nothing, and a change that is rolled back
announces nothing.
"""

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.models import TimestampMixin
from crm.core.types import LabelledEnum, UTCDateTime, enum_column, utcnow
from crm.extensions import db

# What an attempt keeps of the receiver's answer: enough to see what went wrong.
RESPONSE_BODY_LIMIT = 2048

# The events a webhook can be sent, with what the admin reads when choosing them. Where each
# comes from, and what its body says: crm/webhooks/events.py.
EVENTS = {
    "enquiry.received": _l("An enquiry is received (from the contact form or the mailbox)"),
    "enquiry.assigned": _l("An enquiry is assigned to someone"),
    "enquiry.closed": _l("An enquiry is closed"),
    "activity.created": _l("An activity is logged"),
    "agreement.status_changed": _l("An agreement's status changes"),
    "task.due": _l("A task's due date comes while it is not done"),
}
# The test event an admin sends from the webhook's page, to whichever events it is sent.
PING = "ping"


class DeliveryStatus(LabelledEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after the last attempt, or refused to send

    @staticmethod
    def _labels():
        return {"pending": _l("Pending"), "delivered": _l("Delivered"), "failed": _l("Failed")}


class Webhook(TimestampMixin, db.Model):
    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(sa.String(2000))
    description: Mapped[str] = mapped_column(sa.String(200), default="")
    # The event names it is sent (crm.webhooks.events.EVENTS). An office has a handful of
    # webhooks, so an event reads them all and picks in Python; no table of subscriptions.
    events: Mapped[list] = mapped_column(sa.JSON, default=list)
    # The HMAC key the deliveries are signed with. Kept as it is because signing needs it;
    # shown to the admin once, when it is made (crm/webhooks/views.py).
    secret: Mapped[str] = mapped_column(sa.String(100))
    active: Mapped[bool] = mapped_column(default=True)

    deliveries: Mapped[list["WebhookDelivery"]] = relationship(
        back_populates="webhook",
        cascade="all, delete-orphan",
        # The database deletes them (ON DELETE CASCADE): a webhook may have thousands.
        passive_deletes=True,
        lazy="raise",
    )

    def __repr__(self):
        return f"<Webhook {self.id} {self.url}>"


class WebhookDelivery(db.Model):
    """One event for one webhook: the body as it is sent on every attempt, and how the
    last attempt went."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # The worker's question: pending ones due by now.
        sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        # A webhook's deliveries, newest first (its page), and its latest (the list).
        sa.Index("ix_webhook_deliveries_webhook", "webhook_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The event's id in the body and the Webhook-Id header, the same on every attempt, so a
    # receiver can tell a retry from a new event.
    uuid: Mapped[str] = mapped_column(sa.String(36), unique=True)
    webhook_id: Mapped[int] = mapped_column(sa.ForeignKey("webhooks.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(sa.String(40))
    # The JSON body, serialised once when the event happened, so every attempt sends (and
    # signs) the same bytes.
    payload: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_status: Mapped[int | None]
    # The start of the receiver's answer, as text; pages show it as text, never as HTML.
    response_body: Mapped[str | None] = mapped_column(sa.Text)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    webhook: Mapped[Webhook] = relationship(back_populates="deliveries")

    def __repr__(self):
        return f"<WebhookDelivery {self.id} {self.event} {self.status}>"
