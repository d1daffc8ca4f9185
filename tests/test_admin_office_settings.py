"""The office in settings: its name per language, logo, accent colour and public contact
people, set at /admin/settings and shown on the public page, every page's header and the
e-mails, in each reader's language."""

import io
import re

import pytest
import sqlalchemy as sa

from crm.auth.models import Role, User
from crm.core.images import StoredImage, store_image
from crm.core.models import AuditEntry
from crm.enquiries import services as enquiry_services
from crm.enquiries.intake import default_consent_body
from crm.mail.models import OutboxMessage
from crm.privacy.default_notice import default_notice_text
from crm.settings import services as settings
from tests.helpers import count_queries
from tests.images import gif, noisy_png, png, upload

SWEDISH = "Innovation- och företagssamverkan"
ENGLISH = "Innovation and industry collaboration"


def settings_form(**changes):
    data = {
        "office_name_sv": SWEDISH,
        "office_name_en": ENGLISH,
        "accent_colour": "",
        "intro_sv": "Vi samverkar med företag.",
        "intro_en": "We collaborate with companies.",
        "data_controller": "",
        "retention_months": "24",
        "email_retention_months": "24",
        "notification_recipients": "",
        "agreement_warning_days": "30",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def named_office(db):
    settings.put("office_name_sv", SWEDISH)
    settings.put("office_name_en", ENGLISH)
    db.session.commit()


def header(html):
    return html.split('<header class="site-header">', 1)[1].split("</header>", 1)[0]


def images(db):
    return db.session.scalars(sa.select(StoredImage).order_by(StoredImage.id)).all()


# ---------------------------------------------------------------- the name per language


def test_the_names_are_saved_per_language_and_shown_in_each(client, db, login):
    login(Role.ADMIN)

    response = client.post("/admin/settings", data=settings_form())

    assert response.status_code == 302
    assert settings.get_many(["office_name_sv", "office_name_en"]) == {
        "office_name_sv": SWEDISH,
        "office_name_en": ENGLISH,
    }
    swedish = client.get("/?lang=sv").get_data(as_text=True)
    english = client.get("/?lang=en").get_data(as_text=True)
    assert f"<h1>{SWEDISH}</h1>" in swedish and f"<h1>{ENGLISH}</h1>" in english
    assert f'<span class="brand-name">{SWEDISH}</span>' in header(swedish)
    assert f'<span class="brand-name">{ENGLISH}</span>' in header(english)
    assert f"<title>{SWEDISH} – {SWEDISH}</title>" in swedish
    # Staff pages too: the header of every page.
    dashboard = client.get("/dashboard/?lang=en").get_data(as_text=True)
    assert f'<span class="brand-name">{ENGLISH}</span>' in header(dashboard)
    assert f"– {ENGLISH}</title>" in dashboard
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.entity_type == "settings"))
    assert entry.changes["office_name_sv"][1] == SWEDISH


def test_a_language_without_a_name_shows_the_other_languages(client, db, login):
    login(Role.ADMIN)
    client.post("/admin/settings", data=settings_form(office_name_en=""))

    english = client.get("/?lang=en").get_data(as_text=True)

    assert f"<h1>{SWEDISH}</h1>" in english


def test_the_old_single_name_is_shown_until_names_per_language_are_set(client, db, login):
    settings.put("office_name", "Samverkanskontoret")
    db.session.commit()

    assert "<h1>Samverkanskontoret</h1>" in client.get("/?lang=en").get_data(as_text=True)
    login(Role.ADMIN)
    form = client.get("/admin/settings?lang=en").get_data(as_text=True)
    assert 'name="office_name_sv" type="text" value="Samverkanskontoret"' in form


def test_at_least_one_name_is_needed(client, db, login):
    login(Role.ADMIN)

    response = client.post(
        "/admin/settings?lang=en", data=settings_form(office_name_sv=" ", office_name_en="")
    )

    assert response.status_code == 200
    assert "Enter the office&#39;s name in at least one language." in response.get_data(
        as_text=True
    )
    assert settings.get("office_name_sv") == ""


