"""The signed-in user's notifications: the list, opening one, and "mark all read"."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.core.listing import paginate
from crm.core.records import parse_id
from crm.extensions import db
from crm.notifications import bp, services
from crm.notifications.forms import NotificationActionForm
from crm.notifications.models import ENQUIRY_ASSIGNED, ENQUIRY_REPLY, TASK_ASSIGNED, TASK_DUE


def describe(notification):
    """What happened, in the reader's language, from the record as it is now."""
    actor = notification.actor.name if notification.actor else None
    task, enquiry = notification.task, notification.enquiry
    title = task.title if task is not None else ""
    reference = (enquiry.reference or f"#{enquiry.id}") if enquiry is not None else ""
    if notification.kind == TASK_ASSIGNED:
        if actor:
            return _("%(actor)s gave you the task %(title)s", actor=actor, title=title)
        return _("You were given the task %(title)s", title=title)
    if notification.kind == ENQUIRY_ASSIGNED:
        if actor:
            return _(
                "%(actor)s assigned the enquiry %(reference)s to you",
                actor=actor,
                reference=reference,
            )
        return _("The enquiry %(reference)s was assigned to you", reference=reference)
    if notification.kind == ENQUIRY_REPLY:
        return _("New e-mail on enquiry %(reference)s", reference=reference)
    if notification.kind == TASK_DUE:
        return _("Task due: %(title)s", title=title)
    return notification.kind


def target_url(notification):
    """Where the notification leads: its task or enquiry, None when that was deleted."""
    if notification.task is not None and not notification.task.is_deleted:
        return url_for("tasks.edit", task_id=notification.task_id)
    if notification.enquiry is not None and not notification.enquiry.is_deleted:
        return url_for("enquiries.detail", enquiry_id=notification.enquiry_id)
    return None


@bp.route("/")
def index():
    page = paginate(services.notifications_select(current_user))
    rows = [
        {"notification": item, "text": describe(item), "url": target_url(item)}
        for item in page.items
    ]
    return render_template(
        "notifications/index.html",
        page=page,
        rows=rows,
        unread=services.unread_count(current_user),
        form=NotificationActionForm(),
    )


@bp.route("/open", methods=["POST"])
def open_notification():
    """Mark the notification (form field notification_id) read and go to what it is about;
    back to the list when that is gone, or when no notification was named."""
    form = NotificationActionForm()
    if not form.validate_on_submit():
        abort(400)
    if not request.form.get("notification_id"):
        return redirect(url_for("notifications.index"))
    notification = services.notification_for(
        current_user, parse_id(request.form["notification_id"])
    )
    if notification is None:
        abort(404)
    if services.mark_read(notification):
        db.session.commit()
    url = target_url(notification)
    if url is None:
        flash(_("What this notification was about has been deleted."), "info")
        return redirect(url_for("notifications.index"))
    return redirect(url)


@bp.route("/read-all", methods=["POST"])
def read_all():
    form = NotificationActionForm()
    if not form.validate_on_submit():
        abort(400)
    count = services.mark_all_read(current_user)
    db.session.commit()
    if count:
        flash(_("All notifications marked as read."), "success")
    return redirect(url_for("notifications.index"))


@bp.app_context_processor
def unread_notifications():
    """unread_notifications() for the header: asked only where the header shows it."""

    def count():
        if not current_user.is_authenticated:
            return 0
        return services.unread_count(current_user)

    return {"unread_notifications": count}
