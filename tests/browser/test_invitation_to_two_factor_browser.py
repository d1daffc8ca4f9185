"""A new colleague's first day in a real browser, CSRF on as in production: the admin invites
them from the users page, they choose a password through the e-mailed link, their role
requires two-factor sign-in so they set it up, and from then on they sign in with the
password and a code."""

import re
import time

import pyotp
import pytest

from tests.browser.test_two_factor_browser import set_up_two_factor, sign_in_with_password
from tests.conftest import TEST_PASSWORD
from tests.test_auth_invitations import NEW_PASSWORD, newest_link, path_of

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright").expect

ADMIN = "ada.admin@example.org"
NEWCOMER = "nils.holgersson@example.org"


def sign_out(page):
    page.get_by_role("banner").get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))


@pytest.mark.config(WTF_CSRF_ENABLED=True, MFA_REQUIRED_ROLES=["coordinator"])
def test_invitation_then_password_then_two_factor_sign_in(page, db, make_user):
    make_user("admin", email=ADMIN, name="Ada Admin")

    # The admin invites the newcomer; no password is typed for them.
    sign_in_with_password(page, ADMIN, TEST_PASSWORD)
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Users").click()
    page.get_by_role("link", name="New user").click()
    page.get_by_label("Name").fill("Nils Holgersson")
    page.get_by_label("E-mail").fill(NEWCOMER)
    page.get_by_role("combobox", name="Role").select_option(label="Coordinator")
    page.get_by_role("combobox", name="Language").select_option(label="English")
    page.get_by_role("button", name="Create user and send invitation").click()
    expect(page.get_by_role("heading", name="Nils Holgersson")).to_be_visible()
    expect(page.get_by_text("Invitation pending").first).to_be_visible()
    sign_out(page)

    # The newcomer opens the link in the e-mail and chooses a password.
    page.goto(path_of(newest_link(db, NEWCOMER)))
    expect(page.get_by_role("heading", name="Welcome, set your password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password").click()
    expect(page).to_have_url(re.compile(r"/login$"))

    # A coordinator must use two-factor sign-in: the first sign-in leads to setting it up.
    sign_in_with_password(page, NEWCOMER, NEW_PASSWORD)
    expect(page).to_have_url(re.compile(r"/account/two-factor$"))
    secret = set_up_two_factor(page)
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    sign_out(page)

    # From now on: the password, then the code.
    sign_in_with_password(page, NEWCOMER, NEW_PASSWORD)
    expect(page).to_have_url(re.compile(r"/login/two-factor$"))
    page.get_by_label("Code").fill(pyotp.TOTP(secret).at(time.time() + 30))
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.get_by_role("banner")).to_contain_text("Nils Holgersson")
