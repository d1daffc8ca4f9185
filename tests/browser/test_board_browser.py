"""The boards in a browser, at 1366 × 900 and 390 × 844: a card dragged to another column on a
desk (board.js), moved with its own control on a phone, and the same moves with JavaScript
off."""

import re
from datetime import date

import pytest
import sqlalchemy as sa

from crm.agreements.models import AgreementStatus
from crm.core.models import AuditEntry
from crm.enquiries.models import ClosedReason, EnquiryStatus
from tests.browser.helpers import sign_in

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright").expect

pytestmark = pytest.mark.config(WTF_CSRF_ENABLED=True)

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def member(make_user):
    return make_user("member", email="maja@example.org", name="Maja Member")


def column(page, name):
    return page.get_by_role("region", name=re.compile(r"by (status|stage)$")).locator(
        "section.board-column", has=page.get_by_role("heading", level=2, name=re.compile(name))
    )


def no_sideways_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def status_changes(db, entity_type, record_id):
    return db.session.scalars(
        sa.select(AuditEntry).where(
            AuditEntry.entity_type == entity_type, AuditEntry.entity_id == record_id
        )
    ).all()


def test_drag_an_enquiry_card_to_another_column(page, db, make_enquiry, member):
    enquiry = make_enquiry(name="Karin Lund", assignee_id=member.id, status=EnquiryStatus.ASSIGNED)
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.set_viewport_size(DESKTOP)
    sign_in(page, member)

    page.goto("/enquiries/")
    page.get_by_role("link", name="Board view").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My enquiry board")
    card = page.locator(f"#enquiry-{enquiry.id}")
    expect(column(page, "^Assigned").locator(f"#enquiry-{enquiry.id}")).to_be_visible()
    # With JavaScript the reason for closing waits until "Closed" is chosen.
    expect(card.get_by_label("Reason for closing")).to_be_hidden()

    card.locator(".board-card-facts").drag_to(column(page, "^In progress"))

    expect(page).to_have_url(re.compile(rf"/enquiries/board#enquiry-{enquiry.id}$"))
    expect(page.get_by_text(f"{enquiry.reference} moved to In progress.")).to_be_visible()
    expect(column(page, "^In progress").locator(f"#enquiry-{enquiry.id}")).to_be_visible()
    db.session.refresh(enquiry)
    assert enquiry.status == EnquiryStatus.IN_PROGRESS

    # Dropped on "Closed", the card asks for the reason first and moves nothing yet.
    page.locator(f"#enquiry-{enquiry.id} .board-card-facts").drag_to(column(page, "^Closed"))
    card = page.locator(f"#enquiry-{enquiry.id}")
    reason = card.get_by_label("Reason for closing")
    expect(reason).to_be_visible()
    expect(reason).to_be_focused()
    expect(page.get_by_role("status").filter(has_text="Choose why")).to_be_visible()
    db.session.refresh(enquiry)
    assert enquiry.status == EnquiryStatus.IN_PROGRESS
    reason.select_option("answered")
    card.get_by_role("button", name=re.compile("^Move")).click()

    expect(column(page, "^Closed").locator(f"#enquiry-{enquiry.id}")).to_be_visible()
    db.session.refresh(enquiry)
    assert enquiry.status == EnquiryStatus.CLOSED
    assert enquiry.closed_reason == ClosedReason.ANSWERED
    assert [entry.action for entry in status_changes(db, "enquiries", enquiry.id)][-2:] == [
        "status",
        "status",
    ]
    # No script was refused by the content security policy, nothing else failed.
    assert errors == []


def move(page, card, target, viewport):
    """Move a card as a person would at this size: dragged on a desk, with the card's own
    "Move to" control on a phone, where a finger scrolls the board instead of dragging."""
    if viewport == DESKTOP:
        card.locator(".board-card-facts").drag_to(column(page, f"^{target}"))
    else:
        card.get_by_label(re.compile("^Move to")).select_option(label=target)
        card.get_by_role("button", name=re.compile("^Move")).click()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366x900", "390x844"])
def test_move_an_agreement_card_to_the_next_stage(
    page, db, make_agreement, make_organisation, member, viewport
):
    agreement = make_agreement(
        "Biobank MoU",
        parties=[make_organisation("Karolinska Lab")],
        status=AgreementStatus.SIGNED,
        signed_date=date(2025, 1, 10),
        start_date=date(2025, 2, 1),
    )
    page.set_viewport_size(viewport)
    sign_in(page, member)

    page.goto("/agreements/")
    page.get_by_role("link", name="Board view").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Agreement board")
    card = page.locator(f"#agreement-{agreement.id}")

    # Not a stage the lifecycle allows: dropped there, the board says so and moves nothing;
    # the card's own control does not offer it.
    if viewport == DESKTOP:
        move(page, card, "Draft", viewport)
        expect(page.get_by_role("status").filter(has_text="cannot move to Draft")).to_be_visible()
    else:
        options = card.get_by_label(re.compile("^Move to")).locator("option")
        expect(options.filter(has_text="Active")).to_have_count(1)
        expect(options.filter(has_text="Draft")).to_have_count(0)
    db.session.refresh(agreement)
    assert agreement.status == AgreementStatus.SIGNED

    move(page, page.locator(f"#agreement-{agreement.id}"), "Active", viewport)

    expect(page.get_by_text("Biobank MoU moved to Active.")).to_be_visible()
    expect(column(page, "^Active").locator(f"#agreement-{agreement.id}")).to_be_visible()
    db.session.refresh(agreement)
    assert agreement.status == AgreementStatus.ACTIVE
    assert no_sideways_scroll(page)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366x900", "390x844"])
def test_move_with_the_card_form_without_javascript(
    browser, live_server, db, make_enquiry, member, viewport
):
    enquiry = make_enquiry(assignee_id=member.id, status=EnquiryStatus.IN_PROGRESS)
    context = browser.new_context(
        base_url=live_server, viewport=viewport, java_script_enabled=False
    )
    page = context.new_page()
    try:
        sign_in(page, member)
        page.goto("/enquiries/board")
        expect(page.get_by_role("heading", level=1)).to_have_text("My enquiry board")
        # The columns scroll inside the board's own box; the page itself does not.
        assert no_sideways_scroll(page)
        board = page.get_by_role("region", name="Enquiries by status")
        if viewport == PHONE:
            assert board.evaluate("element => element.scrollWidth > element.clientWidth")
        card = page.locator(f"#enquiry-{enquiry.id}")

        # Closing without a reason: a clear message, nothing changed.
        card.get_by_label(re.compile("^Move to")).select_option("closed")
        card.get_by_role("button", name=re.compile("^Move")).click()
        expect(page.get_by_role("alert")).to_contain_text("Choose why the enquiry is closed.")
        assert no_sideways_scroll(page)
        db.session.refresh(enquiry)
        assert enquiry.status == EnquiryStatus.IN_PROGRESS

        card = page.locator(f"#enquiry-{enquiry.id}")
        expect(card.get_by_label(re.compile("^Move to"))).to_have_value("closed")
        card.get_by_label(re.compile("^Reason for closing")).select_option("not_relevant")
        card.get_by_role("button", name=re.compile("^Move")).click()

        expect(page.get_by_text(f"{enquiry.reference} moved to Closed.")).to_be_visible()
        db.session.refresh(enquiry)
        assert enquiry.status == EnquiryStatus.CLOSED
        assert enquiry.closed_reason == ClosedReason.NOT_RELEVANT

        # The agreement board fits the screen as well.
        page.goto("/agreements/board")
        assert no_sideways_scroll(page)
    finally:
        context.close()
