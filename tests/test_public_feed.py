"""The public activities feed: /api/public/activities.json and .ics, without a login.

Only the public page's activities, and only what the page shows of them; labels in the
asked-for language; date ranges, with a clear 400 for a bad one; cached by HTTP like the page
(ETag, 304, a new ETag when an activity changes); no cookie; open to any origin.
"""

from datetime import datetime, time, timedelta

import pytest
from icalendar import Calendar

from crm.activities import services as activity_services
from crm.activities.models import ActivityKind, ActivityStatus
from crm.core.dates import local_today, office_zone
from crm.public import feed_services
from tests.conftest import TEST_PASSWORD
from tests.helpers import count_queries

JSON = "/api/public/activities.json"
ICS = "/api/public/activities.ics"
SECRET = "Zanzibar"


@pytest.fixture
def today(app):
    return local_today()


@pytest.fixture
def make_public(make_activity, today):
    """A public seminar `days_from_now` days from today with a public summary."""

    def make(title, *, days_from_now=7, **fields):
        values = {
            "kind": ActivityKind.SEMINAR,
            "start_date": today + timedelta(days=days_from_now),
            "is_public": True,
            "public_summary": f"Summary of {title}",
            **fields,
        }
        return make_activity(title, **values)

    return make


@pytest.fixture
def secret_activity(make_public, make_user, make_contact, make_organisation, db):
    """A public activity whose every internal field carries the word SECRET."""
    staff = make_user("member", name=f"Sigrid {SECRET}", email=f"staff.{SECRET.lower()}@x.org")
    organisation = make_organisation(f"{SECRET} Pharma AB")
    contact = make_contact("Conny", SECRET, organisation=organisation, email="conny@pharma.se")
    return make_public(
        "Open seminar on AI",
        description=f"Internal description: {SECRET}",
        outcome=f"Internal outcome: {SECRET}",
        staff=[staff],
        contacts=[contact],
        organisations=[organisation],
    )


