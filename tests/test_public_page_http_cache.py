"""The public page cached by HTTP: an ETag and Cache-Control for visitors, 304 without
rendering, a new ETag whenever the page's content changes, and never a shared staff page."""

from datetime import date, timedelta

import pytest
from flask import template_rendered

from crm.activities import services as activity_services
from crm.activities.models import ActivityKind
from crm.auth.models import Role
from crm.settings import services as settings
from tests.helpers import count_queries
from tests.test_activities_pages import form_data


@pytest.fixture
def seminar(make_activity):
    return make_activity(
        "Open seminar on AI",
        kind=ActivityKind.SEMINAR,
        start_date=date.today() + timedelta(days=10),
        is_public=True,
        public_summary="Bring your questions.",
    )


@pytest.fixture
def rendered(app):
    """The names of the templates rendered while the test runs."""
    names = []

    def record(_sender, template, **_extra):
        names.append(template.name)

    template_rendered.connect(record, app)
    yield names
    template_rendered.disconnect(record, app)


def visit(client, language="en", etag=None):
    headers = {"Accept-Language": language}
    if etag is not None:
        headers["If-None-Match"] = etag
    return client.get("/", headers=headers)


def test_a_visitor_gets_an_etag_and_may_keep_the_page_a_minute(client, seminar):
    response = visit(client)

    assert response.status_code == 200
    assert response.headers["ETag"]
    cache_control = response.headers["Cache-Control"]
    assert "public" in cache_control
    assert "max-age=60" in cache_control
    assert "must-revalidate" in cache_control
    assert {"Cookie", "Accept-Language"} <= set(response.vary)
    assert "Set-Cookie" not in response.headers


def test_asking_again_with_the_etag_gets_304_without_rendering(app, client, db, seminar, rendered):
    etag = visit(client).headers["ETag"]
    rendered.clear()

    with count_queries(db) as statements:
        response = visit(client, etag=etag)

    assert response.status_code == 304
    assert response.get_data() == b""
    assert response.headers["ETag"] == etag
    assert "public" in response.headers["Cache-Control"]
    assert rendered == []
    assert statements == []  # the data version is read on a connection of its own


def test_a_changed_public_activity_changes_the_etag_and_the_page(client, db, seminar):
    before = visit(client)
    assert "Open seminar on AI" in before.get_data(as_text=True)

    activity_services.update_activity(seminar, {"title": "Seminar on AI in care"}, actor=None)
    db.session.commit()
    response = visit(client, etag=before.headers["ETag"])

    assert response.status_code == 200
    assert response.headers["ETag"] != before.headers["ETag"]
    assert "Seminar on AI in care" in response.get_data(as_text=True)


def test_an_activity_edited_on_its_page_changes_the_etag(app, client, seminar, signed_in):
    signed_in(Role.MEMBER)
    visitor = app.test_client()
    before = visit(visitor).headers["ETag"]

    saved = client.post(
        f"/activities/{seminar.id}/edit",
        data=form_data(
            kind="seminar",
            title="Seminar moved online",
            start_date=seminar.start_date.isoformat(),
            end_date="",
            is_public="y",
            public_summary="Now online.",
        ),
    )
    assert saved.status_code == 302

    response = visit(visitor, etag=before)
    assert response.status_code == 200
    assert response.headers["ETag"] != before
    assert "Seminar moved online" in response.get_data(as_text=True)


def test_swedish_and_english_have_different_etags(client, seminar):
    swedish = visit(client, "sv")
    english = visit(client, "en")

    assert swedish.headers["ETag"] != english.headers["ETag"]
    assert visit(client, "sv", etag=english.headers["ETag"]).status_code == 200


def test_a_new_office_name_changes_the_etag(client, db):
    before = visit(client).headers["ETag"]
    settings.put("office_name", "Innovationskontoret Syd")
    db.session.commit()

    response = visit(client, etag=before)
    assert response.status_code == 200
    assert "Innovationskontoret Syd" in response.get_data(as_text=True)


def test_staff_pages_are_never_shared_or_answered_with_a_visitors_304(
    app, client, seminar, signed_in
):
    visitors_etag = visit(app.test_client()).headers["ETag"]
    signed_in(Role.MEMBER)

    response = client.get("/", headers={"If-None-Match": visitors_etag})

    assert response.status_code == 200
    assert "ETag" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    assert "Go to your overview" in response.get_data(as_text=True)


@pytest.mark.config(PAGE_CACHE_SECONDS=60)
def test_a_page_from_the_page_cache_carries_the_same_headers(client, seminar):
    first = visit(client)
    second = visit(client)

    assert second.headers.get("X-Page-Cache") == "hit"
    assert second.headers["ETag"] == first.headers["ETag"]
    assert "public" in second.headers["Cache-Control"]
    assert visit(client, etag=first.headers["ETag"]).status_code == 304
