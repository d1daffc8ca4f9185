"""The consent text above the contact form's checkbox: admins publish new versions; the form
shows the newest; enquiries keep the version their sender agreed to; bad input saves nothing."""

import re

import pytest
import sqlalchemy as sa

from crm.core.models import AuditEntry
from crm.enquiries.intake import default_consent_body
from crm.enquiries.models import Enquiry
from crm.settings.models import ConsentText
from tests.test_enquiries_form import VALID, hidden_value

URL = "/admin/consent-texts"


def texts(db):
    db.session.expire_all()
    return db.session.scalars(
        sa.select(ConsentText).order_by(ConsentText.language, ConsentText.version)
    ).all()


def send_enquiry(client, language="en"):
    page = client.get(f"/contact?lang={language}").get_data(as_text=True)
    hidden = {name: hidden_value(page, name) for name in ("form_token", "consent_text_id")}
    response = client.post(
        f"/contact?lang={language}", data={**VALID, **hidden}, follow_redirects=True
    )
    assert response.status_code == 200
    return page


def test_before_any_version_the_page_offers_the_built_in_text(app, client, db, login):
    login("admin")

    html = client.get(f"{URL}?lang=en").get_data(as_text=True)

    assert "No version has been published yet" in html
    with app.test_request_context():
        body = default_consent_body("en")
    assert re.sub(r"\s+", " ", body.replace("'", "&#39;")) in re.sub(r"\s+", " ", html)
    assert texts(db) == []


def test_an_admin_publishes_a_new_version_and_the_form_shows_it(client, db, login):
    admin = login("admin")
    client.get(f"{URL}?lang=en")  # the messages in English
    client.post(URL, data={"body_sv": "Vi behandlar dina uppgifter.", "body_en": "First text."})
    sender_page = send_enquiry(client)  # sent while version 1 is shown
    assert "First text." in sender_page

    response = client.post(
        URL,
        data={"body_sv": "Vi behandlar dina uppgifter.", "body_en": "Second text.\r\n\r\nMore."},
    )

    assert response.status_code == 302
    page = client.get(f"{URL}?lang=en").get_data(as_text=True)
    assert "Published: English version 2." in page
    assert [(text.language, text.version, text.body) for text in texts(db)] == [
        ("en", 1, "First text."),
        ("en", 2, "Second text.\n\nMore."),
        ("sv", 1, "Vi behandlar dina uppgifter."),  # unchanged, so no new version
    ]
    form = client.get("/contact?lang=en").get_data(as_text=True)
    assert "<p>Second text.</p><p>More.</p>" in form
    assert "First text." not in form
    # The enquiry sent earlier keeps the text its sender agreed to.
    enquiry = db.session.scalars(sa.select(Enquiry)).one()
    assert enquiry.consent_text.body == "First text."
    entry = db.session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.entity_type == "consent_texts")
        .order_by(AuditEntry.id.desc())
    ).first()
    assert entry.actor_id == admin.id
    assert entry.changes == {"language": [None, "en"], "version": [None, 2]}


def test_saving_the_same_text_publishes_nothing(client, db, login):
    login("admin")
    client.get(f"{URL}?lang=en")  # the messages in English
    data = {"body_sv": "Svensk text.", "body_en": "English text."}
    client.post(URL, data=data)

    client.post(URL, data=data)

    assert len(texts(db)) == 2
    page = client.get(f"{URL}?lang=en").get_data(as_text=True)
    assert "unchanged; no new version was published" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"body_sv": "", "body_en": "English text."}, "Write the consent text in Swedish."),
        ({"body_sv": "Svensk text.", "body_en": "   "}, "Write the consent text in English."),
        ({"body_sv": "Svensk text.", "body_en": "x" * 3001}, "Write at most 3000 characters."),
    ],
)
def test_bad_input_is_refused_with_a_message_and_saves_nothing(client, db, login, data, message):
    login("admin")
    client.get(f"{URL}?lang=en")

    response = client.post(f"{URL}?lang=en", data=data)

    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert texts(db) == []


def test_the_page_is_found_from_the_settings_and_the_privacy_pages(client, login):
    login("admin")

    for page in ("/admin/settings?lang=en", "/admin/privacy/?lang=en"):
        assert f'href="{URL}"' in client.get(page).get_data(as_text=True)


@pytest.mark.parametrize("role", ["coordinator", "member", "viewer"])
def test_only_admins_may_publish(client, db, login, role):
    login(role)

    assert client.get(URL).status_code == 403
    assert client.post(URL, data={"body_sv": "a", "body_en": "b"}).status_code == 403
    assert texts(db) == []


@pytest.mark.parametrize(
    ("page", "current"),
    [
        ("/admin/users", "/admin/users"),
        ("/admin/settings", "/admin/settings"),
        (URL, "/admin/settings"),
        ("/organisations/", "/organisations/"),
    ],
)
def test_the_navigation_marks_one_entry_as_the_current_page(client, login, page, current):
    login("admin")

    html = client.get(page).get_data(as_text=True)

    assert re.findall(r'<a href="([^"]+)" aria-current="page"', html) == [current]