def feed(client, **query):
    response = client.get(JSON, query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.get_json()


def titles(document):
    return [activity["title"] for activity in document["activities"]]


def calendar_events(client, **query):
    response = client.get(ICS, query_string=query)
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    calendar = Calendar.from_ical(response.get_data())
    return {str(event["SUMMARY"]): event for event in calendar.walk("VEVENT")}


def test_only_public_live_current_activities_by_default_and_past_ones_on_request(
    client, make_public, today
):
    make_public("Open seminar on AI", days_from_now=10)
    make_public("Ongoing course", days_from_now=-30, end_date=today + timedelta(days=30))
    make_public("Year-long course", days_from_now=-200, status=ActivityStatus.ONGOING)
    make_public("Last spring's dialogue meeting", days_from_now=-100)
    make_public("Internal meeting", is_public=False)
    make_public("Cancelled seminar", status=ActivityStatus.CANCELLED)
    make_public("Deleted seminar", deleted=True)
    make_public("Cancelled last year", days_from_now=-90, status=ActivityStatus.CANCELLED)

    current = feed(client)
    assert titles(current) == ["Year-long course", "Ongoing course", "Open seminar on AI"]
    assert current["range"] == {"past": False, "from": None, "to": None}
    assert current["count"] == 3 and current["truncated"] is False
    assert current["limit"] == feed_services.FEED_LIMIT

    past = feed(client, past="1")
    assert titles(past) == ["Last spring's dialogue meeting"]
    assert past["range"]["past"] is True


def test_an_activity_is_published_with_only_what_the_public_page_shows(client, make_public, today):
    seminar = make_public(
        "Open seminar on AI",
        days_from_now=10,
        start_time=time(13, 0),
        end_time=time(15, 30),
        place="Aula Medica",
        public_summary="  Bring your questions.  ",
    )
    course = make_public(
        "Online course",
        kind=ActivityKind.COURSE,
        days_from_now=20,
        end_date=today + timedelta(days=40),
        is_online=True,
        place="https://meet.example.org/room",
    )

    document = feed(client, lang="en")

    first, second = document["activities"]
    starts = datetime.combine(seminar.start_date, time(13, 0), tzinfo=office_zone())
    assert first == {
        "id": seminar.id,
        "title": "Open seminar on AI",
        "kind": {"value": "seminar", "label": "Seminar"},
        "start": starts.isoformat(),
        "end": starts.replace(hour=15, minute=30).isoformat(),
        "all_day": False,
        "place": "Aula Medica",
        "online": False,
        "summary": "Bring your questions.",
        "url": f"http://localhost/?lang=en#activity-{seminar.id}",
    }
    # Dates without a time stay dates; an online activity's place is not shown, as on the page.
    assert second["start"] == course.start_date.isoformat()
    assert second["end"] == course.end_date.isoformat()
    assert second["all_day"] is True
    assert second["online"] is True and second["place"] is None
    assert document["language"] == "en"
    assert document["time_zone"] == "Europe/Stockholm"
    assert document["page_url"] == "http://localhost/?lang=en"
    assert document["calendar_url"] == "http://localhost/api/public/activities.ics?lang=en"


def test_internal_fields_never_leave_in_either_feed(client, secret_activity):
    json_body = client.get(JSON).get_data(as_text=True)
    ics_body = client.get(ICS).get_data(as_text=True)

    for body in (json_body, ics_body):
        assert "Open seminar on AI" in body
        assert "Summary of Open seminar on AI" in body
        assert SECRET not in body
        assert SECRET.lower() not in body
        assert "conny@pharma.se" not in body
        assert f"/activities/{secret_activity.id}" not in body  # the staff page


def test_labels_in_the_asked_for_language_swedish_by_default(client, make_public):
    make_public("Open seminar on AI")

    assert feed(client, lang="en")["activities"][0]["kind"]["label"] == "Seminar"
    assert feed(client, lang="sv")["activities"][0]["kind"]["label"] == "Seminarium"
    default = feed(client)
    assert default["language"] == "sv"
    assert default["activities"][0]["kind"] == {"value": "seminar", "label": "Seminarium"}
    assert "CATEGORIES:Seminar\r\n" in client.get(ICS, query_string={"lang": "en"}).get_data(
        as_text=True
    )


def test_from_and_to_select_the_activities_that_take_place_between(client, make_public, today):
    make_public("Before", days_from_now=5)
    make_public("Spanning the start", days_from_now=8, end_date=today + timedelta(days=12))
    make_public("Inside", days_from_now=15)
    make_public("After", days_from_now=25)
    make_public("Long ago", days_from_now=-400)
    start, end = today + timedelta(days=10), today + timedelta(days=20)

    window = feed(client, **{"from": start.isoformat(), "to": end.isoformat()})
    assert titles(window) == ["Spanning the start", "Inside"]
    assert window["range"] == {"past": False, "from": start.isoformat(), "to": end.isoformat()}

    assert titles(feed(client, **{"from": start.isoformat()})) == [
        "Spanning the start",
        "Inside",
        "After",
    ]
    assert titles(feed(client, to=(today - timedelta(days=1)).isoformat())) == ["Long ago"]
    assert set(calendar_events(client, **{"from": start.isoformat(), "to": end.isoformat()})) == {
        "Spanning the start",
        "Inside",
    }


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ({"from": "2026-13-01"}, "from", "YYYY-MM-DD"),
        ({"to": "tomorrow"}, "to", "YYYY-MM-DD"),
        ({"from": "2026-02-30"}, "from", "YYYY-MM-DD"),
        ({"from": "2026-03-10", "to": "2026-03-01"}, "to", "before"),
        ({"past": "yes"}, "past", "1"),
        ({"past": "1", "from": "2026-03-01"}, "past", "not both"),
        ({"lang": "de"}, "lang", "sv, en"),
    ],
)
@pytest.mark.parametrize("path", [JSON, ICS])
def test_a_bad_query_gets_400_with_a_message_naming_the_parameter(
    client, path, query, field, words
):
    response = client.get(path, query_string={"lang": "en", **query})

    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 400
    assert words in problem["detail"]
    assert problem["errors"] == [{"field": field, "detail": problem["detail"]}]
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" not in response.headers


def test_the_number_of_activities_is_capped_and_the_answer_says_so(
    client, make_public, monkeypatch
):
    for number in range(4):
        make_public(f"Seminar {number}", days_from_now=number + 1)
    monkeypatch.setattr(feed_services, "FEED_LIMIT", 3)

    document = feed(client)

    assert titles(document) == ["Seminar 0", "Seminar 1", "Seminar 2"]
    assert document["count"] == 3
    assert document["limit"] == 3
    assert document["truncated"] is True
    assert len(calendar_events(client)) == 3


@pytest.mark.parametrize("path", [JSON, ICS])
def test_cached_by_http_with_an_etag_that_changes_with_the_activities(
    client, db, make_public, path
):
    seminar = make_public("Open seminar on AI")
    first = client.get(path)
    etag = first.headers["ETag"]
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "public, max-age=300, must-revalidate"

    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == etag
    assert "public" in again.headers["Cache-Control"]

    activity_services.update_activity(seminar, {"title": "Seminar on AI in care"}, actor=None)
    db.session.commit()
    changed = client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert "Seminar on AI in care" in changed.get_data(as_text=True)