@pytest.mark.config(PAGE_CACHE_SECONDS=60)
def test_a_new_name_reaches_the_cached_public_page_at_once(app, client, db, login):
    visitor = app.test_client()
    english = {"Accept-Language": "en"}
    visitor.get("/", headers=english)
    assert visitor.get("/", headers=english).headers.get("X-Page-Cache") == "hit"
    login(Role.ADMIN)

    client.post("/admin/settings", data=settings_form())

    assert f"<h1>{ENGLISH}</h1>" in visitor.get("/", headers=english).get_data(as_text=True)


# ---------------------------------------------------------------- the e-mails


@pytest.fixture
def coordinators(make_user):
    swedish = make_user(Role.COORDINATOR, email="svensk@example.org")
    english = make_user(Role.COORDINATOR, email="english@example.org")
    english.language = "en"
    return swedish, english


@pytest.mark.parametrize("language", ["sv", "en"])
def test_the_receipt_names_the_office_in_the_senders_language(
    db, make_enquiry, coordinators, language
):
    named_office(db)

    make_enquiry(language=language, email="sender@example.com")
    db.session.commit()

    receipt = db.session.scalar(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "enquiry_receipt")
    )
    name, other = (SWEDISH, ENGLISH) if language == "sv" else (ENGLISH, SWEDISH)
    assert name in receipt.body_text
    assert other not in receipt.body_text


def test_each_notice_names_the_office_in_its_readers_language(db, make_enquiry, coordinators):
    named_office(db)
    db.session.get(User, coordinators[1].id).language = "en"
    db.session.commit()

    make_enquiry(language="sv")
    db.session.commit()

    notices = {
        message.recipient: message.body_text
        for message in db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.kind == "enquiry_notice")
        )
    }
    assert SWEDISH in notices["svensk@example.org"]
    assert ENGLISH in notices["english@example.org"]
    assert SWEDISH not in notices["english@example.org"]


@pytest.mark.parametrize("language", ["sv", "en"])
def test_a_reply_comes_from_the_office_in_the_enquirys_language(
    db, make_user, make_enquiry, language
):
    named_office(db)
    member = make_user(Role.MEMBER)
    enquiry = make_enquiry(language=language, assignee_id=member.id)

    email = enquiry_services.send_reply(enquiry, subject="Re", body="Thank you.", actor=member)
    db.session.commit()

    expected = SWEDISH if language == "sv" else ENGLISH
    assert email.from_name == expected
    reply = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "enquiry_reply"))
    assert reply.sender_name == expected


def test_the_built_in_privacy_texts_name_the_office_in_their_language(app, db):
    named_office(db)

    assert SWEDISH in default_notice_text("sv", retention_months=24, email_retention_months=24)
    assert ENGLISH in default_notice_text("en", retention_months=24, email_retention_months=24)
    assert SWEDISH in default_consent_body("sv")
    assert ENGLISH in default_consent_body("en")


def test_the_public_notice_and_contact_form_name_the_office_in_the_pages_language(client, db):
    named_office(db)

    assert ENGLISH in client.get("/privacy?lang=en").get_data(as_text=True)
    assert SWEDISH in client.get("/privacy?lang=sv").get_data(as_text=True).split("<main")[1]
    contact = client.get("/contact?lang=en").get_data(as_text=True)
    assert f"together with {ENGLISH}" in contact


# ---------------------------------------------------------------- the logo


