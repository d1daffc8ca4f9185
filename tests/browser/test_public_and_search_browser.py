"""The public page in both languages, switched with the visible link; a member searches from
the header's box and lands on the record found."""

import re
from datetime import date, timedelta

import pytest

from crm.activities.models import ActivityKind
from crm.organisations.models import OrganisationKind
from crm.settings import services as settings
from tests.conftest import TEST_PASSWORD

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright").expect

pytestmark = pytest.mark.config(WTF_CSRF_ENABLED=True)


@pytest.fixture
def public_content(make_activity):
    settings.put("office_name", "Samverkanskontoret")
    settings.put("intro_sv", "Välkommen till samverkanskontoret.")
    settings.put("intro_en", "Welcome to the collaboration office.")
    make_activity(
        "Seminarium om AI i vården",
        kind=ActivityKind.SEMINAR,
        start_date=date.today() + timedelta(days=14),
        is_public=True,
        public_summary="Ett öppet seminarium.",
        description="Intern planering.",
    )


def test_the_public_page_in_both_languages(page, public_content):
    page.goto("/?lang=sv")
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    expect(page.get_by_role("heading", level=1)).to_have_text("Samverkanskontoret")
    expect(page.get_by_text("Välkommen till samverkanskontoret.")).to_be_visible()
    expect(page.get_by_text("Seminarium om AI i vården")).to_be_visible()
    expect(page.get_by_text("Intern planering.")).to_have_count(0)

    page.get_by_role("button", name="English").click()

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_text("Welcome to the collaboration office.")).to_be_visible()
    expect(page.get_by_role("heading", name="Contact people")).to_be_visible()
    enquiry_link = page.get_by_role("link", name="Contact us – send an enquiry")
    expect(enquiry_link).to_have_attribute("href", "/contact?lang=en")

    page.get_by_role("button", name="Svenska").click()
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    expect(page.get_by_text("Välkommen till samverkanskontoret.")).to_be_visible()


def test_a_member_searches_from_the_header(page, make_user, make_organisation):
    organisation = make_organisation(
        "Läkemedelsindustriföreningen", kind=OrganisationKind.INDUSTRY_ASSOCIATION
    )
    make_organisation("Roche AB")
    member = make_user("member", email="maja.member@example.org", name="Maja Member")

    page.goto("/login?lang=en")
    page.get_by_label("E-mail").fill(member.email)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))

    header_search = page.get_by_role("search").get_by_label(
        "Search organisations, contacts, agreements, activities and enquiries"
    )
    header_search.fill("LAKEM")
    header_search.press("Enter")

    expect(page).to_have_url(re.compile(r"/search/\?q=LAKEM$"))
    expect(page.get_by_role("heading", name="Organisations (1)")).to_be_visible()
    expect(page.get_by_text("Roche AB")).to_have_count(0)
    page.get_by_role("link", name="Läkemedelsindustriföreningen").click()

    expect(page).to_have_url(re.compile(rf"/organisations/{organisation.id}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Läkemedelsindustriföreningen")
