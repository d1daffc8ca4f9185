"""The public privacy notice: the built-in default, versions edited by admins, old versions
readable, and each enquiry keeping the version its sender was shown."""

import re

import sqlalchemy as sa

from crm.auth.models import Role
from crm.enquiries.models import Enquiry
from crm.extensions import db as _db
from crm.privacy.models import PrivacyNotice
from crm.settings import services as settings


def hidden_value(page, name):
    match = re.search(rf'name="{name}" type="hidden" value="([^"]*)"', page)
    assert match, f"no hidden field {name}"
    return match.group(1)


def send_enquiry(client, email, language="en"):
    page = client.get(f"/contact?lang={language}").get_data(as_text=True)
    data = {
        "name": "Anna Andersson",
        "email": email,
        "topic": "clinical_studies",
        "message": "We would like to discuss a clinical study.",
        "acknowledgement": "y",
        "form_token": hidden_value(page, "form_token"),
        "consent_text_id": hidden_value(page, "consent_text_id"),
    }
    response = client.post(f"/contact?lang={language}", data=data, follow_redirects=True)
    assert response.status_code == 200
    return _db.session.scalars(sa.select(Enquiry).where(Enquiry.email == email)).one()


def publish(client, body_sv, body_en):
    return client.post("/admin/privacy/notice", data={"body_sv": body_sv, "body_en": body_en})


def test_default_notice_in_both_languages_names_controller_retention_and_imy(client, db):
    settings.put("data_controller", "Region Skåne")
    settings.put("retention_months", 18)
    db.session.commit()

    english = client.get("/privacy?lang=en").get_data(as_text=True)
    swedish = client.get("/privacy?lang=sv").get_data(as_text=True)

    assert "Privacy notice" in english
    assert "Region Skåne" in english
    assert "18 months" in english
    assert "Integritetsskyddsmyndigheten" in english
    assert "Your rights" in english
    assert '<html lang="sv">' in swedish
    assert "Region Skåne" in swedish
    assert "Integritetsskyddsmyndigheten" in swedish


def test_notice_is_public_and_linked_from_the_footer(client):
    response = client.get("/privacy")
    assert response.status_code == 200
    assert 'href="/privacy"' in client.get("/").get_data(as_text=True)


def test_enquiry_form_links_to_the_notice_in_its_language(client):
    page = client.get("/contact?lang=en").get_data(as_text=True)
    assert 'href="/privacy?lang=en"' in page


def test_admin_publishes_versions_and_old_ones_stay_readable(login, client, db):
    admin = login(Role.ADMIN)
    client.post("/language/en?next=/")
    page = client.get("/admin/privacy/notice").get_data(as_text=True)
    assert "Saving publishes version 1" in page
    # The editor starts from the built-in text.
    assert "Integritetsskyddsmyndigheten" in page

    assert publish(client, "Första versionen.", "First version.").status_code == 302
    assert publish(client, "Andra versionen.", "Second version.").status_code == 302

    versions = db.session.scalars(sa.select(PrivacyNotice).order_by(PrivacyNotice.version)).all()
    assert [(item.version, item.body_en) for item in versions] == [
        (1, "First version."),
        (2, "Second version."),
    ]
    assert versions[0].created_by_id == admin.id
    assert "Second version." in client.get("/privacy?lang=en").get_data(as_text=True)
    assert "Andra versionen." in client.get("/privacy?lang=sv").get_data(as_text=True)
    old = client.get("/privacy/versions/1?lang=en").get_data(as_text=True)
    assert "First version." in old
    assert "This is an earlier version of the notice." in old
    listing = client.get("/privacy/versions?lang=en").get_data(as_text=True)
    assert "Version 1" in listing and "Version 2" in listing
    assert client.get("/privacy/versions/3").status_code == 404


def test_saving_an_unchanged_notice_adds_no_version(login, client, db):
    login(Role.ADMIN)
    publish(client, "Text.", "Text.")
    response = publish(client, "Text.", "Text.")

    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PrivacyNotice)) == 1


def test_notice_needs_both_languages(login, client, db):
    login(Role.ADMIN)
    client.post("/language/en?next=/")
    response = publish(client, "Svensk text.", "  ")

    assert response.status_code == 200
    assert "Write the notice in English." in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PrivacyNotice)) == 0


def test_enquiry_keeps_the_version_shown_when_it_was_sent(login, client, db, make_user):
    admin = make_user(Role.ADMIN)
    make_user(Role.COORDINATOR)
    client.post("/login", data={"email": admin.email, "password": "correct horse battery staple"})
    publish(client, "Version ett.", "Version one.")
    client.post("/logout")

    enquiry = send_enquiry(client, "first@example.org")
    first_version = enquiry.privacy_notice.version
    assert first_version == 1

    client.post("/login", data={"email": admin.email, "password": "correct horse battery staple"})
    publish(client, "Version två.", "Version two.")
    client.post("/logout")
    later = send_enquiry(client, "second@example.org")

    db.session.expire_all()
    assert db.session.get(Enquiry, enquiry.id).privacy_notice.version == 1
    assert later.privacy_notice.version == 2
    # What the first sender was shown is still there, unchanged.
    old = client.get("/privacy/versions/1?lang=en").get_data(as_text=True)
    assert "Version one." in old and "Version two." not in old

    coordinator = login(Role.COORDINATOR)
    assert coordinator
    detail = client.get(f"/enquiries/{enquiry.id}").get_data(as_text=True)
    assert "Privacy notice version 1" in detail


def test_enquiry_before_any_version_keeps_the_built_in_text_as_version_1(client, db, make_user):
    make_user(Role.COORDINATOR)
    shown = client.get("/privacy?lang=en").get_data(as_text=True)
    enquiry = send_enquiry(client, "early@example.org")

    notice = enquiry.privacy_notice
    assert notice is not None and notice.version == 1
    # The stored text is the built-in notice the sender could read, in both languages.
    assert "Integritetsskyddsmyndigheten" in notice.body_en
    assert "Integritetsskyddsmyndigheten" in notice.body_sv
    assert "Your rights" in notice.body_en and "Your rights" in shown
    # A second enquiry points at the same version.
    assert send_enquiry(client, "later@example.org").privacy_notice_id == notice.id
