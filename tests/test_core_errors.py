"""Error pages, security headers and the language switch."""

import re
from urllib.parse import urlsplit

import pytest

from crm.core.security import public_route

ENGLISH = {"Accept-Language": "en"}


def test_unknown_url_is_a_helpful_404_page(client):
    response = client.get("/no-such-page", headers=ENGLISH)

    assert response.status_code == 404
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Page not found" in page
    assert 'href="/"' in page
    assert "Traceback" not in page
    assert "werkzeug" not in page.lower()


def test_wrong_method_is_405(client):
    response = client.get("/logout", headers=ENGLISH)

    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert "Method not allowed" in response.get_data(as_text=True)


@pytest.mark.config(MAX_CONTENT_LENGTH=1024)
def test_too_large_a_request_is_413(client, make_user):
    user = make_user("member")

    response = client.post(
        "/login",
        data={"email": user.email, "password": "x" * 2048},
        headers=ENGLISH,
    )

    assert response.status_code == 413
    assert "Too large" in response.get_data(as_text=True)
    # A request just under the limit is read as usual.
    assert client.post("/login", data={"email": user.email, "password": "x"}).status_code == 200


@pytest.mark.fresh_app
@pytest.mark.config(PROPAGATE_EXCEPTIONS=False)
def test_unexpected_error_shows_a_generic_500_page(app, client):
    @public_route
    def broken():
        raise RuntimeError("secret detail of the failure")

    app.add_url_rule("/test-broken", "test_broken", broken)

    response = client.get("/test-broken", headers=ENGLISH)

    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong" in page
    assert "secret detail" not in page
    assert "RuntimeError" not in page
    assert "Traceback" not in page
    assert response.headers["X-Frame-Options"] == "DENY"


def _csp_sources(policy):
    """Every source in the policy, without the directive names."""
    for directive in policy.split(";"):
        yield from directive.split()[1:]


@pytest.mark.parametrize(
    ("role", "url"),
    [
        (None, "/"),
        (None, "/login"),
        (None, "/no-such-page"),
        ("member", "/dashboard/"),
        ("admin", "/admin/users/new"),
    ],
)
def test_pages_carry_security_headers_and_load_nothing_from_third_parties(client, login, role, url):
    if role:
        login(role)

    response = client.get(url)

    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    policy = headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    for source in _csp_sources(policy):
        assert source in {"'self'", "'none'", "data:"}, f"CSP allows {source}"
    page = response.get_data(as_text=True)
    assert not re.search(r'(src|href)="(https?:)?//', page), "a page links a third party"


def test_language_switch_to_english(client):
    response = client.post("/language/en?next=/login")

    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Staff sign-in" in page


def test_language_switch_to_swedish(client):
    client.post("/language/en?next=/")

    client.post("/language/sv?next=/login")

    assert '<html lang="sv">' in client.get("/login", headers=ENGLISH).get_data(as_text=True)


@pytest.mark.parametrize("target", ["https://evil.example", "//evil.example", "/\\evil.example"])
def test_language_switch_never_redirects_off_site(client, target):
    response = client.post("/language/sv", query_string={"next": target})

    assert response.status_code == 302
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert not parts.scheme and not parts.netloc
    assert location.startswith("/") and location[1:2] not in ("/", "\\")