def test_each_query_and_format_has_its_own_etag(client, make_public):
    make_public("Open seminar on AI")
    etags = {
        client.get(path, query_string=query).headers["ETag"]
        for path in (JSON, ICS)
        for query in ({}, {"lang": "en"}, {"past": "1"}, {"from": "2026-01-01"})
    }
    assert len(etags) == 8


def test_the_calendar_holds_the_events_with_stable_uids(client, make_public, today):
    seminar = make_public(
        "Open seminar on AI",
        days_from_now=10,
        start_time=time(13, 0),
        end_time=time(15, 30),
        place="Aula Medica",
    )
    course = make_public("Online course", days_from_now=20, is_online=True)
    make_public("Last spring's dialogue meeting", days_from_now=-100)
    make_public("Ancient workshop", days_from_now=-800)
    make_public("Internal meeting", is_public=False)

    events = calendar_events(client, lang="en")

    # A year back on by default, so that a subscribed calendar keeps the recent past.
    assert set(events) == {"Open seminar on AI", "Online course", "Last spring's dialogue meeting"}
    event = events["Open seminar on AI"]
    assert str(event["UID"]) == f"public-activity-{seminar.id}@localhost"
    assert event.decoded("DTSTART") == datetime.combine(
        seminar.start_date, time(13, 0), tzinfo=office_zone()
    )
    assert event.decoded("DTEND").time() == time(15, 30)
    assert str(event["LOCATION"]) == "Aula Medica"
    assert str(event["DESCRIPTION"]) == "Seminar\n\nSummary of Open seminar on AI"
    assert str(event["URL"]) == f"http://localhost/?lang=en#activity-{seminar.id}"
    online = events["Online course"]
    assert online.decoded("DTSTART") == course.start_date
    assert online.decoded("DTEND") == course.start_date + timedelta(days=1)
    assert str(online["LOCATION"]) == "Online"
    # The same event, asked for again, is the same event for a calendar program.
    again = calendar_events(client, lang="en")["Open seminar on AI"]
    assert str(again["UID"]) == str(event["UID"])
    assert again.decoded("DTSTAMP") == event.decoded("DTSTAMP")


def test_no_cookie_and_the_same_feed_signed_out_or_in(app, client, make_user, make_public):
    make_public("Open seminar on AI")
    visitor = app.test_client()

    for path in (JSON, ICS):
        for query in ({}, {"lang": "en"}):
            response = visitor.get(path, query_string=query)
            assert response.status_code == 200
            assert "Set-Cookie" not in response.headers
            assert response.headers["Access-Control-Allow-Origin"] == "*"

    # Signed in with "keep me signed in": the same answer, shared, and still no cookie.
    user = make_user("viewer")
    signed = client.post(
        "/login", data={"email": user.email, "password": TEST_PASSWORD, "remember": "y"}
    )
    assert signed.status_code == 302
    assert client.get_cookie("remember_token") is not None
    for path in (JSON, ICS):
        mine = client.get(path, query_string={"lang": "en"})
        theirs = visitor.get(path, query_string={"lang": "en"})
        assert mine.status_code == 200
        assert "Set-Cookie" not in mine.headers
        assert mine.headers["ETag"] == theirs.headers["ETag"]
        assert mine.headers["Cache-Control"] == theirs.headers["Cache-Control"]
        assert mine.get_data() == theirs.get_data()


def test_the_public_page_links_to_the_feeds_and_anchors_each_activity(client, make_public):
    seminar = make_public("Open seminar on AI")

    html = client.get("/", query_string={"lang": "en"}).get_data(as_text=True)

    assert 'href="/api/public/activities.ics?lang=en"' in html
    assert 'href="/api/public/activities.json?lang=en"' in html
    assert f'id="activity-{seminar.id}"' in html


def test_an_activity_not_on_the_public_page_has_no_url(client, make_public):
    seminars = [
        make_public(f"Seminar {number:02d}", days_from_now=number + 1) for number in range(12)
    ]

    urls = {item["id"]: item["url"] for item in feed(client)["activities"]}

    # The page lists the first ten current activities; the feed all twelve.
    assert len(urls) == 12
    assert urls[seminars[9].id] == f"http://localhost/?lang=sv#activity-{seminars[9].id}"
    assert urls[seminars[10].id] is None


def test_the_query_count_does_not_grow_with_the_data(client, db, make_public):
    make_public("First")
    feed(client)
    with count_queries(db) as few:
        feed(client)

    for number in range(15):
        make_public(f"Seminar {number}", days_from_now=number - 7)
    with count_queries(db) as many:
        feed(client)

    assert len(many) == len(few)
