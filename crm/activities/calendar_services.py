"""The iCalendar feed: activities, agreement end and notice dates, and the user's own open
tasks' due dates, as calendar events."""

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from icalendar import Calendar, Event
from sqlalchemy.orm import selectinload

from crm.activities.models import Activity, ActivityOrganisation, Task
from crm.agreements.models import Agreement, AgreementStatus
from crm.auth.models import User
from crm.auth.services import new_calendar_token
from crm.core.dates import office_zone
from crm.core.formatting import format_day
from crm.core.links import external_url, public_host
from crm.core.types import utcnow
from crm.extensions import db

# The feed starts this far back; older events only slow calendar programs down.
FEED_HISTORY = timedelta(days=365)
DEFAULT_DURATION = timedelta(hours=1)


# ---------------------------------------------------------------- the secret token


def ensure_token(user):
    """The user's calendar token, created on first use. Flushes, never commits."""
    if not user.calendar_token:
        user.calendar_token = new_calendar_token()
        db.session.flush()
    return user.calendar_token


def renew_token(user):
    """A new token; the old feed URL stops working."""
    user.calendar_token = new_calendar_token()
    db.session.flush()
    return user.calendar_token


def user_for_token(token):
    """The active user whose feed this is, or None."""
    if not token or len(token) > 64:
        return None
    user = db.session.scalar(sa.select(User).where(User.calendar_token == token))
    if user is None or not user.active:
        return None
    return user


# ---------------------------------------------------------------- events


