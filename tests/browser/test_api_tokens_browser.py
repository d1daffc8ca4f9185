"""An API token's life in a real browser, CSRF on as in production: from the profile to the
tokens page, a new read-and-write token shown once, a program using it against the running
app, the documentation linked from the page, and the token revoked after a confirmation."""

import re

import pytest
import requests

from crm.auth.models import Role
from tests.browser.helpers import sign_in

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright").expect

pytestmark = pytest.mark.config(WTF_CSRF_ENABLED=True)

PHONE = {"width": 390, "height": 844}


def call_api(live_server, token, method="GET", path="/api/v1/organisations/", body=None):
    """(status, JSON) of a program's request with the token, as curl would send it."""
    response = requests.request(
        method,
        live_server + path,
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    return response.status_code, response.json()


def test_a_member_makes_a_token_a_program_uses_it_and_the_member_revokes_it(
    page, live_server, make_user
):
    member = make_user(Role.MEMBER, name="Maja Medlem")
    page.set_viewport_size(PHONE)
    sign_in(page, member)

    page.goto("/account/")
    page.get_by_role("link", name="API tokens").click()
    expect(page).to_have_url(re.compile(r"/account/tokens$"))
    expect(page.get_by_text("You have no API tokens.")).to_be_visible()
    page.get_by_label("Name").fill("Website sync")
    page.get_by_label("Access").select_option(label="Read and write")
    page.get_by_role("button", name="Create token").click()

    expect(page.get_by_text("Copy it now: it will not be shown again.")).to_be_visible()
    token = page.get_by_label("Your new API token").input_value()
    assert token.startswith("crm_")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    status, created = call_api(
        live_server, token, "POST", body={"kind": "company", "name": "Acme Pharma AB"}
    )
    assert status == 201, created
    status, listed = call_api(live_server, token)
    assert status == 200
    assert [item["name"] for item in listed["items"]] == ["Acme Pharma AB"]

    # The organisation is on its page, and its history names the token.
    page.goto(f"/organisations/{created['id']}")
    expect(page.get_by_role("heading", name="Acme Pharma AB")).to_be_visible()
    expect(page.get_by_text("via the API token “Website sync”").first).to_be_attached()

    # Shown once: the tokens page lists it by its start, never whole again.
    page.goto("/account/tokens")
    expect(page.get_by_role("cell", name="Website sync", exact=True)).to_be_visible()
    assert token not in page.content()
    page.get_by_role("link", name="API documentation").click()
    expect(page.get_by_role("heading", name="API documentation")).to_be_visible()
    expect(page.get_by_text("POST /api/v1/organisations/").first).to_be_visible()

    page.goto("/account/tokens")
    page.get_by_role("link", name="Revoke Website sync").click()
    page.get_by_role("button", name="Revoke the token").click()
    expect(page).to_have_url(re.compile(r"/account/tokens$"))
    status, refused = call_api(live_server, token)
    assert status == 401
    assert refused["title"] == "Authentication required"
