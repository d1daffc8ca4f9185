"""A forgotten password in a real browser at phone width, CSRF on as in production: the link on
the sign-in page, the request, the link from the e-mail, the new password, signing in."""

import re

import pytest

from tests.test_auth_invitations import NEW_PASSWORD, messages_to, newest_link, path_of

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright").expect

pytestmark = pytest.mark.config(WTF_CSRF_ENABLED=True)

EMAIL = "astrid.lindqvist@example.org"
PHONE = {"width": 390, "height": 844}


def fits_the_width(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_forgotten_password_is_replaced_through_the_emailed_link(page, db, make_user):
    user = make_user("member", email=EMAIL, name="Astrid Lindqvist")
    user.language = "en"
    db.session.commit()
    page.set_viewport_size(PHONE)

    page.goto("/login?lang=en")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page).to_have_url(re.compile(r"/password/forgot$"))
    assert fits_the_width(page)
    page.get_by_label("E-mail").fill(EMAIL)
    page.get_by_role("button", name="Send me a link").click()

    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("status")).to_contain_text("is on its way")
    assert len(messages_to(db, EMAIL, "password_reset")) == 1

    page.goto(path_of(newest_link(db, EMAIL, kind="password_reset")))
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    assert fits_the_width(page)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password").click()

    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("status")).to_contain_text("Your password has been set")
    page.get_by_label("E-mail").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
