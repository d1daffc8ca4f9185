"""A member quick-logs an activity with two organisations and finds it on both their pages."""

import re

import pytest

from crm.organisations import services
from crm.organisations.models import OrganisationKind
from tests.browser.helpers import sign_in

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright").expect

pytestmark = pytest.mark.config(WTF_CSRF_ENABLED=True)

FIRST = "Uppsala Biobank AB"
SECOND = "Karolinska Lab"
TITLE = "Coffee about a joint workshop"


@pytest.fixture
def organisations(db):
    created = [
        services.create_organisation({"kind": OrganisationKind.COMPANY, "name": name}, actor=None)
        for name in (FIRST, SECOND)
    ]
    db.session.commit()
    return created


@pytest.fixture
def member(make_user):
    return make_user("member", email="maja.member@example.org", name="Maja Member")


def test_quick_log_with_two_organisations(page, member, organisations):
    sign_in(page, member)
    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="Activities"
    ).click()
    page.get_by_role("link", name="Log an activity").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Log an activity")

    page.get_by_label("Kind", exact=True).select_option("dialogue_meeting")
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Organisation", exact=True).fill(FIRST)
    page.get_by_role("button", name="Add another organisation").click()
    page.get_by_role("group", name="Organisation 2").get_by_label("Organisation", exact=True).fill(
        SECOND
    )
    page.get_by_label("Outcome").fill("They want a workshop in spring.")
    page.get_by_role("button", name="Save").click()

    expect(page).to_have_url(re.compile(r"/activities/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.get_by_text("Maja Member", exact=True).first).to_be_visible()

    for name in (FIRST, SECOND):
        page.get_by_role("link", name=name, exact=True).first.click()
        expect(page.get_by_role("heading", level=1)).to_have_text(name)
        timeline = page.locator("section[aria-labelledby=timeline-heading]")
        expect(timeline.get_by_role("link", name=TITLE)).to_be_visible()
        page.go_back()
        expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
