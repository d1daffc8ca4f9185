"""Signing in and out in a real browser, with CSRF protection on as in production."""

import re

import pytest

from tests.conftest import TEST_PASSWORD

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright").expect

pytestmark = pytest.mark.config(WTF_CSRF_ENABLED=True)

EMAIL = "astrid.lindqvist@example.org"
NAME = "Astrid Lindqvist"


@pytest.fixture
def astrid(make_user):
    return make_user("member", email=EMAIL, name=NAME)


def sign_in(page, email, password):
    # English first, so the labels below hold whatever language the app defaults to.
    page.goto("/login?lang=en")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_sign_in_lands_on_the_dashboard(page, astrid):
    sign_in(page, EMAIL, TEST_PASSWORD)

    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.get_by_role("banner")).to_contain_text(f"Signed in as {NAME}")


def test_wrong_password_stays_on_the_login_page(page, astrid):
    sign_in(page, EMAIL, "not the right password")

    expect(page).to_have_url(re.compile(r"/login(\?lang=en)?$"))
    expect(page.get_by_text("Wrong e-mail or password")).to_be_visible()
    expect(page.get_by_role("banner")).not_to_contain_text(NAME)
    skip_link = page.get_by_role("link", name="Skip to main content")
    expect(skip_link).to_have_count(1)
    # The skip link is the first stop for a keyboard user.
    page.keyboard.press("Tab")
    expect(skip_link).to_be_focused()


def test_sign_out_ends_the_session(page, astrid):
    sign_in(page, EMAIL, TEST_PASSWORD)
    expect(page).to_have_url(re.compile(r"/dashboard/$"))

    page.get_by_role("banner").get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator("#password")).to_be_visible()
    page.goto("/dashboard/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fdashboard%2F$"))