def test_a_logo_is_uploaded_shown_in_every_header_replaced_and_removed(app, client, db, login):
    login(Role.ADMIN)

    response = client.post(
        "/admin/settings", data=settings_form(logo=upload(png((400, 100)), "logo.png"))
    )

    assert response.status_code == 302
    [logo] = images(db)
    logo_id, address = logo.id, f"/images/{logo.id}-{logo.digest}.png"
    assert logo.purpose == "logo"
    assert settings.get("logo_image_id") == logo_id
    visitor = app.test_client()
    for browser, page in [
        (visitor, "/?lang=sv"),
        (visitor, "/?lang=en"),
        (visitor, "/login"),
        (client, "/dashboard/"),
        (client, "/admin/settings"),
    ]:
        html = browser.get(page).get_data(as_text=True)
        assert f'<img class="brand-logo" src="{address}" alt=""' in header(html), page
    assert visitor.get(address).status_code == 200

    client.post("/admin/settings", data=settings_form(logo=upload(png(colour=(1, 2, 3)), "b.png")))
    [new_logo] = images(db)
    new_logo_id = new_logo.id
    assert new_logo_id != logo_id
    assert client.get(address).status_code == 404

    client.post("/admin/settings", data=settings_form(remove_logo="y"))
    assert images(db) == []
    assert settings.get("logo_image_id") is None
    assert "brand-logo" not in client.get("/").get_data(as_text=True)
    changes = [
        entry.changes.get("logo_image_id")
        for entry in db.session.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.entity_type == "settings")
            .order_by(AuditEntry.id)
        )
    ]
    assert changes[-3:] == [[None, logo_id], [logo_id, new_logo_id], [new_logo_id, None]]


def test_a_logo_over_the_form_memory_limit_is_still_accepted(client, db, login):
    """Werkzeug's MAX_FORM_MEMORY_SIZE (1 MB) is for fields, not files; crm.core.security's
    limit is for URL-encoded forms: a 1.5 MB logo passes both."""
    login(Role.ADMIN)
    logo = noisy_png(side=700)
    assert 1024 * 1024 < len(logo) < 2 * 1024 * 1024

    response = client.post("/admin/settings", data=settings_form(logo=upload(logo, "big.png")))

    assert response.status_code == 302
    assert len(images(db)) == 1


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "logo.png", "Upload a PNG, JPEG or WebP"),
        (gif(), "logo.gif", "Upload a PNG, JPEG or WebP"),
        (noisy_png(), "logo.png", "The image is too large: at most 2 MB."),
    ],
    ids=["svg named .png", "gif", "over 2 MB"],
)
def test_a_bad_logo_is_refused_and_no_setting_changes(
    client, db, login, content, filename, message
):
    login(Role.ADMIN)

    response = client.post(
        "/admin/settings?lang=en", data=settings_form(logo=upload(content, filename))
    )

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in html
    assert 'id="logo-error"' in html
    assert images(db) == []
    assert settings.get("office_name_sv") == ""
    assert not db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.entity_type == "settings")
    ).all()


# ---------------------------------------------------------------- the accent colour


def test_the_accent_colour_is_applied_to_every_page_by_a_style_sheet(app, client, db, login):
    login(Role.ADMIN)

    client.post("/admin/settings", data=settings_form(accent_colour=" #1A5B3C "))

    assert settings.get("accent_colour") == "#1a5b3c"
    visitor = app.test_client()
    for browser, page in [
        (visitor, "/"),
        (visitor, "/login"),
        (visitor, "/contact"),
        (client, "/dashboard/"),
        (client, "/admin/settings"),
    ]:
        html = browser.get(page).get_data(as_text=True)
        assert '<link rel="stylesheet" href="/theme/1a5b3c.css">' in html, page
        # The CSP allows no inline style: nothing may need it.
        assert " style=" not in html and "<style" not in html, page
    sheet = client.get("/theme/1a5b3c.css")
    assert sheet.status_code == 200
    assert sheet.mimetype == "text/css"
    css = sheet.get_data(as_text=True)
    assert "--accent: #1a5b3c;" in css
    assert re.search(r"--accent-dark: #[0-9a-f]{6};", css)
    assert sheet.headers["Cache-Control"] == "public, max-age=31536000, immutable"

    client.post("/admin/settings", data=settings_form(accent_colour=""))
    assert settings.get("accent_colour") is None
    assert "/theme/" not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("colour", ["1A5B3C", "12345", "zzzzzz", "1a5b3c;x", "%231a5b3c"])
