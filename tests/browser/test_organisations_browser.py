"""A member registers an organisation, adds it to an association and finds it again."""

import re

import pytest

from crm.organisations import services
from crm.organisations.models import OrganisationKind
from tests.browser.helpers import sign_in

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright").expect

pytestmark = pytest.mark.config(WTF_CSRF_ENABLED=True)

NAME = "Ångström Diagnostik AB"


@pytest.fixture
def association(db):
    medtech = services.create_organisation(
        {"kind": OrganisationKind.INDUSTRY_ASSOCIATION, "name": "Swedish Medtech"}, actor=None
    )
    db.session.commit()
    return medtech


@pytest.fixture
def member(make_user):
    return make_user("member", email="maja.member@example.org", name="Maja Member")


def test_create_join_an_association_and_find_it(page, member, association):
    sign_in(page, member)

    # Create the organisation through the form.
    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="Organisations"
    ).click()
    page.get_by_role("link", name="New organisation").click()
    page.get_by_label("Kind").select_option("company")
    page.get_by_label("Name", exact=True).fill(NAME)
    page.get_by_label("Organisation number").fill("5560360793")
    page.get_by_label("Website").fill("Angstrom-Diagnostik.SE")
    page.get_by_label("City").fill("Uppsala")
    page.get_by_label("Diagnostics/lab").check()
    page.get_by_role("button", name="Save").click()

    expect(page).to_have_url(re.compile(r"/organisations/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(NAME)
    expect(page.get_by_text("556036-0793", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="https://angstrom-diagnostik.se")).to_be_visible()

    # Add it to the association on its page.
    page.get_by_label("Association").select_option(label="Swedish Medtech")
    page.get_by_label("Member since").fill("2021-04-01")
    page.get_by_role("button", name="Add membership").click()
    expect(page.get_by_text(f"{NAME} is now a member of Swedish Medtech")).to_be_visible()

    # Find it with the list's search box, typed without accents.
    page.get_by_role("link", name="All organisations").click()
    page.get_by_role("searchbox", name="Search", exact=True).fill("angstrom DIAGNOSTIK")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"q=angstrom\+DIAGNOSTIK"))
    expect(page.get_by_text("1 organisation", exact=True)).to_be_visible()
    page.get_by_role("table").get_by_role("link", name=NAME, exact=True).click()

    # The association lists it among its members.
    page.get_by_role("link", name="Swedish Medtech", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Swedish Medtech")
    members = page.locator("ul[aria-labelledby=members-heading]")
    expect(members.get_by_role("link", name=NAME, exact=True)).to_be_visible()
