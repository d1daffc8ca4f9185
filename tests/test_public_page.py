"""The public collaboration page: only public, live activities and documents, public contact
people, the way to the enquiry form, in Swedish and English, nothing from third parties."""

import re
from datetime import date, timedelta

import pytest

from crm.activities.models import ActivityKind, ActivityStatus
from crm.agreements.models import AgreementKind
from crm.settings import services as settings
from tests.helpers import count_queries

TODAY = date.today()


@pytest.fixture
def make_seminar(make_activity):
    """A public seminar `days_from_now` days from today, with a public summary and internal
    texts the page must not show."""

    def make(title, *, days_from_now=7, **fields):
        values = {
            "kind": ActivityKind.SEMINAR,
            "start_date": TODAY + timedelta(days=days_from_now),
            "is_public": True,
            "public_summary": f"Summary of {title}",
            "description": f"Internal description of {title}",
            "outcome": f"Internal outcome of {title}",
            **fields,
        }
        return make_activity(title, **values)

    return make


@pytest.fixture
def agreement(make_agreement, make_organisation):
    return make_agreement(
        "Ramavtal med branschföreningarna",
        parties=[make_organisation("Branschföreningen")],
        kind=AgreementKind.FRAMEWORK,
    )


def page(client, language="en"):
    response = client.get("/", query_string={"lang": language})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_only_public_live_activities_are_shown_with_their_public_summary(client, make_seminar):
    make_seminar("Open seminar on AI", days_from_now=10)
    make_seminar("Ongoing course", days_from_now=-30, end_date=TODAY + timedelta(days=30))
    make_seminar("Last spring's dialogue meeting", days_from_now=-100)
    make_seminar("Internal meeting", is_public=False)
    make_seminar("Cancelled seminar", status=ActivityStatus.CANCELLED)
    make_seminar("Deleted seminar", deleted=True)
    make_seminar("Ancient workshop", days_from_now=-800)

    html = page(client)

    for shown in ("Open seminar on AI", "Ongoing course", "Last spring&#39;s dialogue meeting"):
        assert shown in html
        assert f"Summary of {shown}" in html
    for hidden in ("Internal meeting", "Cancelled seminar", "Deleted seminar", "Ancient workshop"):
        assert hidden not in html
    assert "Internal description" not in html
    assert "Internal outcome" not in html
    upcoming, recent = html.split("Recent", 1)
    assert "Open seminar on AI" in upcoming and "Ongoing course" in upcoming
    assert "dialogue meeting" in recent


def test_current_activities_come_in_start_order_whichever_way_they_are_current(
    client, make_seminar
):
    """Starting later, running until later, or ongoing without an end: each is current, and
    the first ten by start are shown, however many past activities came before them."""
    for number in range(30):
        make_seminar(f"Past seminar {number}", days_from_now=-300 - number)
    make_seminar("Year-long course", days_from_now=-200, status=ActivityStatus.ONGOING)
    make_seminar("Autumn programme", days_from_now=-60, end_date=TODAY + timedelta(days=20))
    make_seminar("Finished programme", days_from_now=-90, end_date=TODAY - timedelta(days=1))
    for number in range(12):
        make_seminar(f"Seminar {number:02d}", days_from_now=number + 1)

    upcoming = page(client).split("Recent", 1)[0]
    titles = re.findall(r"Year-long course|Autumn programme|Seminar \d\d|Finished programme|"
                        r"Past seminar \d+", upcoming)  # fmt: skip
    # Each title is shown twice: as the heading and in its summary.
    assert list(dict.fromkeys(titles)) == ["Year-long course", "Autumn programme"] + [
        f"Seminar {number:02d}" for number in range(8)
    ]


def test_only_public_documents_of_live_owners_are_listed(
    client, db, make_seminar, make_document, agreement
):
    strategy = make_document("Strategy for industry collaboration", owner=agreement, is_public=True)
    private = make_document("Internal budget", owner=agreement, is_public=False)
    deleted = make_document("Withdrawn paper", owner=agreement, is_public=True, deleted=True)
    gone_activity = make_seminar("Deleted event", deleted=True)
    orphan = make_document("Slides of a deleted event", owner=gone_activity, is_public=True)

    html = page(client)

    assert "Strategy for industry collaboration" in html
    assert f'href="/documents/{strategy.id}/download"' in html
    for hidden in (private, deleted, orphan):
        assert hidden.title not in html
        assert f"/documents/{hidden.id}/" not in html


def test_public_contact_people_are_listed(client, db, make_user):
    anna = make_user("coordinator", name="Anna Andersson", email="anna@example.org")
    anna.is_public_contact = True
    anna.title = "Samverkanskoordinator"
    former = make_user("member", name="Former Person", active=False)
    former.is_public_contact = True
    make_user("member", name="Quiet Person")
    db.session.commit()

    html = page(client)

    assert "Anna Andersson" in html
    assert "Samverkanskoordinator" in html
    assert 'href="mailto:anna@example.org"' in html
    assert "Former Person" not in html
    assert "Quiet Person" not in html


def test_swedish_and_english_with_the_way_to_the_enquiry_form(client, db):
    settings.put("office_name", "Samverkanskontoret")
    settings.put("intro_sv", "Välkommen till oss.")
    settings.put("intro_en", "Welcome to us.")
    db.session.commit()

    swedish = page(client, "sv")
    assert '<html lang="sv">' in swedish
    assert "Välkommen till oss." in swedish
    assert 'href="/contact?lang=sv"' in swedish
    assert "Kontaktpersoner" in swedish or "Aktiviteter" in swedish

    english = page(client, "en")
    assert '<html lang="en">' in english
    assert "Welcome to us." in english
    assert "Contact people" in english and "Activities" in english and "Documents" in english
    assert 'href="/contact?lang=en"' in english


def test_the_other_languages_introduction_stands_in_when_one_is_missing(client, db):
    settings.put("intro_sv", "Bara på svenska.")
    db.session.commit()
    assert "Bara på svenska." in page(client, "en")


def test_empty_states(client):
    html = page(client)
    assert "No activities are planned at the moment." in html
    assert "No documents are published yet." in html


def test_nothing_is_loaded_from_another_host(client, make_seminar, make_document, agreement):
    make_seminar("Open seminar")
    make_document("Strategy", owner=agreement, is_public=True)

    html = page(client)

    addresses = re.findall(r'(?:src|href|action)="([^"]*)"', html)
    assert addresses
    assert [address for address in addresses if re.match(r"(?:https?:)?//", address)] == []


def test_signed_in_staff_get_a_link_to_their_overview(client, login):
    assert "/dashboard" not in page(client).split("<main", 1)[1]
    login("viewer")
    assert 'href="/dashboard/"' in page(client).split("<main", 1)[1]


def test_the_query_count_does_not_grow_with_the_data(
    client, db, make_seminar, make_document, agreement, make_user
):
    make_seminar("First")
    make_document("First document", owner=agreement, is_public=True)
    page(client)
    with count_queries(db) as few:
        page(client)

    for number in range(15):
        make_seminar(f"Seminar {number}", days_from_now=number - 7)
        make_document(f"Document {number}", owner=agreement, is_public=True)
        person = make_user("member")
        person.is_public_contact = True
    db.session.commit()
    with count_queries(db) as many:
        page(client)

    assert len(many) == len(few)
