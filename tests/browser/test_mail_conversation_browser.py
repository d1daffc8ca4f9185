"""The conversation with a company, end to end: a coordinator replies to an enquiry from its
page, the reply leaves through the outbox, the company answers it, and after `fetch-mail`
the answer is in the enquiry's conversation — threaded by its In-Reply-To header alone."""

import re
from email.message import EmailMessage

import pytest
import sqlalchemy as sa

from crm.enquiries.models import EnquiryStatus
from crm.mail.models import OutboxMessage
from tests.browser.test_enquiries_browser import sign_in

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright").expect

pytestmark = pytest.mark.config(WTF_CSRF_ENABLED=True)


def test_a_coordinator_replies_and_the_companys_answer_joins_the_conversation(
    app, db, page, mailbox, runner, make_user, make_enquiry
):
    coordinator = make_user("coordinator", email="cecilia@example.org", name="Cecilia Coordinator")
    enquiry = make_enquiry(
        name="Karin Lund",
        email="karin.lund@kvarnbo.example",
        language="en",
        message="Could we run a pilot with your sequencing platform?",
    )

    sign_in(page, coordinator)
    page.goto(f"/enquiries/{enquiry.id}")
    reply = page.locator("details.enquiry-reply")
    reply.locator("summary").click()
    expect(reply.get_by_label("Subject")).to_have_value(re.compile(enquiry.reference))
    reply.get_by_label("Reply", exact=True).fill("Dear Karin, yes: when would suit you?")
    reply.get_by_role("button", name="Send reply").click()

    conversation = page.locator(".conversation")
    expect(conversation).to_contain_text("when would suit you?")
    db.session.expire_all()
    assert enquiry.status == EnquiryStatus.WAITING
    sent = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "enquiry_reply")
    ).one()

    # The company answers from its mail program: a new subject, threaded by headers only.
    answer = EmailMessage()
    answer["From"] = "Karin Lund <karin.lund@kvarnbo.example>"
    answer["To"] = "office@example.org"
    answer["Subject"] = "Pilot dates"
    answer["Message-ID"] = "<answer-1@kvarnbo.example>"
    answer["In-Reply-To"] = sent.message_id
    answer["References"] = sent.message_id
    answer.set_content(
        "Next Tuesday works for us.\n\nOn Monday, Cecilia wrote:\n> Dear Karin, yes: when would"
        " suit you?\n"
    )
    mailbox.deliver(answer)

    result = runner.invoke(args=["crm", "fetch-mail"])
    assert result.exit_code == 0, result.output

    page.reload()
    expect(conversation).to_contain_text("Next Tuesday works for us.")
    expect(conversation).to_contain_text("Pilot dates")
    db.session.expire_all()
    assert enquiry.status == EnquiryStatus.IN_PROGRESS
