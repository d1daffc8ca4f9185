"""The daily agreement job: warnings and reminders of notice and end dates, and expiry.

An agreement in force (signed or active) with an end date gets up to three reminders: a
warning from `agreement_warning_days` (an office setting, 30 by default; 0 for none) before
its notice date (end date − renewal notice days), a reminder from the notice date until the
day before it ends, and one on or after its end date. A run that comes late (the job did not
run for some days) sends only the latest that is due, and every e-mail names the dates as
dates, so it still reads right.

Each (agreement, event, date) is claimed by inserting an AgreementReminder row first, so a
reminder goes out once however often — or however concurrently — the job runs, and again
only when the date itself changes (a renewal). Agreements past their end date then expire.
"""

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from crm.agreements.lifecycle import IN_FORCE, status_changed
from crm.agreements.models import Agreement, AgreementReminder, AgreementStatus, ReminderEvent
from crm.auth.models import Role, User
from crm.core import audit
from crm.core.dates import local_today
from crm.core.links import external_url
from crm.extensions import db
from crm.mail.services import InvalidRecipient, queue_message
from crm.settings import services as settings


def notice_date(agreement):
    return agreement.end_date - timedelta(days=agreement.renewal_notice_days or 0)


def warning_days():
    """How many days before a notice date the warning goes out (0: no warning)."""
    value = settings.get("agreement_warning_days")
    return value if isinstance(value, int) and value >= 0 else 0


def due_events(agreement, today, warning_days=0):
    """(event, event date) pairs due today for an agreement in force with an end date. The
    warning's date is the notice date it warns of."""
    if agreement.end_date is None:
        return []
    if today >= agreement.end_date:
        return [(ReminderEvent.END, agreement.end_date)]
    notice = notice_date(agreement)
    if notice <= today:
        return [(ReminderEvent.NOTICE, notice)]
    if warning_days and notice - timedelta(days=warning_days) <= today:
        return [(ReminderEvent.WARNING, notice)]
    return []


def _agreements_in_force():
    return db.session.scalars(
        sa.select(Agreement)
        .where(
            Agreement.deleted_at.is_(None),
            Agreement.status.in_(IN_FORCE),
            Agreement.end_date.is_not(None),
        )
        .order_by(Agreement.end_date, Agreement.id)
    ).all()


def _already_sent(agreement, event, event_date):
    return (
        db.session.scalar(
            sa.select(AgreementReminder.id).where(
                AgreementReminder.agreement_id == agreement.id,
                AgreementReminder.event == event,
                AgreementReminder.event_date == event_date,
            )
        )
        is not None
    )


def _claim_reminder(agreement, event, event_date):
    """Insert the reminder row; False when another run has claimed it already."""
    try:
        with db.session.begin_nested():
            db.session.add(
                AgreementReminder(agreement_id=agreement.id, event=event, event_date=event_date)
            )
    except sa.exc.IntegrityError:
        return False
    return True


def recipients(agreement):
    """The agreement's owner and every active coordinator, each once, the owner first."""
    coordinators = db.session.scalars(
        sa.select(User)
        .where(User.active.is_(True), User.role == Role.COORDINATOR)
        .order_by(User.name, User.id)
    ).all()
    owner = agreement.owner
    people = ([owner] if owner is not None and owner.active else []) + list(coordinators)
    seen = set()
    unique = []
    for user in people:
        address = (user.email or "").strip().lower()
        if user.id in seen or address in seen:
            continue
        seen.update({user.id, address})
        unique.append(user)
    return unique


def _queue_reminder(user, agreement, event, event_date, url, today):
    language = user.language if user.language in current_app.config["LANGUAGES"] else "sv"
    with force_locale(language):
        if event == ReminderEvent.WARNING:
            subject = _(
                "Renewal notice date coming up for agreement: %(title)s", title=agreement.title
            )
        elif event == ReminderEvent.NOTICE:
            subject = _("Renewal notice date for agreement: %(title)s", title=agreement.title)
        else:
            subject = _("Agreement ends: %(title)s", title=agreement.title)
        body = render_template(
            "email/agreement_reminder.txt",
            user=user,
            agreement=agreement,
            event=event.value,
            event_date=event_date,
            # Days from the day the job runs, which may be later than the event was due.
            days_left=(event_date - today).days,
            url=url,
        )
    return queue_message(
        kind="agreement_reminder",
        recipient=user.email,
        subject=subject,
        body_text=body,
        language=language,
    )


def send_agreement_reminders(today=None):
    """Queue the warnings and the notice and end reminders due today that were not sent
    before.
    Returns {"reminders": n, "emails": n}. Never commits."""
    today = today or local_today()
    counts = {"reminders": 0, "emails": 0}
    days = warning_days()
    for agreement in _agreements_in_force():
        for event, event_date in due_events(agreement, today, days):
            if _already_sent(agreement, event, event_date):
                continue
            if not _claim_reminder(agreement, event, event_date):
                continue
            counts["reminders"] += 1
            url = external_url("agreements.detail", agreement_id=agreement.id)
            for user in recipients(agreement):
                try:
                    _queue_reminder(user, agreement, event, event_date, url, today)
                except InvalidRecipient:
                    current_app.logger.warning(
                        "Agreement reminder not queued for user %s: invalid address", user.id
                    )
                    continue
                counts["emails"] += 1
    return counts


def expire_agreements(today=None):
    """Agreements in force whose end date has passed become expired, each with an audit
    entry. Returns how many expired. Never commits."""
    today = today or local_today()
    candidates = db.session.scalars(
        sa.select(Agreement)
        .where(
            Agreement.deleted_at.is_(None),
            Agreement.status.in_(IN_FORCE),
            Agreement.end_date < today,
        )
        .order_by(Agreement.id)
    ).all()
    expired = 0
    for agreement in candidates:
        old_status = agreement.status
        # The status condition claims the change, so two runs at once expire it only once.
        result = db.session.execute(
            sa.update(Agreement)
            .where(Agreement.id == agreement.id, Agreement.status == old_status)
            .values(status=AgreementStatus.EXPIRED)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            continue
        db.session.refresh(agreement)
        audit.record(
            agreement,
            "update",
            actor=None,
            changes={"status": [old_status.value, AgreementStatus.EXPIRED.value]},
        )
        status_changed.send(
            agreement, old_status=old_status, new_status=AgreementStatus.EXPIRED, actor=None
        )
        expired += 1
    return expired


def run_agreement_reminders(today=None):
    """The daily agreement job: reminders first, then expiry.
    Returns {"reminders": n, "emails": n, "expired": n}. Never commits."""
    today = today or local_today()
    counts = send_agreement_reminders(today)
    counts["expired"] = expire_agreements(today)
    return counts