def _new_calendar(name=None):
    calendar = Calendar()
    calendar.add("prodid", "-//Collaboration CRM//calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name or _("Collaboration CRM"))
    calendar.add("x-wr-timezone", str(office_zone()))
    return calendar


def _activity_times(activity):
    """(dtstart, dtend): dates for an all-day activity (end exclusive), else local times."""
    if activity.start_time is None:
        last_day = activity.end_date or activity.start_date
        return activity.start_date, max(last_day, activity.start_date) + timedelta(days=1)
    zone = office_zone()
    start = datetime.combine(activity.start_date, activity.start_time, tzinfo=zone)
    end_date = activity.end_date or activity.start_date
    if activity.end_time is not None:
        end = datetime.combine(end_date, activity.end_time, tzinfo=zone)
    elif activity.end_date is not None and activity.end_date > activity.start_date:
        end = datetime.combine(end_date + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    else:
        end = start + DEFAULT_DURATION
    if end <= start:
        end = start + DEFAULT_DURATION
    return start, end


def _timed_event(activity, *, uid, dtstamp):
    event = Event()
    event.add("uid", f"{uid}@{public_host()}")
    event.add("dtstamp", dtstamp)
    start, end = _activity_times(activity)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", activity.title)
    return event


def activity_event(activity):
    event = _timed_event(activity, uid=f"activity-{activity.id}", dtstamp=utcnow())
    place = activity.place or (_("Online") if activity.is_online else None)
    if place:
        event.add("location", place)
    lines = [str(activity.kind.label)]
    organisations = [link.organisation.name for link in activity.organisations]
    if organisations:
        lines.append(_("Organisations: %(names)s", names=", ".join(organisations)))
    if activity.description:
        lines.append("")
        lines.append(activity.description)
    event.add("description", "\n".join(lines))
    event.add("status", "CANCELLED" if activity.status.value == "cancelled" else "CONFIRMED")
    event.add("url", external_url("activities.detail", activity_id=activity.id))
    return event


def public_activity_event(activity, *, url=None):
    """An activity as the public sees it (crm/public/): its title, times, place or "Online"
    as the public page shows them, kind and public summary; nothing internal (description,
    outcome, organisations, staff, contacts, the staff page's link).

    Its UID is not the staff feed's, so no calendar program that holds both merges the public
    copy with the staff one. Stamped with the activity's last change, not the time of asking:
    the feed is published without METHOD, where DTSTAMP says when the event last changed, and
    so the same data makes the same feed."""
    event = _timed_event(
        activity, uid=f"public-activity-{activity.id}", dtstamp=activity.updated_at
    )
    event.add("last-modified", activity.updated_at)
    place = _("Online") if activity.is_online else activity.place
    if place:
        event.add("location", place)
    kind = str(activity.kind.label)
    event.add("categories", [kind])
    summary = (activity.public_summary or "").strip()
    event.add("description", f"{kind}\n\n{summary}" if summary else kind)
    event.add("status", "CONFIRMED")
    if url:
        event.add("url", url)
    return event


def build_public_ics(activities, *, name, urls):
    """Public activities as iCalendar bytes; `urls` maps an activity's id to its address on
    the public page, where it has one."""
    calendar = _new_calendar(name)
    for activity in activities:
        calendar.add_component(public_activity_event(activity, url=urls.get(activity.id)))
    calendar.add_missing_timezones()
    return calendar.to_ical()


def agreement_events(agreement):
    """All-day events on the agreement's end date and on its renewal notice date."""
    events = []
    day = timedelta(days=1)
    end = Event()
    end.add("uid", f"agreement-{agreement.id}-end@{public_host()}")
    end.add("dtstamp", utcnow())
    end.add("dtstart", agreement.end_date)
    end.add("dtend", agreement.end_date + day)
    end.add("summary", _("Agreement ends: %(title)s", title=agreement.title))
    events.append(end)
    notice_date = agreement.end_date - timedelta(days=agreement.renewal_notice_days or 0)
    notice = Event()
    notice.add("uid", f"agreement-{agreement.id}-notice@{public_host()}")
    notice.add("dtstamp", utcnow())
    notice.add("dtstart", notice_date)
    notice.add("dtend", notice_date + day)
    notice.add(
        "summary",
        _("Renewal notice for agreement: %(title)s", title=agreement.title),
    )
    notice.add(
        "description",
        _(
            "The agreement ends on %(date)s; decide now whether to renew it.",
            date=format_day(agreement.end_date),
        ),
    )
    events.append(notice)
    return events


def task_event(task):
    """An all-day event on the day an open task is due."""
    event = Event()
    event.add("uid", f"task-{task.id}@{public_host()}")
    event.add("dtstamp", utcnow())
    event.add("dtstart", task.due_date)
    event.add("dtend", task.due_date + timedelta(days=1))
    event.add("summary", _("Task due: %(title)s", title=task.title))
    event.add("url", external_url("tasks.edit", task_id=task.id))
    return event


def open_tasks_of(user, *, since):
    """The user's own open tasks with a due date from `since` on (an overdue task stays in
    the feed until it is done, as long as it is not older than the feed)."""
    return db.session.scalars(
        sa.select(Task)
        .where(
            Task.assignee_id == user.id,
            Task.deleted_at.is_(None),
            Task.is_done.is_(False),
            Task.due_date.is_not(None),
            Task.due_date >= since,
        )
        .order_by(Task.due_date, Task.id)
    ).all()


def _activity_options():
    return (selectinload(Activity.organisations).selectinload(ActivityOrganisation.organisation),)


def build_feed(user, *, today):
    """The user's feed as iCalendar bytes: activities from a year back onward and agreement
    end and notice dates (the office's calendar, the same for everyone), and the user's own
    open tasks on their due dates."""
    since = today - FEED_HISTORY
    calendar = _new_calendar()
    activities = db.session.scalars(
        sa.select(Activity)
        .where(
            Activity.deleted_at.is_(None),
            sa.or_(Activity.start_date >= since, Activity.end_date >= since),
        )
        .options(*_activity_options())
        .order_by(Activity.start_date, Activity.id)
    ).all()
    for activity in activities:
        calendar.add_component(activity_event(activity))
    agreements = db.session.scalars(
        sa.select(Agreement)
        .where(
            Agreement.deleted_at.is_(None),
            # A terminated agreement neither ends nor needs renewing any more.
            Agreement.status != AgreementStatus.TERMINATED,
            Agreement.end_date.is_not(None),
            Agreement.end_date >= since,
        )
        .order_by(Agreement.end_date, Agreement.id)
    ).all()
    for agreement in agreements:
        for event in agreement_events(agreement):
            calendar.add_component(event)
    for task in open_tasks_of(user, since=since):
        calendar.add_component(task_event(task))
    calendar.add_missing_timezones()
    return calendar.to_ical()


def build_activity_ics(activity):
    calendar = _new_calendar()
    calendar.add("method", "PUBLISH")
    calendar.add_component(activity_event(activity))
    calendar.add_missing_timezones()
    return calendar.to_ical()
