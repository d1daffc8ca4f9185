"""Personal data stays out of logs and error pages, and do-not-contact people stay out of
mailing exports."""

import csv
import io
import logging

import pytest
import sqlalchemy as sa

from crm.auth.models import Role
from crm.core.security import public_route
from crm.organisations.models import Contact, LegalBasis
from tests import factories

SECRET_PASSWORD = "Zebra-Violin-4471-secret"
SECRET_NOTE = "Patient-ID-19121212-1212 confidential"


def test_failed_sign_in_logs_no_password(client, make_user, caplog):
    caplog.set_level(logging.DEBUG)
    user = make_user(Role.MEMBER)

    response = client.post(
        "/login?lang=en", data={"email": user.email, "password": SECRET_PASSWORD}
    )

    assert response.status_code == 200
    assert "Wrong e-mail or password" in response.get_data(as_text=True)
    assert SECRET_PASSWORD not in response.get_data(as_text=True)
    assert SECRET_PASSWORD not in caplog.text


def test_form_with_errors_logs_nothing_of_what_was_typed(login, client, caplog):
    login(Role.MEMBER)
    caplog.set_level(logging.DEBUG)
    data = {
        "first_name": "Anna",
        "last_name": "",  # required: the form errors
        "email": "not-an-address",
        "legal_basis": "legitimate_interest",
        "notes": SECRET_NOTE,
    }

    response = client.post("/contacts/new", data=data)

    assert response.status_code == 200
    assert SECRET_NOTE not in caplog.text


@pytest.mark.fresh_app
@pytest.mark.config(PROPAGATE_EXCEPTIONS=False)
def test_server_error_page_shows_no_form_data(app, client, caplog):
    @public_route
    def broken():
        raise RuntimeError("a fault")

    app.add_url_rule("/broken-for-test", "broken_for_test", broken, methods=["POST"])
    caplog.set_level(logging.DEBUG)

    response = client.post(
        "/broken-for-test?lang=en", data={"password": SECRET_PASSWORD, "notes": SECRET_NOTE}
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong" in page
    assert SECRET_PASSWORD not in page and SECRET_NOTE not in page
    assert "a fault" in caplog.text  # the fault itself is logged …
    assert SECRET_PASSWORD not in caplog.text  # … but not what was sent
    assert SECRET_NOTE not in caplog.text


def test_privacy_requests_keep_the_address_out_of_the_logs(login, client, caplog):
    login(Role.ADMIN)
    caplog.set_level(logging.DEBUG)
    address = "secret.person@kvarnbo.example"

    client.post("/admin/privacy/", data={"email": address})
    client.get("/admin/privacy/")
    client.post("/admin/privacy/export")
    client.post("/admin/privacy/erase")

    assert address not in caplog.text


# ---------------------------------------------------------------- do not contact


def make_contact(last_name, email, *, do_not_contact=False):
    return factories.make_contact(
        "Test",
        last_name,
        email=email,
        legal_basis=LegalBasis.CONSENT,
        do_not_contact=do_not_contact,
    )


def read_csv(response):
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


@pytest.fixture
def contacts(db):
    made = {
        "willing": make_contact("Willing", "willing@example.org"),
        "refuses": make_contact("Refuses", "refuses@example.org", do_not_contact=True),
        "no_address": make_contact("Nomail", None),
        "anonymised": make_contact("Gone", "gone@example.org"),
    }
    db.session.commit()
    from crm.privacy import services

    services.anonymise_contact(made["anonymised"], actor=None)
    db.session.commit()
    return made


def test_mailing_export_leaves_out_do_not_contact_and_anonymised(login, client, contacts):
    login(Role.VIEWER)
    client.post("/language/en?next=/")
    page = client.get("/contacts/").get_data(as_text=True)
    assert "Export for a mailing" in page

    response = client.get("/contacts/export.csv?mailing=1")

    assert response.status_code == 200
    assert "contacts-mailing-" in response.headers["Content-Disposition"]
    rows = read_csv(response)
    assert [row["email"] for row in rows] == ["willing@example.org"]


def test_normal_export_keeps_everyone_and_marks_the_flag(login, client, contacts, db):
    login(Role.VIEWER)
    rows = read_csv(client.get("/contacts/export.csv"))

    flags = {row["last_name"]: row["do_not_contact"] for row in rows}
    assert flags["Refuses"] == "1"
    assert flags["Willing"] == "0"
    assert len(rows) == db.session.scalar(sa.select(sa.func.count()).select_from(Contact))


def test_contact_page_marks_do_not_contact(login, client, contacts):
    login(Role.VIEWER)
    page = client.get(f"/contacts/{contacts['refuses'].id}").get_data(as_text=True)
    assert 'class="badge do-not-contact"' in page
