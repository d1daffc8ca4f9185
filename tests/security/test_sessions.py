"""Sessions end on logout and on a password change (a replayed cookie is refused); sign-in is
throttled per address and locked per account."""

from urllib.parse import urlsplit

import pytest

from config import ProductionConfig
from crm.auth.models import User
from crm.extensions import limiter
from tests.security.conftest import CSRF_ON, csrf_token, sign_in

# The page cache on, as in production: a cached page must never outlive the session it was
# rendered for.
CACHE_ON = {"PAGE_CACHE_SECONDS": 60}
pytestmark = pytest.mark.config(**CSRF_ON, **CACHE_ON)

NEW_PASSWORD = "an entirely new passphrase"


def cookies(client):
    """The cookies a thief could copy out of this browser."""
    return {name: client.get_cookie(name) for name in ("session", "remember_token")}


def replay(app, stolen, url="/dashboard/"):
    """A fresh browser with the stolen cookies; True when it gets into the staff page."""
    browser = app.test_client()
    for name, cookie in stolen.items():
        if cookie is not None:
            browser.set_cookie(name, cookie.value)
    response = browser.get(url)
    if response.status_code == 200:
        return True
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    return False


CACHED_PAGES = ["/dashboard/", "/organisations/", "/enquiries/", "/tasks/"]


def visit(client):
    """Open the pages the cache keeps, so each is cached for this session."""
    for url in CACHED_PAGES:
        assert client.get(url).status_code == 200, url
        assert client.get(url).headers.get("X-Page-Cache") == "hit", url


def remembered_sign_in(client, email):
    token = csrf_token(client, "/login")
    response = client.post(
        "/login",
        data={"email": email, "password": "gms-demo-2026!", "remember": "y", "csrf_token": token},
    )
    assert response.status_code == 302
    assert client.get_cookie("remember_token") is not None
    return csrf_token(client, "/dashboard/")


def test_a_copied_cookie_works_while_the_session_lives(app, client, demo):
    remembered_sign_in(client, demo.users["member"].email)

    assert replay(app, cookies(client))


def test_logout_ends_the_session_for_a_replayed_cookie(app, client, demo):
    token = remembered_sign_in(client, demo.users["member"].email)
    visit(client)
    stolen = cookies(client)
    assert all(replay(app, {"session": stolen["session"]}, url) for url in CACHED_PAGES)

    response = client.post("/logout", data={"csrf_token": token})

    assert response.status_code == 302
    assert not replay(app, stolen)
    assert not replay(app, {"session": stolen["session"]})
    assert not replay(app, {"remember_token": stolen["remember_token"]})
    assert not any(replay(app, {"session": stolen["session"]}, url) for url in CACHED_PAGES)


def test_logout_without_the_token_is_refused_and_signs_nobody_out(app, client, demo):
    sign_in(client, demo.users["member"].email)
    stolen = cookies(client)

    assert client.post("/logout").status_code == 400

    assert replay(app, stolen)


def test_password_change_elsewhere_ends_a_replayed_session(app, client, demo, db):
    member = demo.users["member"]
    remembered_sign_in(client, member.email)
    visit(client)
    stolen = cookies(client)
    other_device = app.test_client()
    token = sign_in(other_device, member.email)

    response = other_device.post(
        "/account/password",
        data={
            "current_password": "gms-demo-2026!",
            "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
            "csrf_token": token,
        },
    )

    assert response.status_code == 302
    assert not replay(app, stolen)
    assert not replay(app, {"remember_token": stolen["remember_token"]})
    assert not any(replay(app, {"session": stolen["session"]}, url) for url in CACHED_PAGES)
    assert replay(app, cookies(other_device))


def test_deactivating_a_user_ends_their_session(app, client, demo, db):
    viewer = demo.users["viewer"]
    sign_in(client, viewer.email)
    client.get("/organisations/")
    stolen = cookies(client)
    admin = app.test_client()
    token = sign_in(admin, demo.users["admin"].email)
    form = admin.get(f"/admin/users/{viewer.id}").get_data(as_text=True)
    assert 'name="active"' in form

    response = admin.post(
        f"/admin/users/{viewer.id}",
        data={
            "name": viewer.name,
            "email": viewer.email,
            "title": "",
            "phone": "",
            "language": viewer.language,
            "role": "viewer",
            "csrf_token": token,
        },
    )

    assert response.status_code == 302
    assert db.session.get(User, viewer.id).active is False
    assert not replay(app, stolen)
    assert not replay(app, stolen, "/organisations/")


@pytest.fixture
def fresh_limiter(app):
    limiter.reset()
    yield limiter
    limiter.reset()


def wrong_password(client, email, token):
    return client.post(
        "/login", data={"email": email, "password": "not the password", "csrf_token": token}
    )


@pytest.mark.config(**CSRF_ON, RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="5 per minute")
def test_sign_in_attempts_from_one_address_are_throttled(app, client, demo, fresh_limiter):
    token = csrf_token(client, "/login")
    for number in range(5):
        # Different accounts, so the lockout does not hide the rate limit.
        response = wrong_password(client, f"guess{number}@example.org", token)
        assert response.status_code == 200

    refused = client.post(
        "/login",
        data={
            "email": demo.users["admin"].email,
            "password": "gms-demo-2026!",
            "csrf_token": token,
        },
    )

    assert refused.status_code == 429
    assert client.get("/dashboard/").status_code == 302
    # Another address is not throttled.
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert (
        wrong_password(
            elsewhere, "someone@example.org", csrf_token(elsewhere, "/login")
        ).status_code
        == 200
    )


@pytest.mark.config(**CSRF_ON, **CACHE_ON, LOGIN_MAX_FAILURES=3)
def test_the_account_locks_after_repeated_failures_even_for_the_right_password(
    app, client, demo, db
):
    admin = demo.users["admin"]
    token = csrf_token(client, "/login")
    for _ in range(3):
        assert wrong_password(client, admin.email, token).status_code == 200

    response = client.post(
        "/login",
        data={"email": admin.email, "password": "gms-demo-2026!", "csrf_token": token},
    )

    assert response.status_code == 200
    assert client.get("/dashboard/").status_code == 302
    assert db.session.get(User, admin.id).locked_until is not None
    # Someone else's account is not affected.
    sign_in(app.test_client(), demo.users["member"].email)


@pytest.mark.config(**CSRF_ON, PASSWORD_HASH_METHOD=ProductionConfig.PASSWORD_HASH_METHOD)
def test_passwords_are_stored_as_slow_salted_hashes(app, make_user, db):
    first = make_user("member", password="the same long password")
    second = make_user("member", password="the same long password")

    assert first.password_hash.startswith("scrypt:")
    assert "the same long password" not in first.password_hash
    assert first.password_hash != second.password_hash
