"""The public activities feed (`/api/public/activities.json` and `.ics`): which activities
a query asks for, and what of each is published.

Only what the public page shows of an activity leaves the app: its title, kind, dates and
times, place (or "Online") and public summary. Never its description, outcome, organisations,
staff or contacts. The activities are the public page's (crm/public/services.py).
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext as _

from crm.activities import calendar_services
from crm.core.dates import office_zone
from crm.core.links import external_url
from crm.public import services
from crm.settings import services as settings

# The most activities one answer holds; the JSON says when there were more.
FEED_LIMIT = 200
# Without a range, the calendar starts this far back, as the public page's "Recent" list
# does: a subscribed calendar keeps the past months' events rather than losing each the day
# after it ended. The JSON lists the current and upcoming ones, as the page's first list.
ICS_HISTORY = timedelta(days=services.RECENT_DAYS)


@dataclass(frozen=True)
class FeedQuery:
    """What a feed is asked for: the language of its labels and the range of its activities
    (the past ones, those from `start` to `end`, or, with neither, the current and upcoming
    ones)."""

    language: str
    past: bool = False
    start: date | None = None
    end: date | None = None

    @property
    def has_range(self):
        return self.past or self.start is not None or self.end is not None

    def key(self):
        """The query as text, for the answer's ETag."""
        return f"{self.language}|{int(self.past)}|{self.start}|{self.end}"


def feed_activities(query, *, today, limit):
    """(the activities the query asks for, at most `limit`; whether there were more)."""
    if query.past:
        found = services.past_activities(today, limit=limit + 1)
    elif query.has_range:
        found = services.activities_between(query.start, query.end, limit=limit + 1)
    else:
        found = services.current_activities(today, limit=limit + 1)
    return found[:limit], len(found) > limit


def page_url(language):
    return external_url("public.index", lang=language)


def page_urls(language, *, today):
    """{activity id: its address on the public page} for the activities the page lists."""
    upcoming, recent = services.page_activities(today)
    page = page_url(language)
    return {activity.id: f"{page}#activity-{activity.id}" for activity in upcoming + recent}


def activity_data(activity, *, url):
    """One activity as the JSON feed publishes it; labels in the current language."""
    return {
        "id": activity.id,
        "title": activity.title,
        "kind": {"value": activity.kind.value, "label": str(activity.kind.label)},
        "start": _moment(activity.start_date, activity.start_time),
        "end": _end(activity),
        "all_day": activity.start_time is None,
        # As the public page: an online activity's place is not shown.
        "place": None if activity.is_online else activity.place,
        "online": activity.is_online,
        "summary": (activity.public_summary or "").strip() or None,
        "url": url,
    }


def feed_data(query, *, today):
    """The JSON feed's document, in the current language."""
    activities, truncated = feed_activities(query, today=today, limit=FEED_LIMIT)
    urls = page_urls(query.language, today=today)
    return {
        "language": query.language,
        "time_zone": str(office_zone()),
        "range": {
            "past": query.past,
            "from": query.start.isoformat() if query.start else None,
            "to": query.end.isoformat() if query.end else None,
        },
        "count": len(activities),
        "limit": FEED_LIMIT,
        "truncated": truncated,
        "page_url": page_url(query.language),
        "calendar_url": external_url("public_feed.activities_ics", lang=query.language),
        "activities": [
            activity_data(activity, url=urls.get(activity.id)) for activity in activities
        ],
    }


def feed_ics(query, *, today):
    """The iCalendar feed as bytes, in the current language; without a range, from
    ICS_HISTORY back on."""
    if not query.has_range:
        query = FeedQuery(query.language, start=today - ICS_HISTORY)
    activities, _truncated = feed_activities(query, today=today, limit=FEED_LIMIT)
    urls = page_urls(query.language, today=today)
    return calendar_services.build_public_ics(
        activities, name=calendar_name(query.language), urls=urls
    )


def calendar_name(language):
    """The calendar's name, as calendar programs list it: the office's activities."""
    return _("%(office)s: activities", office=settings.office_name(language))


def _moment(day, clock):
    """A date as ISO 8601, or a date and time with the office's UTC offset."""
    if clock is None:
        return day.isoformat()
    return datetime.combine(day, clock, tzinfo=office_zone()).isoformat()


def _end(activity):
    if activity.end_date is None and activity.end_time is None:
        return None
    return _moment(activity.end_date or activity.start_date, activity.end_time)
