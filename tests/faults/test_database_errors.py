"""What a visitor sees when the database goes away in the middle of a request (fast tests,
both databases; the real restart is in test_database_restart.py)."""

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from crm.auth.models import Role
from crm.enquiries.models import Enquiry
from tests.faults.conftest import VALID, count

LEAKS = ("Traceback", "OperationalError", "server closed", "SELECT", "organisations.")


class Outage:
    """Queries on the tables in `tables` fail as if the server had closed the connection."""

    def __init__(self):
        self.tables = set()

    def __call__(self, table):
        self.tables.add(table)

    def end(self):
        self.tables.clear()

    def check(self, conn, cursor, statement, parameters, context, executemany):
        if any(f"FROM {table}" in statement for table in self.tables):
            raise sa.exc.OperationalError(
                statement, parameters, Exception("server closed the connection unexpectedly")
            )


@pytest.fixture
def database_goes_away(db):
    """database_goes_away(table): from then on, any query on `table` fails."""
    outage = Outage()
    event.listen(db.engine, "before_cursor_execute", outage.check)
    yield outage
    event.remove(db.engine, "before_cursor_execute", outage.check)


def assert_unavailable_page(response):
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    page = response.get_data(as_text=True)
    assert "Temporarily unavailable" in page
    assert "Please try again in a few minutes." in page
    for leak in LEAKS:
        assert leak not in page
    return page


def test_lost_database_on_a_staff_page_answers_503_without_details(
    client, login, database_goes_away
):
    user = login(Role.MEMBER)
    assert client.get("/organisations/?lang=en").status_code == 200
    database_goes_away("organisations")

    page = assert_unavailable_page(client.get("/organisations/?lang=en"))

    # The page is drawn without looking anyone up: no name, no staff menu.
    assert user.name not in page


def test_lost_database_before_the_user_is_loaded_answers_503(client, login, database_goes_away):
    login(Role.MEMBER)
    database_goes_away("users")

    assert_unavailable_page(client.get("/dashboard/?lang=en"))


def test_app_answers_again_once_the_database_is_back(client, login, database_goes_away):
    user = login(Role.MEMBER)
    database_goes_away("organisations")
    assert client.get("/organisations/?lang=en").status_code == 503

    database_goes_away.end()

    response = client.get("/organisations/?lang=en")
    assert response.status_code == 200
    assert user.name in response.get_data(as_text=True)  # still signed in


@pytest.mark.config(PROPAGATE_EXCEPTIONS=False)
def test_other_database_errors_stay_500(client, login, monkeypatch):
    login(Role.MEMBER)

    def broken(*args, **kwargs):
        raise sa.exc.IntegrityError("INSERT", {}, Exception("duplicate key"))

    monkeypatch.setattr("crm.organisations.views.render_template", broken)
    response = client.get("/organisations/?lang=en")

    assert response.status_code == 500
    assert "Something went wrong" in response.get_data(as_text=True)


def test_connection_lost_while_ending_a_request_is_not_a_500(client, login, monkeypatch):
    login(Role.MEMBER)
    real_close = Session.close
    calls = []

    def close_fails_once(self):
        calls.append(None)
        if len(calls) == 1:
            real_close(self)
            raise sa.exc.OperationalError("ROLLBACK", {}, Exception("connection lost"))
        return real_close(self)

    monkeypatch.setattr(Session, "close", close_fails_once)
    response = client.get("/organisations/?lang=en")

    assert response.status_code == 200
    assert calls


class TotalOutage:
    """The database goes away at the first statement matching `trigger`: it and every
    statement after it fail."""

    def __init__(self, trigger):
        self.trigger = trigger
        self.down = False

    def check(self, conn, cursor, statement, parameters, context, executemany):
        if self.trigger in statement:
            self.down = True
        if self.down:
            raise sa.exc.OperationalError(
                statement, parameters, Exception("server closed the connection unexpectedly")
            )


def test_public_form_keeps_what_was_typed_when_the_database_goes_away(app, db, client, form_fields):
    data = {**VALID, **form_fields("en"), "message": "Our very own words about a study."}
    outage = TotalOutage("INSERT INTO enquiries")
    event.listen(db.engine, "before_cursor_execute", outage.check)
    try:
        response = client.post("/contact?lang=en", data=data, follow_redirects=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", outage.check)

    assert outage.down
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    for leak in LEAKS:
        assert leak not in page
    # The visitor is told, and what they wrote is still in the form to send again.
    assert "could not be received" in page
    assert "Our very own words about a study." in page
    assert 'value="Anna Andersson"' in page
    assert f'value="{data["form_token"]}"' in page

    # Once the database is back, the same form is received, once.
    response = client.post("/contact?lang=en", data=data, follow_redirects=True)
    assert "Thank you for your enquiry" in response.get_data(as_text=True)
    assert count(db, Enquiry) == 1
