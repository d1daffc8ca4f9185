"""The calendar: the personal feed address and its renewal, the public feed itself, and one
activity's .ics download."""

import re
from datetime import datetime, time, timedelta
from urllib.parse import urlsplit

import pytest
from icalendar import Calendar

from crm.activities.models import ActivityKind
from crm.agreements.models import AgreementKind, AgreementStatus
from crm.auth.models import Role
from crm.core import records
from crm.core.dates import local_today
from tests.conftest import TEST_PASSWORD


@pytest.fixture
def calendar_data(make_activity, make_agreement, make_organisation):
    today = local_today()
    seminar = make_activity(
        "AI in diagnostics",
        kind=ActivityKind.SEMINAR,
        start_date=today + timedelta(days=7),
        start_time=time(13, 0),
        end_time=time(15, 30),
        place="Aula Medica",
        description="Half-day seminar.",
    )
    workshop = make_activity(
        "Data workshop",
        kind=ActivityKind.WORKSHOP,
        start_date=today + timedelta(days=10),
        end_date=today + timedelta(days=11),
    )
    make_activity("Deleted activity", kind=ActivityKind.OTHER, start_date=today, deleted=True)
    make_activity(
        "Ancient activity", kind=ActivityKind.OTHER, start_date=today - timedelta(days=800)
    )
    agreement = make_agreement(
        "Framework with Region",
        kind=AgreementKind.FRAMEWORK,
        parties=[make_organisation("Region")],
        end_date=today + timedelta(days=200),
        renewal_notice_days=90,
        today=today,
    )
    return {"seminar": seminar, "workshop": workshop, "agreement": agreement}


def feed_path(client):
    page = client.get("/calendar/").get_data(as_text=True)
    url = re.search(r'id="feed-url" value="([^"]+)"', page).group(1)
    assert url.startswith("http")
    return urlsplit(url).path


def events_by_summary(body):
    calendar = Calendar.from_ical(body)
    return {str(event["SUMMARY"]): event for event in calendar.walk("VEVENT")}


def test_settings_page_needs_a_login_and_the_feed_does_not(client, db, login, calendar_data):
    assert client.get("/calendar/").status_code in (302, 401)
    user = login(Role.VIEWER)
    path = feed_path(client)
    db.session.refresh(user)
    assert user.calendar_token and user.calendar_token in path
    # The same address on the next visit.
    assert feed_path(client) == path
    calendar_program = client.application.test_client()
    response = calendar_program.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"


def test_feed_holds_activities_and_agreement_dates(client, db, login, calendar_data):
    login(Role.MEMBER)
    path = feed_path(client)
    # Read as a calendar program does: without signing in.
    events = events_by_summary(client.application.test_client().get(path).data)

    seminar = calendar_data["seminar"]
    event = events["AI in diagnostics"]
    start = event.decoded("DTSTART")
    assert isinstance(start, datetime)
    assert start.date() == seminar.start_date and start.time() == time(13, 0)
    assert str(start.tzinfo) == "Europe/Stockholm"
    assert event.decoded("DTEND").time() == time(15, 30)
    assert str(event["LOCATION"]) == "Aula Medica"
    assert "Half-day seminar." in str(event["DESCRIPTION"])
    assert str(event["UID"]).startswith(f"activity-{seminar.id}@")

    workshop = calendar_data["workshop"]
    all_day = events["Data workshop"]
    assert all_day.decoded("DTSTART") == workshop.start_date
    assert not isinstance(all_day.decoded("DTSTART"), datetime)
    assert all_day.decoded("DTEND") == workshop.end_date + timedelta(days=1)

    agreement = calendar_data["agreement"]
    end_events = [e for s, e in events.items() if "Framework with Region" in s]
    days = sorted(event.decoded("DTSTART") for event in end_events)
    assert days == [agreement.end_date - timedelta(days=90), agreement.end_date]

    assert "Deleted activity" not in events
    assert "Ancient activity" not in events


def test_uids_are_stable(client, db, login, calendar_data):
    login(Role.MEMBER)
    path = feed_path(client)
    first = {str(e["UID"]) for e in Calendar.from_ical(client.get(path).data).walk("VEVENT")}
    second = {str(e["UID"]) for e in Calendar.from_ical(client.get(path).data).walk("VEVENT")}
    assert first == second and len(first) == 4


def test_renewing_makes_the_old_address_stop_working(client, db, login, calendar_data):
    login(Role.MEMBER)
    old = feed_path(client)
    response = client.post("/calendar/renew")
    assert response.status_code == 302
    new = feed_path(client)
    assert new != old
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200


