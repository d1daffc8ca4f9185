"""Security headers on every page, signed in and out, and the session cookie's flags."""

import pytest

from config import ProductionConfig
from crm import create_app
from crm.core.security import CSP
from tests.conftest import IsolatedClient
from tests.security.conftest import CSRF_ON, sign_in, staff_rules

pytestmark = pytest.mark.config(**CSRF_ON)

ALWAYS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


# The same for everyone and named by their content (the accent colour, an image's digest):
# kept for long by every cache, signed in or not. Their views decide what may be public.
# The public activities feed and the API's description hold nothing personal and are read
# without the session: the same for everyone too.
SHARED_ASSETS = ("/theme/", "/images/", "/api/public/", "/api/v1/openapi.json")
# Pages with a secret in their address send no Referer at all, not even to this site.
SECRET_IN_ADDRESS = ("/password/set/",)


def assert_security_headers(response, url, *, signed_in):
    for name, value in ALWAYS.items():
        if name == "Content-Security-Policy" and response.mimetype != "text/html":
            continue
        if name == "Referrer-Policy" and url.startswith(SECRET_IN_ADDRESS):
            value = "no-referrer"
        assert response.headers.get(name) == value, f"{url}: {name}"
    if response.mimetype != "text/html":
        # Files and feeds: the page's policy, or stricter (a sandbox for uploaded files).
        assert response.headers.get("Content-Security-Policy") in (CSP, "sandbox"), url
        if response.headers["Content-Security-Policy"] == "sandbox":
            assert response.headers["Content-Disposition"].startswith("attachment"), url
    assert "camera=()" in response.headers.get("Permissions-Policy", ""), url
    if signed_in and url.startswith(SHARED_ASSETS):
        assert response.headers["Cache-Control"].startswith("public, max-age="), url
    elif signed_in:
        assert "no-store" in response.headers.get("Cache-Control", ""), url


def test_csp_allows_nothing_from_elsewhere_and_no_inline_code():
    directives = dict(part.strip().split(" ", 1) for part in CSP.split(";"))

    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert "unsafe-inline" not in CSP and "unsafe-eval" not in CSP
    assert "http:" not in CSP and "https:" not in CSP


@pytest.mark.parametrize("who", ["admin", "anonymous"])
def test_every_get_route_carries_the_security_headers(app, client, demo, who):
    if who == "admin":
        sign_in(client, demo.users["admin"].email)
    checked = 0
    for rule in staff_rules(app):
        url = demo.url_for_endpoint(rule)
        assert url is not None, f"no demo value for {rule.rule}: add one to the demo fixture"
        response = client.get(url)
        assert response.status_code < 500, url
        assert_security_headers(response, url, signed_in=who == "admin")
        checked += 1
    assert checked > 50


def test_error_pages_carry_the_security_headers(app, client, demo):
    sign_in(client, demo.users["admin"].email)

    missing = client.get("/organisations/999999")
    not_allowed = client.put("/organisations/")
    no_token = client.post("/organisations/new", data={"name": "No token"})

    assert (missing.status_code, not_allowed.status_code, no_token.status_code) == (404, 405, 400)
    for response in (missing, not_allowed, no_token):
        assert_security_headers(response, response.request.path, signed_in=True)


def test_static_files_are_not_sniffed(client):
    response = client.get("/static/css/app.css")

    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def _cookie(response, name):
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"{name}=")]
    return {flag.strip().lower() for flag in cookie.split(";")[1:]}


def test_session_cookie_is_http_only_and_lax(client, demo):
    response = client.get("/login")

    flags = _cookie(response, "session")
    assert "httponly" in flags
    assert "samesite=lax" in flags


@pytest.fixture
def production_app(app, _schema, tmp_path):
    """The production settings on the test database (SECRET_KEY as an operator would set)."""
    config = type(
        "ProductionOnTestDatabase",
        (ProductionConfig,),
        {
            "SQLALCHEMY_DATABASE_URI": _schema,
            "SECRET_KEY": "p" * 64,
            "PUBLIC_URL": "https://localhost",
            "RATELIMIT_ENABLED": False,
            "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        },
    )
    production = create_app(config)
    production.test_client_class = IsolatedClient
    yield production
    with production.app_context():
        from crm.extensions import db

        db.engine.dispose()


def test_production_cookies_are_secure_http_only_and_lax(production_app, demo):
    client = production_app.test_client()
    token_page = client.get("/login", base_url="https://localhost")
    assert token_page.status_code == 200
    assert _cookie(token_page, "__Host-session") >= {"secure", "httponly", "samesite=lax", "path=/"}
    token = token_page.get_data(as_text=True).split('name="csrf_token"')[1].split('value="')[1]
    token = token.split('"')[0]

    response = client.post(
        "/login",
        base_url="https://localhost",
        # Over HTTPS, Flask-WTF also wants the request to come from this site.
        headers={"Referer": "https://localhost/login"},
        data={
            "email": demo.users["member"].email,
            "password": "gms-demo-2026!",
            "remember": "y",
            "csrf_token": token,
        },
    )

    assert response.status_code == 302
    session_flags = _cookie(response, "__Host-session")
    assert {"secure", "httponly", "samesite=lax", "path=/"} <= session_flags
    assert not any(flag.startswith("domain=") for flag in session_flags)
    remember_flags = _cookie(response, "remember_token")
    assert {"secure", "httponly", "samesite=lax"} <= remember_flags
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.config(**CSRF_ON, PAGE_CACHE_SECONDS=60)
def test_pages_served_from_the_page_cache_carry_the_headers_too(client, demo):
    sign_in(client, demo.users["member"].email)

    for url in (
        "/dashboard/",
        "/organisations/",
        f"/organisations/{demo.values['organisation_id']}",
    ):
        client.get(url)
        cached = client.get(url)

        assert cached.headers.get("X-Page-Cache") == "hit", url
        assert_security_headers(cached, url, signed_in=True)
