"""An enquiry from the public form to a converted customer: a visitor writes in Swedish, a
coordinator assigns it to the member who knows the topic, and that member converts it."""

import re

import pytest
import sqlalchemy as sa

from crm.auth.models import UserTopic
from crm.enquiries.models import Enquiry, EnquiryStatus, Topic
from crm.mail.models import OutboxMessage
from crm.organisations.models import Contact, Organisation
from tests.browser.helpers import sign_in

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright").expect

pytestmark = pytest.mark.config(WTF_CSRF_ENABLED=True, CONTACT_MIN_FILL_SECONDS=0)

ORGANISATION = "Kvarnbo Genomik AB"


@pytest.fixture
def staff(db, make_user):
    coordinator = make_user("coordinator", email="cecilia@example.org", name="Cecilia Coordinator")
    member = make_user("member", email="maja@example.org", name="Maja Member")
    # Another member, less busy but without the topic: the suggestion must not be them.
    make_user("member", email="adam@example.org", name="Adam Another")
    db.session.add(UserTopic(user_id=member.id, topic=Topic.CLINICAL_STUDIES))
    db.session.commit()
    return coordinator, member


def open_from_inbox(page, reference):
    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="Enquiries"
    ).click()
    page.get_by_role("table").get_by_role("link", name=reference, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Enquiry {reference}")


def test_a_swedish_enquiry_is_assigned_and_converted(app, db, browser, live_server, page, staff):
    if "contact.form" not in app.view_functions:
        pytest.skip("the public contact form (contact.form) is not there yet")
    coordinator, member = staff

    # A visitor writes in Swedish. Fields are found by id: their labels are the form's own.
    page.goto("/contact?lang=sv")
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    page.locator("#name").fill("Karin Lund")
    page.locator("#email").fill("karin.lund@kvarnbo-genomik.example")
    page.locator("#phone").fill("070-111 22 33")
    page.locator("#organisation_name").fill(ORGANISATION)
    page.locator("#organisation_type").select_option("company")
    page.locator("#topic").select_option("clinical_studies")
    page.locator("#message").fill(
        "Hej! Vi planerar en klinisk studie av cirkulerande tumör-DNA och söker samarbete."
    )
    page.locator("#acknowledgement").check()
    page.locator("main form [type=submit]").click()
    reference_text = page.locator(".contact-reference strong")
    expect(reference_text).to_have_text(re.compile(r"^ENQ-\d{4}-\d{5}$"))
    reference = reference_text.inner_text()

    # The coordinator assigns it to the suggested member, who knows clinical studies.
    staff_context = browser.new_context(base_url=live_server)
    staff_page = staff_context.new_page()
    try:
        sign_in(staff_page, coordinator)
        open_from_inbox(staff_page, reference)
        expect(staff_page.locator(".enquiry-message")).to_contain_text("klinisk studie")
        expect(staff_page.get_by_text("Suggested: Maja Member")).to_be_visible()
        staff_page.get_by_role("button", name="Assign to Maja Member").click()
        expect(
            staff_page.get_by_role("status").filter(has_text="assigned to Maja Member")
        ).to_be_visible()
        staff_page.get_by_role("banner").get_by_role("button", name="Sign out").click()
        expect(staff_page).to_have_url(re.compile(r"/login$"))

        # The member answers Karin from the enquiry: the first response.
        sign_in(staff_page, member)
        open_from_inbox(staff_page, reference)
        # The reply form opens on demand, below the message and the facts.
        answer = staff_page.locator("details.enquiry-reply")
        answer.locator("summary").click()
        expect(answer.get_by_label("Subject")).to_have_value(re.compile(f"^Re: {reference} "))
        answer.get_by_label("Reply", exact=True).fill("Hej Karin! Tack, vi hörs på måndag.")
        answer.get_by_role("button", name="Send reply").click()
        expect(staff_page.get_by_text("is queued for sending")).to_be_visible()
        expect(staff_page.locator(".conversation-out")).to_contain_text("vi hörs på måndag")
        expect(staff_page.locator(".page-head + p .badge").first).to_have_text(
            "Waiting for the company"
        )

        # The member converts it, creating the organisation and the contact.
        staff_page.get_by_text("Convert into an organisation, a contact and an activity").click()
        convert = staff_page.locator("section.enquiry-convert")
        convert.get_by_label("A new organisation").check()
        expect(convert.get_by_label("Name of the new organisation")).to_have_value(ORGANISATION)
        convert.get_by_label("A new contact").check()
        expect(convert.get_by_label("Last name")).to_have_value("Lund")
        convert.get_by_label("Title", exact=True).fill("Research director")
        convert.get_by_role("button", name="Convert enquiry").click()

        expect(staff_page.get_by_text(f"{reference} is converted")).to_be_visible()
        expect(staff_page.locator(".page-head + p .badge").first).to_have_text("Converted")
        staff_page.locator(".enquiry-outcome").get_by_role("link", name=ORGANISATION).click()
        expect(staff_page.get_by_role("heading", level=1)).to_have_text(ORGANISATION)
        expect(staff_page.get_by_role("link", name="Karin Lund")).to_be_visible()
    finally:
        staff_context.close()

    enquiry = db.session.scalar(sa.select(Enquiry).where(Enquiry.reference == reference))
    assert enquiry.language == "sv"
    assert enquiry.status == EnquiryStatus.CONVERTED
    assert enquiry.assignee_id == member.id
    assert enquiry.assigned_at is not None and enquiry.first_response_at is not None
    organisation = db.session.scalar(
        sa.select(Organisation).where(Organisation.name == ORGANISATION)
    )
    contact = db.session.scalar(sa.select(Contact).where(Contact.last_name == "Lund"))
    assert (enquiry.organisation_id, enquiry.contact_id) == (organisation.id, contact.id)
    assert contact.organisation_id == organisation.id
    assigned = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "enquiry_assigned")
    ).all()
    assert [message.recipient for message in assigned] == [member.email]
