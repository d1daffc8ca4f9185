"""Privacy exports, erasure, legal holds and user administration ask for the password again
when it was typed more than 15 minutes ago; "keep me signed in" lasts at most 30 days."""

import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from crm.auth.models import Role, User
from crm.core.types import utcnow
from crm.organisations import services as organisation_services
from crm.organisations.models import LegalBasis
from crm.privacy import services as privacy_services
from crm.privacy.views import SESSION_KEY
from tests.conftest import TEST_PASSWORD

ANNA = "anna.andersson@kvarnbo.example"
# Where the session keeps the time the password was last typed (crm/auth/decorators.py).
AUTH_AT = "auth_at"


def signed_in_minutes_ago(client, minutes):
    with client.session_transaction() as session:
        session[AUTH_AT] = int(time.time() - minutes * 60)


def sent_to_confirm(response):
    """The `next` of a redirect to the password confirmation, or None if it is not one."""
    if response.status_code != 302:
        return None
    location = urlsplit(response.headers["Location"])
    if location.path != "/account/confirm":
        return None
    return parse_qs(location.query).get("next", [""])[0]


def confirm(client, password=TEST_PASSWORD, next_url=None):
    return client.post(
        "/account/confirm",
        query_string={"next": next_url} if next_url else {},
        data={"password": password},
    )


@pytest.fixture
def anna(db):
    contact = organisation_services.create_contact(
        {
            "first_name": "Anna",
            "last_name": "Andersson",
            "email": ANNA,
            "phone": None,
            "title": None,
            "organisation_id": None,
            "notes": None,
            "legal_basis": LegalBasis.LEGITIMATE_INTEREST,
            "do_not_contact": False,
            "owner_id": None,
        },
        actor=None,
    )
    db.session.commit()
    return contact


@pytest.fixture
def admin_client(client, db, login, anna):
    admin = login(Role.ADMIN)
    # As a search for her address at /admin/privacy/ leaves it (the address stays server-side).
    token = privacy_services.start_search(ANNA, actor=admin)
    db.session.commit()
    with client.session_transaction() as session:
        session[SESSION_KEY] = token
    client.admin = admin
    return client


def sensitive_requests(client, contact):
    """(method, path) of every page that needs a recent sign-in."""
    return [
        ("GET", "/admin/users/new"),
        ("GET", f"/admin/users/{client.admin.id}"),
        ("POST", "/admin/privacy/export"),
        ("GET", "/admin/privacy/erase"),
        ("GET", f"/admin/privacy/hold/contacts/{contact.id}"),
    ]


def test_a_sign_in_16_minutes_ago_is_sent_to_confirm_the_password(admin_client, anna):
    signed_in_minutes_ago(admin_client, 16)

    for method, path in sensitive_requests(admin_client, anna):
        response = admin_client.open(
            path, method=method, headers={"Referer": "http://localhost/admin/privacy/"}
        )
        expected_next = "/admin/privacy/" if method == "POST" else path
        assert sent_to_confirm(response) == expected_next, (method, path)


def test_a_fresh_sign_in_goes_straight_through(admin_client, anna):
    for method, path in sensitive_requests(admin_client, anna):
        response = admin_client.open(path, method=method)
        assert response.status_code == 200, (method, path)


def test_a_session_restored_without_a_password_is_sent_to_confirm(admin_client):
    # As after Flask-Login restores a session from the "keep me signed in" cookie.
    with admin_client.session_transaction() as session:
        del session[AUTH_AT]

    assert sent_to_confirm(admin_client.get("/admin/users/new")) == "/admin/users/new"


def test_other_admin_pages_need_no_fresh_sign_in(admin_client):
    signed_in_minutes_ago(admin_client, 120)

    assert admin_client.get("/admin/users").status_code == 200
    assert admin_client.get("/admin/privacy/").status_code == 200


def test_after_confirming_the_password_the_user_can_be_created(admin_client, db):
    signed_in_minutes_ago(admin_client, 16)
    new_user = {
        "name": "Nils Holgersson",
        "email": "nils@example.org",
        "role": "member",
        "language": "sv",
        "password": "wild geese over skane",
    }
    refused = admin_client.post("/admin/users/new", data=new_user)
    assert sent_to_confirm(refused) is not None
    assert db.session.scalar(sa.select(User).where(User.email == "nils@example.org")) is None

    confirmed = confirm(admin_client, next_url="/admin/users/new")
    assert confirmed.status_code == 302
    assert confirmed.headers["Location"] == "/admin/users/new"

    created = admin_client.post("/admin/users/new", data=new_user)
    assert created.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == "nils@example.org"))
    assert user is not None
    assert urlsplit(created.headers["Location"]).path == f"/admin/users/{user.id}"


def test_after_confirming_the_password_the_export_works(admin_client):
    signed_in_minutes_ago(admin_client, 30)
    assert sent_to_confirm(admin_client.post("/admin/privacy/export")) is not None

    confirm(admin_client)
    export = admin_client.post("/admin/privacy/export")

    assert export.status_code == 200
    assert export.mimetype == "application/json"
    assert ANNA in export.get_data(as_text=True)


def test_a_wrong_password_does_not_confirm(admin_client):
    signed_in_minutes_ago(admin_client, 16)
    admin_client.post("/language/en?next=/")

    response = confirm(admin_client, password="not the right password")

    assert response.status_code == 200
    assert "The password is wrong" in response.get_data(as_text=True)
    assert sent_to_confirm(admin_client.get("/admin/users/new")) is not None


def test_wrong_passwords_at_the_confirmation_pause_the_account(app, db, admin_client):
    signed_in_minutes_ago(admin_client, 16)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        confirm(admin_client, password="not the right password")

    # Paused: the right password does not confirm, nor sign in elsewhere.
    assert confirm(admin_client).status_code == 200
    assert sent_to_confirm(admin_client.get("/admin/users/new")) is not None
    other = app.test_client().post(
        "/login", data={"email": admin_client.admin.email, "password": TEST_PASSWORD}
    )
    assert other.status_code == 200

    user = db.session.get(User, admin_client.admin.id)
    user.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert confirm(admin_client).status_code == 302
    assert admin_client.get("/admin/users/new").status_code == 200


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "javascript:x"])
def test_confirmation_never_sends_the_user_off_the_site(admin_client, target):
    response = confirm(admin_client, next_url=target)

    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/dashboard/"


def test_the_confirmation_page_needs_a_sign_in(client):
    response = client.get("/account/confirm")

    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"


def test_keep_me_signed_in_lasts_at_most_30_days(client, make_user):
    user = make_user("member")

    response = client.post(
        "/login", data={"email": user.email, "password": TEST_PASSWORD, "remember": "y"}
    )

    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if "remember_token=" in c]
    expires = next(
        part.split("=", 1)[1] for part in cookie.split(";") if part.strip().startswith("Expires")
    )
    lasts = parsedate_to_datetime(expires) - datetime.now(UTC)
    assert timedelta(days=29) < lasts <= timedelta(days=30)
