"""The outbox worker with mail suppressed (as in development), the outbox page and `send-mail`."""

import email
import logging
import re
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_mail import email_dispatched

from crm.auth.models import Role
from crm.core.database import NotRetryable
from crm.core.types import utcnow
from crm.extensions import mail
from crm.mail import sending
from crm.mail.models import OutboxMessage, OutboxStatus
from crm.mail.services import InvalidRecipient, queue_message
from tests.conftest import TEST_PASSWORD


@pytest.fixture
def queue(db):
    """queue(recipient=..., **fields) → a committed pending message, due now."""
    counter = iter(range(1, 10_000))

    def make(recipient=None, *, kind="enquiry_receipt", subject=None, body_text=None, **fields):
        number = next(counter)
        message = queue_message(
            kind=kind,
            recipient=recipient or f"person{number}@example.com",
            subject=subject or f"Subject {number}",
            body_text=body_text or f"Body {number}",
            **fields,
        )
        db.session.commit()
        return message

    return make


def all_messages(db):
    db.session.expire_all()
    return db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()


def make_failed(db, queue, **fields):
    message = queue(**fields)
    message.status = OutboxStatus.FAILED
    message.attempts = 6
    message.last_error = "ConnectionRefusedError: Connection refused"
    db.session.commit()
    return message


# ---------------------------------------------------------------- the worker


def test_due_messages_are_sent_once_oldest_first(db, queue):
    first = queue("first@example.com")
    second = queue("second@example.com")
    later = queue("later@example.com")
    later.next_attempt_at = utcnow() + timedelta(hours=1)
    db.session.commit()

    with mail.record_messages() as outbox:
        counts = sending.send_due_messages()
        again = sending.send_due_messages()

    assert counts == {"sent": 2, "retried": 0, "failed": 0}
    assert again == {"sent": 0, "retried": 0, "failed": 0}
    assert [sent.recipients for sent in outbox] == [["first@example.com"], ["second@example.com"]]
    db.session.expire_all()
    assert (first.status, second.status, later.status) == (
        OutboxStatus.SENT,
        OutboxStatus.SENT,
        OutboxStatus.PENDING,
    )
    assert first.sent_at is not None and later.sent_at is None


def test_a_message_becomes_due_when_its_time_comes(db, queue):
    message = queue()
    message.next_attempt_at = utcnow() + timedelta(minutes=5)
    db.session.commit()

    with mail.record_messages() as outbox:
        assert sending.send_due_messages()["sent"] == 0
        counts = sending.send_due_messages(now=utcnow() + timedelta(minutes=6))

    assert counts["sent"] == 1
    assert len(outbox) == 1


def test_limit_caps_a_round(db, queue):
    for _ in range(3):
        queue()

    with mail.record_messages() as outbox:
        assert sending.send_due_messages(limit=2)["sent"] == 2
        assert sending.send_due_messages(limit=2)["sent"] == 1

    assert len(outbox) == 3


def test_sent_message_carries_the_stored_fields(db, queue):
    message = queue(
        "visitor@example.com",
        subject="Tack för din förfrågan",
        body_text="Referens E-2024-0001",
        body_html="<p>Referens E-2024-0001</p>",
        reply_to="office@example.org",
    )

    with mail.record_messages() as outbox:
        sending.send_due_messages()

    [sent] = outbox
    assert sent.subject == "Tack för din förfrågan"
    assert sent.recipients == ["visitor@example.com"]
    assert sent.body == "Referens E-2024-0001"
    assert sent.html == "<p>Referens E-2024-0001</p>"
    assert sent.reply_to == "office@example.org"
    assert sent.sender == "crm@example.org"
    # Written by the app: marked automatic, so auto-responders do not answer it (RFC 3834).
    assert sent.extra_headers == {
        "X-CRM-Outbox-Id": str(message.id),
        "Auto-Submitted": "auto-generated",
    }
    assert sent.msgId.startswith(f"<crm-outbox-{message.id}.")
    assert sent.msgId.endswith("@example.org>")


def test_suppressed_mail_is_written_to_the_log(db, queue, caplog):
    queue("visitor@example.com", subject="Hello there", body_text="The body text")

    with caplog.at_level(logging.INFO):
        counts = sending.send_due_messages()

    assert counts["sent"] == 1
    assert "visitor@example.com" in caplog.text
    assert "Hello there" in caplog.text
    assert "The body text" in caplog.text


def test_a_second_worker_running_at_the_same_time_sends_nothing_twice(app, db, queue):
    for number in range(3):
        queue(f"person{number}@example.com")
    other_worker = []

    def run_other_worker_while_the_first_is_sending(sender, message):
        if other_worker:
            return
        other_worker.append(None)

        def work():
            with app.app_context():
                other_worker.append(sending.send_due_messages())

        thread = threading.Thread(target=work)
        thread.start()
        thread.join(timeout=30)

    with mail.record_messages() as outbox:
        with email_dispatched.connected_to(run_other_worker_while_the_first_is_sending):
            counts = sending.send_due_messages()

    recipients = sorted(sent.recipients[0] for sent in outbox)
    assert recipients == ["person0@example.com", "person1@example.com", "person2@example.com"]
    # The first worker had claimed one message; the other sent the rest, which the first
    # then found taken.
    assert (counts["sent"], other_worker[1]["sent"]) == (1, 2)
    assert all(message.status == OutboxStatus.SENT for message in all_messages(db))


# ---------------------------------------------------------------- header injection


def test_subject_with_line_breaks_cannot_add_a_header(db, queue):
    queue("visitor@example.com", subject="Hello\r\nBcc: evil@example.com")

    with mail.record_messages() as outbox:
        sending.send_due_messages()

    [sent] = outbox
    assert "\r" not in sent.subject and "\n" not in sent.subject
    assert sent.bcc == [] and sent.cc == []
    assert sent.send_to == {"visitor@example.com"}
    parsed = email.message_from_bytes(sent.as_bytes())
    assert parsed["Bcc"] is None
    assert parsed.get_all("To") == ["visitor@example.com"]


def test_a_stored_subject_with_line_breaks_is_made_single_line_when_sent(db):
    """Whatever wrote the row, the worker itself keeps headers single-line."""
    db.session.add(
        OutboxMessage(
            kind="test",
            recipient="visitor@example.com",
            subject="Hello\nBcc: evil@example.com",
            body_text="Body",
        )
    )
    db.session.commit()

    with mail.record_messages() as outbox:
        assert sending.send_due_messages()["sent"] == 1

    [sent] = outbox
    assert sent.subject == "Hello Bcc: evil@example.com"
    assert email.message_from_bytes(sent.as_bytes())["Bcc"] is None


@pytest.mark.parametrize(
    "recipient",
    [
        "a@example.com, b@example.com",
        "a@example.com\r\nBcc: x@y.z",
        "a@example.com\nBcc: x@y.z",
        "a@example.com;b@example.com",
        "Name <a@example.com>",
        "",
    ],
)
def test_queue_message_refuses_anything_but_one_address(db, recipient):
    with pytest.raises(InvalidRecipient):
        queue_message(kind="test", recipient=recipient, subject="Hi", body_text="Body")

    assert all_messages(db) == []


def test_a_reply_to_with_line_breaks_is_dropped(db, queue):
    queue("visitor@example.com", reply_to="a@example.com\r\nBcc: x@y.z")

    with mail.record_messages() as outbox:
        sending.send_due_messages()

    [sent] = outbox
    assert sent.reply_to is None
    assert email.message_from_bytes(sent.as_bytes())["Bcc"] is None


def test_a_stored_invalid_recipient_fails_at_once_without_sending(db):
    db.session.add(
        OutboxMessage(
            kind="test", recipient="a@example.com, b@example.com", subject="Hi", body_text="x"
        )
    )
    db.session.commit()

    with mail.record_messages() as outbox:
        counts = sending.send_due_messages()

    assert counts == {"sent": 0, "retried": 0, "failed": 1}
    assert outbox == []
    [message] = all_messages(db)
    assert message.status == OutboxStatus.FAILED
    assert message.last_error == "invalid recipient address"


# ---------------------------------------------------------------- retry


def test_retry_message_queues_a_failed_message_again(app, db, queue, make_user):
    admin = make_user(Role.ADMIN)
    message = make_failed(db, queue)

    sending.retry_message(message, actor=admin)
    db.session.commit()

    assert message.status == OutboxStatus.PENDING
    assert message.attempts == 0
    assert message.next_attempt_at <= utcnow()
    with mail.record_messages() as outbox:
        assert sending.send_due_messages()["sent"] == 1
    assert len(outbox) == 1


@pytest.mark.parametrize("status", [OutboxStatus.PENDING, OutboxStatus.SENT])
def test_only_a_failed_message_can_be_retried(db, queue, make_user, status):
    message = queue()
    message.status = status
    db.session.commit()

    with pytest.raises(NotRetryable):
        sending.retry_message(message, actor=make_user(Role.ADMIN))

    assert message.status == status


# ---------------------------------------------------------------- the outbox page


def test_outbox_lists_newest_first_and_filters(client, db, queue, login):
    login(Role.ADMIN)
    older = queue("old@example.com", subject="Older message", kind="enquiry_receipt")
    newer = queue("new@example.com", subject="Newer message", kind="enquiry_notice")
    older.created_at = utcnow() - timedelta(days=1)
    make_failed(db, queue, subject="Failed message", kind="enquiry_notice")
    db.session.commit()

    page = client.get("/admin/outbox/?lang=en").get_data(as_text=True)
    assert page.index("Failed message") < page.index("Newer message") < page.index("Older message")
    assert "new@example.com" in page
    assert "Connection refused" in page

    failed = client.get("/admin/outbox/?status=failed").get_data(as_text=True)
    assert "Failed message" in failed and "Newer message" not in failed

    receipts = client.get("/admin/outbox/?kind=enquiry_receipt").get_data(as_text=True)
    assert "Older message" in receipts and "Newer message" not in receipts

    nonsense = client.get("/admin/outbox/?status=nonsense&page=x&per_page=7")
    assert nonsense.status_code == 200
    assert newer.subject in nonsense.get_data(as_text=True)


def test_outbox_is_paginated(client, db, queue, login):
    login(Role.ADMIN)
    for _ in range(30):
        queue()

    first = client.get("/admin/outbox/?lang=en").get_data(as_text=True)
    second = client.get("/admin/outbox/?page=2").get_data(as_text=True)

    assert first.count("<tr>") == 26  # header row and 25 messages
    assert second.count("<tr>") == 6


def test_empty_outbox_says_so(client, login):
    login(Role.ADMIN)

    response = client.get("/admin/outbox/?lang=en")

    assert response.status_code == 200
    assert "The outbox is empty" in response.get_data(as_text=True)

    filtered = client.get("/admin/outbox/?status=failed").get_data(as_text=True)
    assert "No messages match." in filtered


def test_detail_shows_the_text_body(client, queue, login):
    login(Role.ADMIN)
    message = queue(body_text="Dear visitor,\nyour reference is E-2024-0042.")

    response = client.get(f"/admin/outbox/{message.id}?lang=en")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "your reference is E-2024-0042." in page
    assert message.recipient in page


def test_detail_escapes_the_stored_text(client, queue, login):
    login(Role.ADMIN)
    message = queue(body_text="<script>alert(1)</script>", body_html="<script>alert(2)</script>")

    page = client.get(f"/admin/outbox/{message.id}").get_data(as_text=True)

    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)" in page


def test_unknown_message_is_404(client, login):
    login(Role.ADMIN)

    assert client.get("/admin/outbox/999").status_code == 404
    assert client.get("/admin/outbox/99999999999").status_code == 404
    assert client.post("/admin/outbox/999/retry").status_code == 404


def test_admin_retries_a_failed_message(client, db, queue, login):
    login(Role.ADMIN)
    message = make_failed(db, queue)

    response = client.post(f"/admin/outbox/{message.id}/retry?lang=en", follow_redirects=True)

    assert response.status_code == 200
    assert response.request.path == f"/admin/outbox/{message.id}"
    assert "queued to be sent again" in response.get_data(as_text=True)
    db.session.refresh(message)
    assert (message.status, message.attempts) == (OutboxStatus.PENDING, 0)


def test_retry_from_the_list_returns_to_the_list(client, db, queue, login):
    login(Role.ADMIN)
    message = make_failed(db, queue)

    response = client.post(
        f"/admin/outbox/{message.id}/retry", data={"next": "/admin/outbox/?status=failed"}
    )
    evil = client.post(f"/admin/outbox/{message.id}/retry", data={"next": "//evil.example/"})

    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/outbox/?status=failed"
    assert evil.headers["Location"] == f"/admin/outbox/{message.id}"


def test_retrying_a_message_that_did_not_fail_changes_nothing(client, db, queue, login):
    login(Role.ADMIN)
    message = queue()

    response = client.post(f"/admin/outbox/{message.id}/retry?lang=en", follow_redirects=True)

    assert "Only a failed message can be sent again." in response.get_data(as_text=True)
    db.session.refresh(message)
    assert message.status == OutboxStatus.PENDING


def csrf_token(page):
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


@pytest.mark.config(WTF_CSRF_ENABLED=True)
def test_retry_needs_the_csrf_token(client, db, queue, make_user):
    admin = make_user(Role.ADMIN)
    token = csrf_token(client.get("/login").get_data(as_text=True))
    credentials = {"email": admin.email, "password": TEST_PASSWORD, "csrf_token": token}
    assert client.post("/login", data=credentials).status_code == 302
    message = make_failed(db, queue)

    refused = client.post(f"/admin/outbox/{message.id}/retry")

    assert refused.status_code == 400
    db.session.refresh(message)
    assert message.status == OutboxStatus.FAILED

    # The button on the page carries the token, and that is what it took.
    page = client.get(f"/admin/outbox/{message.id}").get_data(as_text=True)
    accepted = client.post(
        f"/admin/outbox/{message.id}/retry", data={"csrf_token": csrf_token(page)}
    )
    assert accepted.status_code == 302
    db.session.refresh(message)
    assert message.status == OutboxStatus.PENDING


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.MEMBER, Role.VIEWER])
def test_outbox_is_for_admins_only(client, db, queue, login, role):
    login(role)
    message = make_failed(db, queue)

    assert client.get("/admin/outbox/").status_code == 403
    assert client.get(f"/admin/outbox/{message.id}").status_code == 403
    assert client.post(f"/admin/outbox/{message.id}/retry").status_code == 403
    db.session.refresh(message)
    assert message.status == OutboxStatus.FAILED


# ---------------------------------------------------------------- the command


def test_send_mail_command_prints_counts(runner, db, queue):
    queue()
    queue()

    with mail.record_messages() as outbox:
        result = runner.invoke(args=["crm", "send-mail"])

    assert result.exit_code == 0, result.output
    assert "Sent 2, to retry later 0, failed 0." in result.output
    assert len(outbox) == 2

    again = runner.invoke(args=["crm", "send-mail"])
    assert "Sent 0," in again.output


def test_send_mail_loop_runs_until_interrupted(runner, db, queue, monkeypatch):
    queue()
    naps = []

    def sleep(seconds):
        naps.append(seconds)
        if len(naps) == 2:
            raise KeyboardInterrupt  # Ctrl-C while waiting for the next round
        queue()  # new mail arrives while the worker sleeps

    monkeypatch.setattr("crm.cli.time.sleep", sleep)

    with mail.record_messages() as outbox:
        result = runner.invoke(args=["crm", "send-mail", "--loop", "--interval", "0.5"])

    assert result.exit_code == 0, result.output
    assert naps == [0.5, 0.5]
    assert len(outbox) == 2
    assert result.output.count("Sent 1,") == 2
    assert "Mail worker stopped." in result.output


def test_send_mail_loop_survives_a_failed_round(runner, db, queue, monkeypatch):
    queue()
    real = sending.send_due_messages
    rounds = []

    def flaky(**kwargs):
        rounds.append(None)
        if len(rounds) == 1:
            raise sa.exc.OperationalError("SELECT", {}, Exception("database restarting"))
        return real(**kwargs)

    def sleep(seconds):
        if len(rounds) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(sending, "send_due_messages", flaky)
    monkeypatch.setattr("crm.cli.time.sleep", sleep)

    result = runner.invoke(args=["crm", "send-mail", "--loop"])

    assert result.exit_code == 0, result.output
    assert "Sent 1," in result.output
    assert all(message.status == OutboxStatus.SENT for message in all_messages(db))


def test_send_mail_refuses_a_silly_interval(runner):
    result = runner.invoke(args=["crm", "send-mail", "--loop", "--interval", "0"])

    assert result.exit_code != 0
    assert "interval" in result.output
