"""The demo as a person tries it on a phone: a demo login, the framework agreement's two sides,
the partner label on the organisations list, and the MoU pilot on the public page, all at
390 px wide without sideways scrolling."""

import re

import pytest
import sqlalchemy as sa

from crm import demo_data
from crm.agreements.models import Agreement

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright").expect

pytestmark = pytest.mark.config(WTF_CSRF_ENABLED=True)

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def demo(db):
    demo_data.load()
    db.session.commit()


def no_sideways_scrolling(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide"


def test_a_viewer_reads_the_two_sides_of_the_framework_agreement_on_a_phone(page, db, demo):
    page.set_viewport_size(PHONE)
    framework_id = db.session.scalar(
        sa.select(Agreement.id).where(Agreement.title == demo_data.FRAMEWORK)
    )

    page.goto("/login?lang=en")
    page.get_by_label("E-mail").fill(demo_data.VIEWER)
    page.get_by_label("Password", exact=True).fill(demo_data.DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))

    page.goto(f"/agreements/{framework_id}")
    ours = page.get_by_role("list", name="Our side – GMS partners")
    other = page.get_by_role("list", name="Other side")
    expect(ours.get_by_role("link", name="Karolinska Institutet")).to_be_visible()
    expect(ours.get_by_role("link", name="Region Skåne")).to_be_visible()
    expect(other.get_by_role("link", name="SwedenBIO")).to_be_visible()
    expect(other.get_by_role("link", name="Region Skåne")).to_have_count(0)
    no_sideways_scrolling(page)

    page.goto("/organisations/")
    page.get_by_label("GMS partner (region or university)").select_option("yes")
    page.get_by_role("button", name="Filter", exact=True).click()
    expect(page.get_by_role("link", name="Uppsala universitet")).to_be_visible()
    expect(page.get_by_role("link", name="Roche", exact=True)).to_have_count(0)
    no_sideways_scrolling(page)

    page.goto("/agreements/")
    expect(page.get_by_role("row", name=re.compile("Framework agreement"))).to_contain_text(
        "with 14 GMS partners"
    )
    no_sideways_scrolling(page)


def test_the_public_page_shows_the_microsoft_pilot_as_current_on_a_phone(page, demo):
    page.set_viewport_size(PHONE)

    page.goto("/?lang=sv")

    expect(page.get_by_role("heading", name=demo_data.MICROSOFT_PILOT)).to_be_visible()
    no_sideways_scrolling(page)
