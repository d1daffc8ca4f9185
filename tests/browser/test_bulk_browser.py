"""Bulk assign on the enquiry list and a saved view, in a real browser, on a desk and on a
phone: ticking rows (by hand and with "select all"), the confirmation page saying how many,
and a view saved as the default that opens the list."""

import re

import pytest
import sqlalchemy as sa

from crm.core.models import AuditEntry
from crm.enquiries.models import Enquiry, EnquiryStatus
from tests.browser.helpers import sign_in

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright").expect

pytestmark = pytest.mark.config(WTF_CSRF_ENABLED=True)

SIZES = {"desk": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


def fits_the_width(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("size", SIZES)
def test_a_coordinator_assigns_two_enquiries_at_once(db, page, make_user, make_enquiry, size):
    page.set_viewport_size(SIZES[size])
    coordinator = make_user("coordinator", name="Cecilia Coordinator")
    member = make_user("member", name="Maja Member")
    first, second, third = make_enquiry(), make_enquiry(), make_enquiry()
    sign_in(page, coordinator)

    page.goto("/enquiries/")
    assert fits_the_width(page)
    # "Select all" (our script) ticks every row; unticking one leaves the other two.
    page.get_by_label("Select all rows on this page").check()
    for enquiry in (first, second, third):
        expect(page.get_by_label(f"Select {enquiry.reference}")).to_be_checked()
    page.get_by_label(f"Select {third.reference}").uncheck()
    page.get_by_label("Action").select_option("assign")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("status")).to_have_text("You have chosen 2 enquiries.")
    assert fits_the_width(page)
    page.get_by_label("Assign to").select_option(str(member.id))
    page.get_by_role("button", name="Assign 2 enquiries").click()

    expect(page.get_by_text("2 enquiries changed.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/enquiries/"))
    db.session.expire_all()
    for enquiry in (first, second):
        enquiry = db.session.get(Enquiry, enquiry.id)
        assert enquiry.assignee_id == member.id
        assert enquiry.status == EnquiryStatus.ASSIGNED
        entries = db.session.scalars(
            sa.select(AuditEntry).where(
                AuditEntry.entity_type == "enquiries",
                AuditEntry.entity_id == enquiry.id,
                AuditEntry.action == "assign",
            )
        ).all()
        assert len(entries) == 1
    assert db.session.get(Enquiry, third.id).assignee_id is None


@pytest.mark.parametrize("size", SIZES)
def test_a_saved_view_becomes_the_default(db, page, make_user, make_organisation, size):
    page.set_viewport_size(SIZES[size])
    make_organisation("Uppsala universitet", kind="university")
    make_organisation("Kvarnbo AB")
    sign_in(page, make_user("member"))

    page.goto("/organisations/")
    page.get_by_label("Kind").select_option("university")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"kind=university"))

    page.get_by_text("Save these filters as a view").click()
    page.get_by_label("Name of the view").fill("Universities")
    page.get_by_label("Open the list with this view").check()
    page.get_by_role("button", name="Save the view").click()

    expect(page.get_by_text("View Universities saved.")).to_be_visible()
    current = page.get_by_role("link", name="Universities", exact=True)
    expect(current).to_have_attribute("aria-current", "page")
    assert fits_the_width(page)

    # Opening the list without a query applies the default view.
    page.goto("/organisations/")
    expect(page).to_have_url(re.compile(r"/organisations/\?kind=university$"))
    expect(page.get_by_role("table")).to_contain_text("Uppsala universitet")
    expect(page.get_by_role("table")).not_to_contain_text("Kvarnbo AB")

    page.get_by_role("link", name="Show the list without a view").click()
    expect(page.get_by_role("table")).to_contain_text("Kvarnbo AB")
