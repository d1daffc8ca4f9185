"""Signing in and out: passwords, lockout, `next` redirects, sessions, CSRF and throttling."""

import re
from urllib.parse import urlsplit

import pytest

from crm.core.security import is_safe_next
from crm.extensions import limiter
from tests.conftest import TEST_PASSWORD

NEW_PASSWORD = "a brand new long passphrase"


def use_english(client):
    client.post("/language/en?next=/")


def sign_in(client, email, password=TEST_PASSWORD, url="/login"):
    return client.post(url, data={"email": email, "password": password})


def is_signed_in(client):
    """What a person sees when opening the overview: the page, or the sign-in form."""
    response = client.get("/dashboard/")
    if response.status_code == 200:
        return True
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    return False


def assert_local_path(location):
    """A Location a browser resolves on this site only, never on another host."""
    parts = urlsplit(location)
    assert not parts.scheme and not parts.netloc, location
    assert location.startswith("/"), location
    # `//host`, `/\host` and `///host` all mean another host to a browser.
    assert location[1:2] not in ("/", "\\"), location


def test_right_password_signs_in_and_shows_the_name(client, make_user):
    user = make_user("member", name="Astrid Lindqvist")

    response = sign_in(client, user.email)

    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/dashboard/"
    page = client.get("/dashboard/")
    assert page.status_code == 200
    assert "Astrid Lindqvist" in page.get_data(as_text=True)


def test_email_is_matched_regardless_of_case_and_spaces(client, make_user):
    user = make_user("viewer", email="greta@example.org")

    response = sign_in(client, "  Greta@Example.ORG ")

    assert response.status_code == 302
    assert is_signed_in(client)
    assert user.email == "greta@example.org"


@pytest.mark.parametrize("case", ["wrong password", "unknown e-mail", "inactive user"])
def test_bad_credentials_do_not_sign_in(client, make_user, case):
    user = make_user("admin", email="known@example.org", active=case != "inactive user")
    email, password = {
        "wrong password": (user.email, "not the right password"),
        "unknown e-mail": ("nobody@example.org", TEST_PASSWORD),
        "inactive user": (user.email, TEST_PASSWORD),
    }[case]
    use_english(client)

    response = sign_in(client, email, password)

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'name="password"' in page
    assert "Wrong e-mail or password" in page
    assert not is_signed_in(client)


def test_account_locks_after_too_many_wrong_passwords(app, client, make_user):
    user = make_user("coordinator")
    attempts = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(attempts):
        assert sign_in(client, user.email, "guessing again and again").status_code == 200

    response = sign_in(client, user.email, TEST_PASSWORD)

    assert response.status_code == 200
    assert not is_signed_in(client)


def test_one_wrong_password_fewer_than_the_limit_does_not_lock(app, client, make_user):
    user = make_user("coordinator")
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        sign_in(client, user.email, "guessing again and again")

    assert sign_in(client, user.email, TEST_PASSWORD).status_code == 302
    assert is_signed_in(client)


def test_safe_next_is_followed(client, make_user):
    user = make_user("admin")

    response = sign_in(client, user.email, url="/login?next=/admin/users")

    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users"


def test_next_from_the_login_redirect_brings_the_user_back(client, make_user):
    user = make_user("admin")
    to_login = client.get("/admin/users")
    assert urlsplit(to_login.headers["Location"]).path == "/login"

    response = sign_in(client, user.email, url=to_login.headers["Location"])

    assert response.headers["Location"] == "/admin/users"


@pytest.mark.parametrize(
    ("language", "message"),
    [("en", "Please sign in to see this page."), ("sv", "Logga in för att se den här sidan.")],
)
def test_anonymous_visitor_is_told_to_sign_in_in_their_language(client, language, message):
    response = client.get(
        "/dashboard/", headers={"Accept-Language": language}, follow_redirects=True
    )

    assert urlsplit(response.request.url).path == "/login"
    assert message in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "http:/evil.example",
        "javascript:alert(1)",
        " //evil.example",
        "/\t/evil.example",
    ],
)
def test_unsafe_next_never_leaves_the_site(client, make_user, target):
    user = make_user("member")

    response = client.post(
        "/login",
        query_string={"next": target},
        data={"email": user.email, "password": TEST_PASSWORD},
    )

    assert response.status_code == 302
    assert_local_path(response.headers["Location"])
    assert "javascript" not in response.headers["Location"]
    # The check itself, not only Werkzeug's tidying of the Location header, refuses it.
    assert not is_safe_next(target)


