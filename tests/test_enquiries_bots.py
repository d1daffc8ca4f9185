"""Contact form submissions turned away as automated: counted per day, logged once an hour,
and shown to admins on the enquiries page."""

import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa

from crm.auth.models import Role
from crm.core.dates import local_today
from crm.core.page_cache import data_version_table
from crm.core.types import utcnow
from crm.enquiries.models import BotSubmissionCount
from tests.test_enquiries_form import assert_nothing_stored, open_form, send

FLOOD = 50


def log_lines(caplog):
    return [record for record in caplog.records if "turned away" in record.getMessage()]


def turned_away_line(page):
    start = page.find('id="turned-away"')
    return page[start : page.find("</p>", start)] if start != -1 else None


def test_a_flood_of_bots_is_counted_not_logged_one_line_each(app, client, db, signed_in, caplog):
    caplog.set_level(logging.INFO, logger=app.logger.name)
    _page, hidden = open_form(client)
    version_before = db.session.scalar(sa.select(data_version_table.c.version))

    for _number in range(FLOOD):
        response = send(client, hidden=hidden, website="https://cheap-pills.example")
        assert "Thank you for your enquiry" in response.get_data(as_text=True)

    assert len(log_lines(caplog)) == 1
    # The first of the hour, when one had been counted.
    assert "turned away as automated today: 1 " in log_lines(caplog)[0].getMessage()
    assert_nothing_stored(db)
    counted = db.session.get(BotSubmissionCount, local_today())
    assert counted.count == FLOOD
    # The count is a statistic, kept apart from the data version the page cache follows:
    # a flood must not retire every staff member's cached pages post by post.
    assert db.session.scalar(sa.select(data_version_table.c.version)) == version_before

    signed_in(Role.ADMIN)
    page = client.get("/enquiries/").get_data(as_text=True)
    assert "Turned away as automated: 50 today, 50 in the last 30 days." in turned_away_line(page)


def test_the_log_mentions_the_count_again_the_next_hour(app, client, db, caplog):
    caplog.set_level(logging.INFO, logger=app.logger.name)
    db.session.add(
        BotSubmissionCount(day=local_today(), count=120, logged_at=utcnow() - timedelta(minutes=61))
    )
    db.session.commit()
    _page, hidden = open_form(client)

    send(client, hidden=hidden, website="https://cheap-pills.example")
    send(client, hidden=hidden, website="https://cheap-pills.example")

    lines = log_lines(caplog)
    assert len(lines) == 1
    assert "turned away as automated today: 121 " in lines[0].getMessage()
    assert "honeypot" in lines[0].getMessage()


@pytest.mark.config(CONTACT_MIN_FILL_SECONDS=30)
def test_a_form_sent_too_fast_is_counted_too(client, db):
    _page, hidden = open_form(client)

    response = send(client, hidden=hidden)

    assert "has not been sent yet" in response.get_data(as_text=True)
    assert db.session.get(BotSubmissionCount, local_today()).count == 1


def test_the_last_30_days_are_summed_and_only_admins_see_them(client, db, signed_in, auth):
    today = local_today()
    db.session.add_all(
        [
            BotSubmissionCount(day=today, count=3),
            BotSubmissionCount(day=today - timedelta(days=29), count=40),
            BotSubmissionCount(day=today - timedelta(days=30), count=500),
        ]
    )
    db.session.commit()

    signed_in(Role.COORDINATOR)
    assert turned_away_line(client.get("/enquiries/").get_data(as_text=True)) is None
    auth.logout()

    signed_in(Role.ADMIN)
    line = turned_away_line(client.get("/enquiries/").get_data(as_text=True))
    assert "Turned away as automated: 3 today, 43 in the last 30 days." in line
