"""The page frame in a browser with JavaScript off: on a phone the navigation folds into a menu
that opens with a tap, on a desk it is a column beside the page and the header is one row."""

import re

import pytest

from tests.browser.conftest import TIMEOUT_MS
from tests.conftest import TEST_PASSWORD

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright").expect

pytestmark = pytest.mark.config(WTF_CSRF_ENABLED=True)

DESK = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def admin(make_user):
    # The longest header there is: an admin with a long name, and every navigation entry.
    return make_user("admin", email="admin@example.org", name="Maja-Stina Lindqvist Andersson")


def open_without_javascript(browser, live_server, viewport):
    context = browser.new_context(
        base_url=live_server, viewport=viewport, java_script_enabled=False
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context, context.new_page()


def sign_in(page, user, language="en"):
    page.goto(f"/login?lang={language}")
    page.locator("#email").fill(user.email)
    page.locator("#password").fill(TEST_PASSWORD)
    page.locator("main form [type=submit]").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))


def test_on_a_phone_the_navigation_is_a_menu_that_opens_without_javascript(
    browser, live_server, admin
):
    context, page = open_without_javascript(browser, live_server, PHONE)
    sign_in(page, admin)
    navigation = page.get_by_role("navigation", name="Main navigation")
    organisations = navigation.get_by_role("link", name="Organisations")

    expect(organisations).to_be_hidden()
    menu = page.locator("summary", has_text="Menu")
    box = menu.bounding_box()
    assert box["height"] >= 44, "the menu button is smaller than a thumb"

    menu.click()
    expect(organisations).to_be_visible()
    link_box = organisations.bounding_box()
    assert link_box["height"] >= 44
    organisations.click()

    expect(page.get_by_role("heading", level=1, name="Organisations")).to_be_visible()
    # A new page starts with the menu folded again, out of the way of the content.
    expect(navigation.get_by_role("link", name="Contacts")).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    context.close()


@pytest.mark.parametrize("language", ["en", "sv"])
def test_on_a_desk_the_navigation_is_a_column_and_the_header_one_row(
    browser, live_server, admin, language
):
    context, page = open_without_javascript(browser, live_server, DESK)
    sign_in(page, admin, language)

    expect(page.locator("summary.menu-button")).to_be_hidden()
    navigation = page.locator(".site-menu nav")
    expect(navigation.locator("a[href='/organisations/']")).to_be_visible()
    expect(navigation.locator("a[href='/admin/users']")).to_be_visible()
    # Everything in the header sits on one line: brand, search, language, notifications,
    # who is signed in, and signing out.
    header = page.get_by_role("banner")
    parts = [
        header.locator(".brand"),
        header.get_by_role("search"),
        header.locator(".languages button"),
        header.locator(".notifications-link"),
        header.locator(".whoami"),
        header.locator("form[action='/logout'] button"),
    ]
    middles = []
    for part in parts:
        expect(part).to_be_visible()
        box = part.bounding_box()
        middles.append(box["y"] + box["height"] / 2)
    assert max(middles) - min(middles) < 8, middles
    assert header.bounding_box()["height"] < 80
    assert page.evaluate("document.documentElement.scrollWidth") <= DESK["width"]
    context.close()
