"""The public collaboration page: only public, live activities and documents, public contact
people, the way to the enquiry form, in Swedish and English, nothing from third parties."""

import re
import uuid
from datetime import date, timedelta

import pytest

from crm.activities.models import Activity, ActivityKind, ActivityStatus
from crm.agreements.models import Agreement, AgreementKind
from crm.core.types import utcnow
from crm.documents.models import Document
from crm.settings import services as settings
from tests.helpers import count_queries

TODAY = date.today()


@pytest.fixture
def make_activity(db):
    def make(title, *, days_from_now=7, **fields):
        values = {
            "kind": ActivityKind.SEMINAR,
            "title": title,
            "start_date": TODAY + timedelta(days=days_from_now),
            "is_public": True,
            "public_summary": f"Summary of {title}",
            "description": f"Internal description of {title}",
            "outcome": f"Internal outcome of {title}",
            **fields,
        }
        activity = Activity(**values)
        db.session.add(activity)
        db.session.commit()
        return activity

    return make


@pytest.fixture
def make_document(db):
    def make(title, *, owner, **fields):
        owner_key = {Agreement: "agreement", Activity: "activity"}[type(owner)]
        values = {
            "title": title,
            "original_filename": "file.pdf",
            "stored_name": uuid.uuid4().hex,
            "content_type": "application/pdf",
            "size_bytes": 2048,
            "sha256": "0" * 64,
            "is_public": True,
            owner_key: owner,
            **fields,
        }
        document = Document(**values)
        db.session.add(document)
        db.session.commit()
        return document

    return make


@pytest.fixture
def agreement(db):
    agreement = Agreement(kind=AgreementKind.FRAMEWORK, title="Ramavtal med branschföreningarna")
    db.session.add(agreement)
    db.session.commit()
    return agreement


def page(client, language="en"):
    response = client.get("/", query_string={"lang": language})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_only_public_live_activities_are_shown_with_their_public_summary(client, make_activity):
    make_activity("Open seminar on AI", days_from_now=10)
    make_activity("Ongoing course", days_from_now=-30, end_date=TODAY + timedelta(days=30))
    make_activity("Last spring's dialogue meeting", days_from_now=-100)
    make_activity("Internal meeting", is_public=False)
    make_activity("Cancelled seminar", status=ActivityStatus.CANCELLED)
    make_activity("Deleted seminar", deleted_at=utcnow())
    make_activity("Ancient workshop", days_from_now=-800)

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


def test_only_public_documents_of_live_owners_are_listed(
    client, db, make_activity, make_document, agreement
):
    strategy = make_document("Strategy for industry collaboration", owner=agreement)
    private = make_document("Internal budget", owner=agreement, is_public=False)
    deleted = make_document("Withdrawn paper", owner=agreement, deleted_at=utcnow())
    gone_activity = make_activity("Deleted event", deleted_at=utcnow())
    orphan = make_document("Slides of a deleted event", owner=gone_activity)

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


def test_nothing_is_loaded_from_another_host(client, make_activity, make_document, agreement):
    make_activity("Open seminar")
    make_document("Strategy", owner=agreement)

    html = page(client)

    addresses = re.findall(r'(?:src|href|action)="([^"]*)"', html)
    assert addresses
    assert [address for address in addresses if re.match(r"(?:https?:)?//", address)] == []


def test_signed_in_staff_get_a_link_to_their_overview(client, login):
    assert "/dashboard" not in page(client).split("<main", 1)[1]
    login("viewer")
    assert 'href="/dashboard/"' in page(client).split("<main", 1)[1]


def test_the_query_count_does_not_grow_with_the_data(
    client, db, make_activity, make_document, agreement, make_user
):
    make_activity("First")
    make_document("First document", owner=agreement)
    page(client)
    with count_queries(db) as few:
        page(client)

    for number in range(15):
        make_activity(f"Seminar {number}", days_from_now=number - 7)
        make_document(f"Document {number}", owner=agreement)
        person = make_user("member")
        person.is_public_contact = True
    db.session.commit()
    with count_queries(db) as many:
        page(client)

    assert len(many) == len(few)
