"""Which activities the public sees, for the public page and the public feed alike.

One rule: an activity is public when it is marked public, not deleted and not cancelled. A
cancelled activity leaves the page and the feeds rather than staying on them marked: the page
never showed it, and calendar programs drop an event that leaves a subscribed feed.
"""

from datetime import time, timedelta

import sqlalchemy as sa

from crm.activities.models import Activity, ActivityStatus
from crm.extensions import db

# The public page's lists.
UPCOMING_LIMIT = 10
RECENT_LIMIT = 10
# "Recent" public activities: those that ended within this many days.
RECENT_DAYS = 365
# The most activities running now (started earlier, not yet ended) read to choose the first
# by start from; an office has a handful.
RUNNING_LIMIT = 500


def public_activities():
    """The select of every public activity: marked public, not deleted, not cancelled."""
    return sa.select(Activity).where(
        Activity.is_public.is_(True),
        Activity.deleted_at.is_(None),
        Activity.status != ActivityStatus.CANCELLED,
    )


def _ends():
    return sa.func.coalesce(Activity.end_date, Activity.start_date)


def _running_from(day):
    """Activities that end on `day` or later; an ongoing activity without an end date (a
    course open all year) runs on."""
    return sa.or_(
        _ends() >= day,
        sa.and_(Activity.status == ActivityStatus.ONGOING, Activity.end_date.is_(None)),
    )


def page_activities(today):
    """(current and upcoming, recent): the public page's two lists."""
    upcoming = current_activities(today, limit=UPCOMING_LIMIT)
    recent = past_activities(today, since=today - timedelta(days=RECENT_DAYS), limit=RECENT_LIMIT)
    return upcoming, recent


def current_activities(today, *, limit):
    """The first `limit` current public activities, by start.

    Current means: it starts today or later, or it ends today or later, or it is ongoing
    without an end date. Asked as one condition, the database walks every public activity
    since the first, in date order, to find the current ones, and that walk grows with the
    years of the register. Asked apart, those starting later are read in order from
    ix_activities_public_start, and those running now, which are few, from
    ix_activities_public_end, unordered (ordering them would tempt the planner back to the
    walk); they are put in order here."""
    public = public_activities()
    starting = public.where(Activity.start_date >= today).order_by(
        Activity.start_date, Activity.start_time, Activity.id
    )
    found = {activity.id: activity for activity in db.session.scalars(starting.limit(limit))}
    for running in (
        Activity.end_date >= today,
        sa.and_(Activity.status == ActivityStatus.ONGOING, Activity.end_date.is_(None)),
    ):
        for activity in db.session.scalars(public.where(running).limit(RUNNING_LIMIT)):
            found[activity.id] = activity
    return _by_start(found.values())[:limit]


def past_activities(today, *, since=None, limit):
    """The last `limit` public activities that ended before `today` (and on `since` or later,
    when given), newest first."""
    query = public_activities().where(~_running_from(today))
    if since is not None:
        query = query.where(_ends() >= since)
    return db.session.scalars(
        query.order_by(Activity.start_date.desc(), Activity.id.desc()).limit(limit)
    ).all()


def activities_between(start, end, *, limit):
    """The first `limit` public activities, by start, that take place at least partly from
    the day `start` to the day `end` (both included; either may be None, for no bound)."""
    query = public_activities()
    if start is not None:
        query = query.where(_running_from(start))
    if end is not None:
        query = query.where(Activity.start_date <= end)
    return db.session.scalars(
        # All-day activities first on their day, on either database (SQLite puts NULLs first
        # by default, PostgreSQL last).
        query.order_by(Activity.start_date, Activity.start_time.nulls_first(), Activity.id).limit(
            limit
        )
    ).all()


def _by_start(activities):
    return sorted(
        activities,
        key=lambda activity: (activity.start_date, activity.start_time or time.min, activity.id),
    )