def test_the_style_sheet_answers_only_for_a_colour(client, colour):
    assert client.get(f"/theme/{colour}.css").status_code == 404


def test_the_colour_form_value_without_hash_is_accepted(client, db, login):
    login(Role.ADMIN)
    client.post("/admin/settings", data=settings_form(accent_colour="0b5563"))
    assert settings.get("accent_colour") == "#0b5563"


# ---------------------------------------------------------------- public contact people


def test_admins_choose_the_public_contact_people_shown_on_the_public_page(
    client, db, login, make_user
):
    anna = make_user(Role.MEMBER, name="Anna Andersson", email="anna@example.org")
    anna.title, anna.phone = "Innovation advisor", "+46 31 123 45 67"
    anna.photo_id = store_image(io.BytesIO(png()), purpose="photo").id
    bo = make_user(Role.COORDINATOR, name="Bo Berg", email="bo@example.org")
    bo.is_public_contact = True
    gone = make_user(Role.MEMBER, name="Gunnel Gone", active=False)
    db.session.commit()
    admin = login(Role.ADMIN)
    form = client.get("/admin/settings?lang=en").get_data(as_text=True)
    assert "Anna Andersson" in form and "Gunnel Gone" not in form
    assert re.search(rf'checked[^>]*value="{bo.id}"|value="{bo.id}"[^>]*checked', form)

    response = client.post("/admin/settings", data=settings_form(public_contacts=[str(anna.id)]))

    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, anna.id).is_public_contact is True
    assert db.session.get(User, bo.id).is_public_contact is False
    assert db.session.get(User, gone.id).is_public_contact is False
    for person in (anna, bo):
        [entry] = db.session.scalars(
            sa.select(AuditEntry).where(
                AuditEntry.entity_type == "users",
                AuditEntry.entity_id == person.id,
                AuditEntry.action == "update",
            )
        ).all()
        assert entry.actor_id == admin.id
        assert list(entry.changes) == ["is_public_contact"]

    page = client.get("/?lang=en").get_data(as_text=True)
    people = page.split('id="people-heading"', 1)[1]
    photo = db.session.get(StoredImage, db.session.get(User, anna.id).photo_id)
    assert "Anna Andersson" in people and "Innovation advisor" in people
    assert 'href="mailto:anna@example.org"' in people
    assert 'href="tel:+46311234567"' in people
    assert f'src="/images/{photo.id}-{photo.digest}.png"' in people
    assert "Bo Berg" not in people


def test_a_tampered_contact_choice_is_refused(client, db, login, make_user):
    gone = make_user(Role.MEMBER, active=False)
    login(Role.ADMIN)

    response = client.post(
        "/admin/settings?lang=en", data=settings_form(public_contacts=[str(gone.id)])
    )

    assert response.status_code == 200
    assert "is not a valid choice" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, gone.id).is_public_contact is False


def test_the_public_pages_query_count_stays_with_logo_photos_and_people(client, db, make_user):
    logo = store_image(io.BytesIO(png()), purpose="logo")
    settings.put("logo_image_id", logo.id)
    settings.put("accent_colour", "#1a5b3c")
    first = make_user(Role.MEMBER)
    first.is_public_contact = True
    db.session.commit()
    client.get("/?lang=en")
    with count_queries(db) as few:
        client.get("/?lang=en")

    for _number in range(10):
        person = make_user(Role.MEMBER)
        person.is_public_contact = True
        person.photo_id = store_image(io.BytesIO(png()), purpose="photo").id
    db.session.commit()
    with count_queries(db) as many:
        page = client.get("/?lang=en").get_data(as_text=True)

    assert page.count('class="contact-photo"') == 10
    assert len(many) == len(few)
