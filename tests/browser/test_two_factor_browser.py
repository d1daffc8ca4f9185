"""Two-factor sign-in in a real browser, with CSRF protection and the CSP on as in production:
setting it up from the page (the key read off the page, the code computed as an
authenticator app does), then signing in with the password and a code."""

import re
import time
from datetime import timedelta

import pyotp
import pytest

from crm.auth import two_factor
from crm.core.types import utcnow
from tests.conftest import TEST_PASSWORD

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright").expect

pytestmark = pytest.mark.config(WTF_CSRF_ENABLED=True)

EMAIL = "vera.holm@example.org"
NAME = "Vera Holm"


def sign_in_with_password(page, email=EMAIL, password=TEST_PASSWORD):
    page.goto("/login?lang=en")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def watch_csp(page):
    """The Content Security Policy violations the page reports, as a list that fills up."""
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return violations


def set_up_two_factor(page):
    """From the set-up page: start, read the key, type the app's code; the key."""
    page.get_by_role("button", name="Set up two-factor sign-in").click()
    qr = page.get_by_role("img", name="QR code for adding this account to your authenticator app")
    expect(qr).to_be_visible()
    # Drawn, not blocked by the CSP: the image has a size of its own.
    assert qr.evaluate("image => image.complete && image.naturalWidth > 0")
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Code from your app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="I have saved the codes").click()
    return secret


def test_set_up_then_sign_in_with_password_and_code(page, make_user):
    make_user("member", email=EMAIL, name=NAME)
    violations = watch_csp(page)
    sign_in_with_password(page)
    expect(page).to_have_url(re.compile(r"/dashboard/$"))

    page.goto("/account/two-factor")
    expect(page.get_by_text("Two-factor sign-in is off.")).to_be_visible()
    secret = set_up_two_factor(page)
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    page.goto("/account/two-factor")
    expect(page.get_by_text("You have 10 unused recovery codes.")).to_be_visible()

    page.get_by_role("banner").get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    sign_in_with_password(page)
    expect(page).to_have_url(re.compile(r"/login/two-factor$"))
    # Halfway is not signed in.
    expect(page.get_by_role("banner")).not_to_contain_text(NAME)
    # The next time step's code: the one used to set up cannot be used again.
    page.get_by_label("Code").fill(pyotp.TOTP(secret).at(time.time() + 30))
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.get_by_role("banner")).to_contain_text(f"Signed in as {NAME}")
    assert violations == []


def test_a_wrong_code_keeps_the_person_out(page, db, make_user):
    user = make_user("member", email=EMAIL, name=NAME)
    secret = two_factor.start_enrolment(user)
    a_minute_ago = utcnow() - timedelta(minutes=1)
    totp = pyotp.TOTP(secret)
    two_factor.confirm_enrolment(user, totp.at(a_minute_ago), actor=user, at=a_minute_ago)
    db.session.commit()
    sign_in_with_password(page)
    expect(page).to_have_url(re.compile(r"/login/two-factor$"))

    near = {totp.at(time.time() + offset) for offset in range(-60, 61, 30)}
    page.get_by_label("Code").fill(next(c for c in ("000000", "111111", "222222") if c not in near))
    page.get_by_role("button", name="Sign in").click()

    expect(page.locator("#code-error")).to_contain_text(
        "The code is wrong or has already been used"
    )
    expect(page.get_by_label("Code")).to_have_attribute("aria-invalid", "true")
    page.goto("/dashboard/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fdashboard%2F$"))


@pytest.mark.config(WTF_CSRF_ENABLED=True, MFA_REQUIRED_ROLES=["admin"])
def test_an_admin_must_set_it_up_at_first_sign_in_on_a_phone_sized_screen(page, make_user):
    make_user("admin", email=EMAIL, name=NAME)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in_with_password(page)

    expect(page).to_have_url(re.compile(r"/account/two-factor$"))
    expect(page.get_by_text("Your role requires two-factor sign-in.").first).to_be_visible()
    page.goto("/organisations/")
    expect(page).to_have_url(re.compile(r"/account/two-factor$"))
    page.get_by_role("button", name="Set up two-factor sign-in").click()
    # The QR code and the key fit the screen (once the page with them has loaded).
    expect(page.locator("#totp-secret")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.goto("/account/two-factor")
    page.get_by_role("button", name="Cancel set-up").click()
    set_up_two_factor(page)

    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    page.goto("/organisations/")
    expect(page).to_have_url(re.compile(r"/organisations/$"))
