"""Adding notifications, counting and listing a user's, and marking them read. Never commits."""

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from crm.core.types import utcnow
from crm.extensions import db
from crm.notifications.models import KINDS, Notification


def notify(user, kind, *, task=None, enquiry=None, actor=None):
    """Tell `user` (if active) of `kind` about `task` or `enquiry`. Nobody is told of what
    they did themselves. Returns the notification, or None."""
    assert kind in KINDS
    if user is None or not user.active:
        return None
    if actor is not None and actor.id == user.id:
        return None
    notification = Notification(
        user_id=user.id,
        kind=kind,
        task_id=getattr(task, "id", None),
        enquiry_id=getattr(enquiry, "id", None),
        actor_id=getattr(actor, "id", None),
    )
    db.session.add(notification)
    db.session.flush()
    return notification


# Built once: the header asks on every signed-in page.
_UNREAD = (
    sa.select(sa.func.count())
    .select_from(Notification)
    .where(Notification.user_id == sa.bindparam("user_id"), Notification.read_at.is_(None))
)


def unread_count(user):
    """How many of the user's notifications are unread: one query on an index."""
    return db.session.execute(_UNREAD, {"user_id": user.id}).scalar_one()


def notifications_select(user):
    """The user's notifications, newest first, with what the list shows loaded."""
    return (
        sa.select(Notification)
        .where(Notification.user_id == user.id)
        .options(
            selectinload(Notification.task),
            selectinload(Notification.enquiry),
            selectinload(Notification.actor),
        )
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )


def notification_for(user, notification_id):
    """The user's own notification with this id, or None (another's is nobody's business)."""
    return db.session.scalar(
        sa.select(Notification).where(
            Notification.id == notification_id, Notification.user_id == user.id
        )
    )


def mark_read(notification):
    if notification.read_at is None:
        notification.read_at = utcnow()
        return True
    return False


def mark_all_read(user):
    """Mark every unread notification of the user read; returns how many."""
    result = db.session.execute(
        sa.update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount
