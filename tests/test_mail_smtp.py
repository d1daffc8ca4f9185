"""The outbox worker against a real SMTP server (aiosmtpd on 127.0.0.1), up and down."""

import email
import socket
from datetime import timedelta

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask_mail import email_dispatched

from crm.core.types import utcnow
from crm.extensions import mail
from crm.mail.models import OutboxMessage, OutboxStatus
from crm.mail.sending import send_due_messages
from crm.mail.services import queue_message

HOST = "127.0.0.1"
NAMES = ("anna", "bertil", "cecilia")


class RecordingHandler:
    """Accepts every message and keeps its envelope; refuses the addresses in `refuse`."""

    def __init__(self):
        self.envelopes = []
        self.refuse = {}  # address → SMTP reply

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((session.peer, envelope))
        return "250 Message accepted for delivery"

    @property
    def recipients(self):
        return sorted(address for _peer, env in self.envelopes for address in env.rcpt_tos)


class SMTPServer:
    """A local SMTP server on a fixed free port that a test can stop and start again."""

    def __init__(self):
        self.handler = RecordingHandler()
        self.port = _free_port()
        self.controller = None

    def start(self):
        self.controller = Controller(self.handler, hostname=HOST, port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def _free_port():
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp(app):
    """A stopped SMTP server; the app sends to its port for real (MAIL_SUPPRESS_SEND off)."""
    server = SMTPServer()
    app.config.update(
        MAIL_SERVER=HOST,
        MAIL_PORT=server.port,
        MAIL_USE_TLS=False,
        MAIL_USE_SSL=False,
        MAIL_SUPPRESS_SEND=False,
        MAIL_TIMEOUT=5,
    )
    mail.init_app(app)
    yield server
    server.stop()


@pytest.fixture
def queue(db):
    def make(recipient, *, subject="Hello", **fields):
        message = queue_message(
            kind="test", recipient=recipient, subject=subject, body_text="Body", **fields
        )
        db.session.commit()
        return message

    return make


def messages(db):
    db.session.expire_all()
    return db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_each_message_is_delivered_once_over_one_connection(db, smtp, queue):
    smtp.start()
    for name in NAMES:
        queue(f"{name}@example.com", subject=f"Hello {name}")

    first = send_due_messages()
    second = send_due_messages()

    assert first == {"sent": 3, "retried": 0, "failed": 0}
    assert second == {"sent": 0, "retried": 0, "failed": 0}
    assert smtp.handler.recipients == [f"{name}@example.com" for name in NAMES]
    assert len({peer for peer, _envelope in smtp.handler.envelopes}) == 1
    assert all(message.status == OutboxStatus.SENT for message in messages(db))
    _peer, envelope = smtp.handler.envelopes[0]
    assert envelope.mail_from == "crm@example.org"
    parsed = email.message_from_bytes(envelope.original_content)
    assert parsed["Subject"] == "Hello anna"
    assert parsed["X-CRM-Outbox-Id"] == str(messages(db)[0].id)
    # Written by the app, not a person: auto-responders must not answer it (RFC 3834).
    assert parsed["Auto-Submitted"] == "auto-generated"


def test_server_down_keeps_messages_queued_until_it_is_back(app, db, smtp, queue):
    queue("anna@example.com")
    queue("bertil@example.com")
    start = utcnow()

    down = send_due_messages(now=start)

    assert down == {"sent": 0, "retried": 2, "failed": 0}
    retry_at = start + timedelta(seconds=app.config["OUTBOX_RETRY_SECONDS"])
    for message in messages(db):
        assert message.status == OutboxStatus.PENDING
        assert message.attempts == 0  # the server was never asked to take it
        assert message.next_attempt_at == retry_at
        assert "ConnectionRefusedError" in message.last_error
    # Not due again before the back-off has passed, even with the server up.
    smtp.start()
    assert send_due_messages(now=start + timedelta(seconds=1))["sent"] == 0

    back = send_due_messages(now=retry_at)
    again = send_due_messages(now=retry_at + timedelta(hours=1))

    assert back == {"sent": 2, "retried": 0, "failed": 0}
    assert again["sent"] == 0
    assert smtp.handler.recipients == ["anna@example.com", "bertil@example.com"]
    assert all(message.status == OutboxStatus.SENT for message in messages(db))


def test_back_off_doubles_after_each_failure(app, db, smtp, queue):
    smtp.start()
    smtp.handler.refuse["busy@example.com"] = "450 4.2.1 <busy@example.com>: try again later"
    queue("busy@example.com")
    delay = app.config["OUTBOX_RETRY_SECONDS"]
    now = utcnow()

    for attempt in (1, 2, 3):
        assert send_due_messages(now=now)["retried"] == 1
        [message] = messages(db)
        assert message.attempts == attempt
        assert message.next_attempt_at == now + timedelta(seconds=delay * 2 ** (attempt - 1))
        now = message.next_attempt_at


def test_a_mail_outage_of_two_days_fails_no_message(app, db, smtp, queue):
    queue("anna@example.com")
    [message] = messages(db)
    now = message.created_at
    gaps = []

    while now < message.created_at + timedelta(days=2):
        assert send_due_messages(now=now) == {"sent": 0, "retried": 1, "failed": 0}
        [message] = messages(db)
        gaps.append(message.next_attempt_at - now)
        now = message.next_attempt_at

    # Never failed and never counted as tried: the server was not there to try.
    assert (message.status, message.attempts) == (OutboxStatus.PENDING, 0)
    # The worker looks again after 1, 1, 2, 4 … minutes, and then every hour.
    first = timedelta(seconds=app.config["OUTBOX_RETRY_SECONDS"])
    hour = timedelta(seconds=app.config["OUTBOX_MAX_RETRY_SECONDS"])
    assert gaps[:4] == [first, first, 2 * first, 4 * first]
    assert gaps == sorted(gaps) and max(gaps) == hour
    assert len(gaps) < 60  # two days of looking, not a busy loop

    smtp.start()
    assert send_due_messages(now=now) == {"sent": 1, "retried": 0, "failed": 0}
    assert send_due_messages(now=now + timedelta(days=1))["sent"] == 0
    assert smtp.handler.recipients == ["anna@example.com"]


def test_server_going_down_mid_round_loses_nothing(db, smtp, queue):
    smtp.start()
    for name in NAMES:
        queue(f"{name}@example.com")

    def stop_after_the_first(sender, message):
        smtp.stop()

    with email_dispatched.connected_to(stop_after_the_first):
        counts = send_due_messages()

    assert counts == {"sent": 1, "retried": 2, "failed": 0}
    assert smtp.handler.recipients == ["anna@example.com"]
    smtp.start()
    later = send_due_messages(now=utcnow() + timedelta(hours=1))
    assert later == {"sent": 2, "retried": 0, "failed": 0}
    assert smtp.handler.recipients == [f"{name}@example.com" for name in NAMES]


@pytest.mark.config(OUTBOX_MAX_ATTEMPTS=3)
def test_message_fails_after_the_last_attempt(db, smtp, queue):
    smtp.start()
    smtp.handler.refuse["busy@example.com"] = "450 4.2.1 <busy@example.com>: try again later"
    queue("busy@example.com")
    now = utcnow()
    outcomes = []

    for _ in range(4):
        counts = send_due_messages(now=now)
        outcomes.append(counts)
        now += timedelta(days=1)

    assert [counts["retried"] for counts in outcomes] == [1, 1, 0, 0]
    assert [counts["failed"] for counts in outcomes] == [0, 0, 1, 0]
    [message] = messages(db)
    assert (message.status, message.attempts) == (OutboxStatus.FAILED, 3)
    # A failed message stays failed even when the server would take it now.
    del smtp.handler.refuse["busy@example.com"]
    assert send_due_messages(now=now)["sent"] == 0
    assert smtp.handler.envelopes == []


def test_recipient_refused_for_good_fails_at_once_and_the_rest_still_go(db, smtp, queue):
    smtp.start()
    smtp.handler.refuse["gone@example.com"] = "550 5.1.1 <gone@example.com>: no such mailbox"
    queue("gone@example.com")
    queue("anna@example.com")

    counts = send_due_messages()

    assert counts == {"sent": 1, "retried": 0, "failed": 1}
    gone, anna = messages(db)
    assert (gone.status, gone.attempts) == (OutboxStatus.FAILED, 1)
    assert gone.last_error == "Recipient refused (SMTP 550)"
    assert anna.status == OutboxStatus.SENT
    assert smtp.handler.recipients == ["anna@example.com"]


def test_recipient_refused_for_now_is_retried(db, smtp, queue):
    smtp.start()
    smtp.handler.refuse["busy@example.com"] = "450 4.2.1 <busy@example.com>: try again later"
    queue("busy@example.com")

    assert send_due_messages() == {"sent": 0, "retried": 1, "failed": 0}
    [message] = messages(db)
    assert message.status == OutboxStatus.PENDING
    assert "busy@example.com" not in message.last_error


def test_header_injection_reaches_no_one_else(db, smtp, queue):
    smtp.start()
    queue("anna@example.com", subject="Hello\r\nBcc: evil@example.com")
    db.session.add(
        OutboxMessage(
            kind="test",
            recipient="bertil@example.com",
            subject="Hi\nBcc: evil@example.com\nX-Injected: yes",
            body_text="Body",
            reply_to="bertil@example.com\r\nCc: evil@example.com",
        )
    )
    db.session.commit()

    assert send_due_messages()["sent"] == 2

    assert smtp.handler.recipients == ["anna@example.com", "bertil@example.com"]
    for _peer, envelope in smtp.handler.envelopes:
        parsed = email.message_from_bytes(envelope.original_content)
        assert parsed["Bcc"] is None and parsed["Cc"] is None and parsed["X-Injected"] is None
        assert "\n" not in parsed["Subject"]
