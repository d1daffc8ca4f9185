"""The mail server is down during a burst of enquiries: nothing is lost, nothing sent twice.

500 enquiries go through the real public form while nothing listens on the SMTP port. Every
one is stored with its e-mails in the outbox and answered with a thank-you page; the worker
finds the server gone and leaves every message waiting (none counted as tried, none failed);
once the server is back, the worker drains the outbox and the server receives each outbox
message exactly once.
"""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from crm.core.types import utcnow
from crm.enquiries.models import Enquiry
from crm.mail.models import OutboxMessage, OutboxStatus
from crm.mail.sending import send_due_messages
from tests.faults.conftest import VALID, count

BURST = 500
REFERENCE = re.compile(r"<strong>(ENQ-\d{4}-\d{5})</strong>")

pytestmark = pytest.mark.slow


def test_burst_of_enquiries_while_the_mail_server_is_down(
    app, db, client, smtp, coordinator, form_fields
):
    references = set()
    for number in range(BURST):
        data = {
            **VALID,
            **form_fields("en"),
            "email": f"sender{number}@kvarnbo.example",
            "message": f"Enquiry number {number} about a clinical study.",
        }
        response = client.post("/contact?lang=en", data=data, follow_redirects=True)
        assert response.status_code == 200, number
        page = response.get_data(as_text=True)
        assert "Thank you for your enquiry" in page
        references.update(REFERENCE.findall(page))

    # Every acknowledged enquiry is stored, with a receipt and a coordinator notice each.
    assert len(references) == BURST
    stored = set(db.session.scalars(sa.select(Enquiry.reference)))
    assert stored == references
    assert count(db, OutboxMessage) == 2 * BURST

    # The worker runs while the server is down: every message keeps its place in the queue,
    # with the reason, and is not counted as tried (the server was not there to try).
    down = send_due_messages(limit=None)
    assert down == {"sent": 0, "retried": 2 * BURST, "failed": 0}
    queued = db.session.scalars(sa.select(OutboxMessage)).all()
    assert {message.status for message in queued} == {OutboxStatus.PENDING}
    assert {message.attempts for message in queued} == {0}
    assert all("ConnectionRefusedError" in message.last_error for message in queued)
    assert smtp.handler.accepted == []

    # The server is back an hour later: the worker (in its usual batches) drains the outbox.
    smtp.start()
    later = utcnow() + timedelta(hours=1)
    rounds = []
    while True:
        counts = send_due_messages(now=later)
        rounds.append(counts)
        if not any(counts.values()):
            break
        assert len(rounds) < 50, rounds
    assert sum(counts["sent"] for counts in rounds) == 2 * BURST
    assert sum(counts["failed"] + counts["retried"] for counts in rounds) == 0

    # Exactly once: each outbox message reached the server one time, to its own recipient.
    db.session.expire_all()
    messages = {message.id: message for message in db.session.scalars(sa.select(OutboxMessage))}
    copies = smtp.handler.copies()
    assert set(copies) == set(messages)
    assert set(copies.values()) == {1}
    for outbox_id, message_id, recipients in smtp.handler.accepted:
        assert recipients == (messages[outbox_id].recipient,)
        assert f"crm-outbox-{outbox_id}." in message_id
    assert {message.status for message in messages.values()} == {OutboxStatus.SENT}
    receipts = sorted(m.recipient for m in messages.values() if m.kind == "enquiry_receipt")
    assert receipts == sorted(f"sender{number}@kvarnbo.example" for number in range(BURST))