def test_unknown_token_and_inactive_user_answer_404(client, db, login, calendar_data):
    assert client.get("/calendar/not-a-token.ics").status_code == 404
    user = login(Role.MEMBER)
    path = feed_path(client)
    db.session.refresh(user)
    user.active = False
    db.session.commit()
    assert client.application.test_client().get(path).status_code == 404


def test_signing_out_everywhere_gives_the_feed_a_new_address(client, db, login, calendar_data):
    user = login(Role.MEMBER)
    old = feed_path(client)
    calendar_program = client.application.test_client()
    assert calendar_program.get(old).status_code == 200

    client.post("/logout")

    assert calendar_program.get(old).status_code == 404
    login(user)
    new = feed_path(client)
    assert new != old
    assert calendar_program.get(new).status_code == 200


def test_a_password_change_gives_the_feed_a_new_address(client, db, login, calendar_data):
    user = login(Role.MEMBER)
    old = feed_path(client)

    response = client.post(
        "/account/password",
        data={
            "current_password": TEST_PASSWORD,
            "new_password": "a fresh long passphrase",
            "confirm": "a fresh long passphrase",
        },
    )

    assert response.status_code == 302
    assert client.application.test_client().get(old).status_code == 404
    new = feed_path(client)
    assert new != old
    assert client.application.test_client().get(new).status_code == 200
    db.session.refresh(user)
    assert user.calendar_token in new


def test_a_password_change_gives_no_feed_to_a_user_without_one(client, db, login):
    user = login(Role.MEMBER)

    client.post(
        "/account/password",
        data={
            "current_password": TEST_PASSWORD,
            "new_password": "a fresh long passphrase",
            "confirm": "a fresh long passphrase",
        },
    )

    db.session.refresh(user)
    assert user.calendar_token is None


def test_one_activity_as_an_ics_download(client, db, login, calendar_data):
    seminar = calendar_data["seminar"]
    assert client.get(f"/calendar/activity/{seminar.id}.ics").status_code in (302, 401)
    login(Role.VIEWER)
    response = client.get(f"/calendar/activity/{seminar.id}.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert "attachment" in response.headers["Content-Disposition"]
    (event,) = Calendar.from_ical(response.data).walk("VEVENT")
    assert str(event["SUMMARY"]) == "AI in diagnostics"
    assert event.decoded("DTSTART").date() == seminar.start_date
    assert client.get("/calendar/activity/999999.ics").status_code == 404
    records.soft_delete(seminar, actor=None)
    db.session.commit()
    assert client.get(f"/calendar/activity/{seminar.id}.ics").status_code == 404


def test_agreement_without_end_date_has_no_events(client, login, make_agreement, make_organisation):
    make_agreement(
        "Open-ended NDA", kind=AgreementKind.NDA, parties=[make_organisation("Party AB")]
    )
    login(Role.MEMBER)
    response = client.get(feed_path(client))
    assert response.status_code == 200
    assert not any("Open-ended" in summary for summary in events_by_summary(response.data))


def test_feed_has_notice_and_end_dates_of_agreements_but_not_terminated_or_deleted_ones(
    client, login, make_agreement, make_organisation
):
    today = local_today()
    party = make_organisation("Party AB")
    active = make_agreement(
        "Active MoU",
        parties=[party],
        status=AgreementStatus.ACTIVE,
        signed_date=today,
        end_date=today + timedelta(days=60),
        renewal_notice_days=30,
        today=today,
    )
    make_agreement(
        "Terminated MoU",
        parties=[party],
        status=AgreementStatus.TERMINATED,
        end_date=today + timedelta(days=60),
        today=today,
    )
    make_agreement(
        "Deleted MoU",
        parties=[party],
        status=AgreementStatus.ACTIVE,
        signed_date=today,
        end_date=today + timedelta(days=60),
        deleted=True,
        today=today,
    )
    login(Role.MEMBER)
    path = feed_path(client)

    events = events_by_summary(client.application.test_client().get(path).data)

    mine = {summary: event for summary, event in events.items() if "Active MoU" in summary}
    assert sorted(event.decoded("DTSTART") for event in mine.values()) == [
        today + timedelta(days=30),
        today + timedelta(days=60),
    ]
    assert sorted(str(event["UID"]).split("@")[0] for event in mine.values()) == [
        f"agreement-{active.id}-end",
        f"agreement-{active.id}-notice",
    ]
    assert not any("Terminated MoU" in summary for summary in events)
    assert not any("Deleted MoU" in summary for summary in events)
