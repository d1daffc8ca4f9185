"""Single sign-on in a real browser, through the real provider's pages: the button on /login,
the provider's authorisation page, and back to the CRM signed in."""

import re

import pytest

from tests.oidc_provider import ASTRID

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright").expect

pytestmark = pytest.mark.config(WTF_CSRF_ENABLED=True)

LABEL = "Sign in with Region Skåne"
NAME = "Astrid Lindqvist"


@pytest.fixture
def sso(app, live_server, oidc_provider):
    # The provider sends the browser back to PUBLIC_URL, here the live server's address.
    app.config["PUBLIC_URL"] = live_server
    app.config["OIDC_PROVIDERS"] = [oidc_provider.settings(label=LABEL)]
    return oidc_provider


@pytest.fixture
def provider_page(page):
    # The provider's page loads a style sheet from a CDN; the tests need no network.
    page.route(re.compile(r"^https://cdn\.jsdelivr\.net/"), lambda route: route.abort())
    return page


def test_sign_in_through_the_provider_lands_on_the_dashboard(provider_page, sso, make_user):
    page = provider_page
    make_user("member", email=ASTRID["email"].lower(), name=NAME)

    page.goto("/login?lang=en")
    page.get_by_role("link", name=LABEL).click()

    expect(page).to_have_url(re.compile(rf"^{re.escape(sso.url)}/oauth2/authorize\?"))
    page.locator('input[name="sub"]').fill(ASTRID["sub"])
    page.get_by_role("button", name="Authorize", exact=True).click()

    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.get_by_role("banner")).to_contain_text(f"Signed in as {NAME}")


def test_an_unknown_person_is_told_to_ask_an_administrator(provider_page, sso):
    page = provider_page

    page.goto("/login?lang=en")
    page.get_by_role("link", name=LABEL).click()
    page.locator('input[name="sub"]').fill(ASTRID["sub"])
    page.get_by_role("button", name="Authorize", exact=True).click()

    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_text("No user of this CRM has the e-mail address")).to_be_visible()
    expect(page.locator("#password")).to_be_visible()
