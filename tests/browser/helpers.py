"""What many browser tests do the same way."""

import re

from tests.conftest import TEST_PASSWORD


def sign_in(page, user):
    """Sign `user` in through the English sign-in form and land on the dashboard."""
    from playwright.sync_api import expect

    page.goto("/login?lang=en")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
