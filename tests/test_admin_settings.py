"""The office settings page: admins only; what they save shows on the public page; bad
input is refused with a message and saves nothing."""

import pytest
import sqlalchemy as sa

from crm.core.models import AuditEntry
from crm.settings import services as settings
from crm.settings.models import Setting


def valid_form(**fields):
    data = {
        "office_name_sv": "Samverkanskontoret",
        "office_name_en": "The collaboration office",
        "accent_colour": "",
        "intro_sv": "Vi samverkar med företag.\n\nHör av dig!",
        "intro_en": "We collaborate with companies.\r\n\r\nGet in touch!",
        "data_controller": "Regionen, Box 1, 111 11 Stockholm",
        "retention_months": "36",
        "email_retention_months": "24",
        "notification_recipients": "coordinator@example.org, office@example.org\nboss@example.org",
        "agreement_warning_days": "30",
    }
    data.update(fields)
    return data


def settings_entries(db):
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.entity_type == "settings")
    )


def test_admins_edit_the_settings_and_the_public_page_shows_them(client, db, login):
    admin = login("admin")

    page = client.get("/admin/settings?lang=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for label in (
        "Office name in Swedish",
        "Office name in English",
        "Introduction on the public page, in Swedish",
        "Data controller",
    ):
        assert label in html
    assert 'href="/admin/settings"' in html  # the nav entry appears

    response = client.post("/admin/settings", data=valid_form())
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/settings")
    assert "Settings saved." in client.get("/admin/settings?lang=en").get_data(as_text=True)

    values = settings.get_many(
        ["office_name_sv", "office_name_en", "retention_months", "notification_recipients"]
    )
    assert values == {
        "office_name_sv": "Samverkanskontoret",
        "office_name_en": "The collaboration office",
        "retention_months": 36,
        "notification_recipients": [
            "coordinator@example.org",
            "office@example.org",
            "boss@example.org",
        ],
    }
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.entity_type == "settings"))
    assert entry.actor_id == admin.id
    assert entry.changes["retention_months"] == [24, 36]

    english = client.get("/?lang=en").get_data(as_text=True)
    assert "<h1>The collaboration office</h1>" in english
    assert "<p>We collaborate with companies.</p>" in english
    assert "<p>Get in touch!</p>" in english
    swedish = client.get("/?lang=sv").get_data(as_text=True)
    assert "<h1>Samverkanskontoret</h1>" in swedish
    assert "<p>Vi samverkar med företag.</p>" in swedish


def test_the_form_shows_the_current_values(client, db, login):
    login("admin")
    settings.put("notification_recipients", ["a@example.org", "b@example.org"])
    settings.put("intro_en", "Hello")
    db.session.commit()

    html = client.get("/admin/settings").get_data(as_text=True)

    assert "a@example.org\nb@example.org" in html
    assert "Hello</textarea>" in html


def test_the_introduction_is_escaped_on_the_public_page(client, db, login):
    login("admin")
    client.post("/admin/settings", data=valid_form(intro_en="<script>alert(1)</script>"))

    html = client.get("/?lang=en").get_data(as_text=True)

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize("role", ["coordinator", "member", "viewer"])
def test_only_admins_reach_the_settings(client, db, login, role):
    login(role)
    assert client.get("/admin/settings").status_code in (403, 404)
    response = client.post("/admin/settings", data=valid_form())
    assert response.status_code in (403, 404)
    assert db.session.get(Setting, "office_name") is None


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/admin/settings")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("retention_months", "0", "Enter a whole number of months from 1 to 120."),
        ("retention_months", "121", "Enter a whole number of months from 1 to 120."),
        ("retention_months", "twelve", "Enter a whole number of months from 1 to 120."),
        ("retention_months", "", "Enter a whole number of months from 1 to 120."),
        ("notification_recipients", "ok@example.org, not-an-address", "not-an-address is not"),
        ("notification_recipients", "a@b", "a@b is not a valid e-mail address."),
        ("office_name_sv", "x" * 201, "Field cannot be longer than 200 characters."),
        ("accent_colour", "teal", "Enter the colour as # and six hex digits, e.g. #0b5563."),
        ("accent_colour", "#ffff00", "This colour is too light for white text"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_nothing_is_saved(
    client, db, login, field, value, message
):
    login("admin")

    response = client.post("/admin/settings?lang=en", data=valid_form(**{field: value}))

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in html
    assert 'class="error-summary"' in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Setting)) == 0
    assert settings_entries(db) == 0


def test_saving_unchanged_settings_says_so(client, db, login):
    login("admin")
    client.post("/admin/settings", data=valid_form())
    response = client.post("/admin/settings?lang=en", data=valid_form(), follow_redirects=True)
    assert "Nothing was changed." in response.get_data(as_text=True)
    assert settings_entries(db) == 1