def test_unsafe_next_is_ignored_when_already_signed_in(client, auth):
    auth.login("member")

    response = client.get("/login", query_string={"next": "//evil.example"})

    assert response.status_code == 302
    assert_local_path(response.headers["Location"])


def test_logout_is_post_only_and_ends_the_session(client, auth):
    auth.login("member")

    assert client.get("/logout").status_code == 405
    assert is_signed_in(client)

    response = auth.logout()

    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    assert not is_signed_in(client)


def test_logout_ends_the_users_other_sessions(app, client, auth):
    user = auth.login("coordinator")
    laptop = app.test_client()
    assert sign_in(laptop, user.email).status_code == 302
    assert is_signed_in(laptop)

    auth.logout()

    assert not is_signed_in(laptop)
    assert not is_signed_in(client)


def test_logout_leaves_other_users_signed_in(app, client, auth, make_user):
    auth.login("coordinator")
    colleague = app.test_client()
    assert sign_in(colleague, make_user("member").email).status_code == 302

    auth.logout()

    assert is_signed_in(colleague)


def change_password(client, current, new, confirm=None):
    return client.post(
        "/account/password",
        data={
            "current_password": current,
            "new_password": new,
            "confirm": new if confirm is None else confirm,
        },
    )


def test_password_change_refuses_a_wrong_current_password(client, auth):
    user = auth.login("member")
    use_english(client)

    response = change_password(client, "this is not my password", NEW_PASSWORD)

    assert response.status_code == 200
    assert "The password is wrong" in response.get_data(as_text=True)
    assert sign_in(client.application.test_client(), user.email, NEW_PASSWORD).status_code == 200
    assert sign_in(client.application.test_client(), user.email).status_code == 302


def test_password_change_refuses_a_short_password(client, auth):
    user = auth.login("member")
    use_english(client)

    response = change_password(client, TEST_PASSWORD, "short-pw-11")

    assert response.status_code == 200
    assert "at least 12 characters" in response.get_data(as_text=True)
    assert sign_in(client.application.test_client(), user.email, "short-pw-11").status_code == 200
    assert sign_in(client.application.test_client(), user.email).status_code == 302


def test_password_change_refuses_a_mismatched_repeat(client, auth):
    user = auth.login("member")

    response = change_password(client, TEST_PASSWORD, NEW_PASSWORD, confirm=NEW_PASSWORD + "x")

    assert response.status_code == 200
    assert sign_in(client.application.test_client(), user.email).status_code == 302


def test_password_change_keeps_this_session_and_ends_the_others(app, client, auth):
    user = auth.login("member")
    phone = app.test_client()
    assert sign_in(phone, user.email).status_code == 302

    response = change_password(client, TEST_PASSWORD, NEW_PASSWORD)

    assert response.status_code == 302
    assert is_signed_in(client)
    assert not is_signed_in(phone)
    assert sign_in(app.test_client(), user.email, TEST_PASSWORD).status_code == 200
    assert sign_in(app.test_client(), user.email, NEW_PASSWORD).status_code == 302


def test_session_cookie_is_http_only_and_same_site(client, make_user):
    response = sign_in(client, make_user("member").email)

    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, "signing in sets the session cookie"
    flags = [flag.strip().lower() for flag in cookies[0].split(";")]
    assert "httponly" in flags
    assert any(flag.startswith("samesite=") and flag != "samesite=none" for flag in flags)


@pytest.mark.config(WTF_CSRF_ENABLED=True)
def test_login_without_csrf_token_is_rejected(client, make_user):
    user = make_user("admin")

    response = sign_in(client, user.email)

    assert response.status_code == 400
    assert not is_signed_in(client)

    # The same form with the token from the page goes through, so the token was what mattered.
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post(
        "/login", data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    assert is_signed_in(client)


@pytest.fixture
def fresh_limiter(app):
    limiter.reset()
    yield limiter
    limiter.reset()


@pytest.mark.config(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
def test_login_is_throttled(client, make_user, fresh_limiter):
    user = make_user("member")
    for _ in range(3):
        assert sign_in(client, "nobody@example.org", "some wrong password").status_code == 200

    response = sign_in(client, user.email)

    assert response.status_code == 429
    assert not is_signed_in(client)
    # Looking at the form is not throttled, only sending it.
    assert client.get("/login").status_code == 200
