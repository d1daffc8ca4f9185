"""The calendar feed carries the user's own open tasks on their due dates; the calendar page
offers a webcal:// link (a plain link) and a copy button (our own script, hidden without
JavaScript)."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

from icalendar import Calendar

from crm.activities import task_services
from crm.auth.models import Role
from crm.core.dates import local_today


def feed_path(client):
    page = client.get("/calendar/").get_data(as_text=True)
    url = re.search(r'id="feed-url" value="([^"]+)"', page).group(1)
    return urlsplit(url).path


def task_events(body):
    calendar = Calendar.from_ical(body)
    return {
        str(event["SUMMARY"]): event
        for event in calendar.walk("VEVENT")
        if str(event["UID"]).startswith("task-")
    }


def test_the_feed_has_my_open_tasks_on_their_due_dates(db, client, login, make_user):
    me = login(Role.MEMBER)
    other = make_user("member")
    today = local_today()
    task_services.create_task(
        title="Call Lund", due_date=today + timedelta(days=3), assignee=me, actor=me
    )
    done = task_services.create_task(
        title="Old chore", due_date=today + timedelta(days=1), assignee=me, actor=me
    )
    task_services.complete_task(done, actor=me)
    task_services.create_task(
        title="Someone else's", due_date=today + timedelta(days=2), assignee=other, actor=me
    )
    task_services.create_task(title="Whenever", due_date=None, assignee=me, actor=me)
    gone = task_services.create_task(
        title="Deleted one", due_date=today + timedelta(days=4), assignee=me, actor=me
    )
    gone.deleted_at = gone.created_at
    db.session.commit()
    path = feed_path(client)

    response = client.get(path)

    events = task_events(response.data)
    assert response.status_code == 200
    assert len(events) == 1 and "Call Lund" in next(iter(events))
    [event] = events.values()
    assert event["DTSTART"].dt == today + timedelta(days=3)
    assert event["DTEND"].dt == today + timedelta(days=4)
    assert "/tasks/" in str(event["URL"])


def test_the_feed_speaks_the_users_language(db, client, signed_in):
    me = signed_in(Role.MEMBER)  # English
    task_services.create_task(
        title="Call Lund", due_date=local_today() + timedelta(days=3), assignee=me, actor=me
    )
    db.session.commit()

    events = task_events(client.get(feed_path(client)).data)

    assert set(events) == {"Task due: Call Lund"}


def test_the_calendar_page_offers_webcal_and_copy(db, client, signed_in):
    signed_in(Role.VIEWER)

    html = client.get("/calendar/").get_data(as_text=True)

    feed_url = re.search(r'id="feed-url" value="([^"]+)"', html).group(1)
    webcal = re.search(r'href="(webcal://[^"]+)"', html).group(1)
    assert webcal == "webcal://" + feed_url.split("://", 1)[1]
    assert webcal.endswith(".ics")
    # The copy button is our own script's; without JavaScript it stays hidden.
    assert re.search(r'<button type="button"[^>]*data-copy="feed-url"[^>]*hidden', html)
    assert '<script src="/static/js/copy.js" defer></script>' in html
    assert client.get("/static/js/copy.js").status_code == 200
