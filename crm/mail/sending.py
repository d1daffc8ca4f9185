"""The outbox worker: delivers due messages through Flask-Mail, retries with back-off.

Unlike the services, the worker commits: one claim before each SMTP call and one commit
after it, so a crash or a second worker running at the same time never sends a message
twice (barring a crash between the server's "250 OK" and our commit, which no outbox
can rule out).
"""

import re
import smtplib
from datetime import timedelta
from email.utils import parseaddr

from flask import current_app
from flask_mail import BadHeaderError, Connection, Message

from crm.core.database import claimed_due_rows, queue_again
from crm.core.types import utcnow
from crm.extensions import db
from crm.mail.models import OutboxMessage, OutboxStatus
from crm.mail.services import message_id_list, single_line, valid_address, valid_message_id

# A claimed message is not due again for this long (OUTBOX_CLAIM_SECONDS, default ten
# minutes), so another worker leaves it alone while it is being sent; if this worker dies
# mid-send, it is retried after the lease.
CLAIM_LEASE = timedelta(minutes=10)
# Seconds to wait for the mail server before counting an attempt as failed.
DEFAULT_SMTP_TIMEOUT = 30
# Messages a person wrote (a reply from an enquiry); every other kind is sent as automatic.
PERSONAL_KINDS = frozenset({"enquiry_reply"})
# Transient trouble: the server is down, slow, or answered 4xx.
TRANSIENT_ERRORS = (smtplib.SMTPException, OSError)
_ADDRESS_IN_TEXT = re.compile(r"\S+@\S+")


def send_due_messages(*, now=None, limit=100):
    """Send up to `limit` due pending messages, oldest first; returns {sent, retried, failed}.

    Commits after each message, so call it with no unsaved changes in the session.
    `now` fixes the clock (tests); by default the real time is used.
    """
    clock = (lambda: now) if now is not None else utcnow
    counts = {"sent": 0, "retried": 0, "failed": 0}
    lease = timedelta(
        seconds=current_app.config.get("OUTBOX_CLAIM_SECONDS", CLAIM_LEASE.total_seconds())
    )
    messages = claimed_due_rows(
        OutboxMessage,
        pending=OutboxStatus.PENDING,
        order_by=(OutboxMessage.created_at, OutboxMessage.id),
        limit=limit,
        clock=clock,
        lease=lease,
    )
    # The connection is opened on the first message, so an empty queue opens none.
    postman = _Postman()
    try:
        for message in messages:
            error = postman.deliver(message)
            if error is None:
                message.status = OutboxStatus.SENT
                message.sent_at = clock()
                counts["sent"] += 1
            elif error is postman.unreachable:
                _wait_for_the_server(message, error, now=clock())
                counts["retried"] += 1
            else:
                counts[_record_failure(message, error, now=clock())] += 1
            db.session.commit()
    finally:
        postman.close()
    if postman.unreachable is not None:
        # Once per round, not per message: an outage would otherwise fill the log.
        current_app.logger.warning(
            "Outbox: the mail server cannot be reached (%s); %s messages wait for it",
            describe_error(postman.unreachable),
            counts["retried"],
        )
    return counts


def retry_message(message, *, actor):
    """Put a failed message back in the queue, due now, with its tries counted afresh;
    NotRetryable when it has not failed."""
    queue_again(message, failed=OutboxStatus.FAILED, pending=OutboxStatus.PENDING)
    current_app.logger.info(
        "Outbox message %s (%s) queued again by user %s",
        message.id,
        message.kind,
        getattr(actor, "id", None),
    )
    return message


def _wait_for_the_server(message, error, *, now):
    """The mail server could not be reached, so the message was not tried: it waits for the
    server however long the outage lasts, and this does not count towards failing it.

    It waits as long again as it has waited so far (so the gaps double, as for a failed
    attempt), at least OUTBOX_RETRY_SECONDS and at most OUTBOX_MAX_RETRY_SECONDS.
    """
    config = current_app.config
    waited = (now - message.created_at).total_seconds()
    delay = min(max(config["OUTBOX_RETRY_SECONDS"], waited), config["OUTBOX_MAX_RETRY_SECONDS"])
    message.next_attempt_at = now + timedelta(seconds=delay)
    message.last_error = describe_error(error)[:500]


def _record_failure(message, error, *, now):
    """Count a failed attempt at this message: "retried" later with back-off, or "failed" for
    good after OUTBOX_MAX_ATTEMPTS or a permanent refusal."""
    config = current_app.config
    message.attempts += 1
    message.last_error = describe_error(error)[:500]
    permanent = isinstance(error, _PermanentFailure) or _is_permanent_refusal(error)
    if permanent or message.attempts >= config["OUTBOX_MAX_ATTEMPTS"]:
        message.status = OutboxStatus.FAILED
        outcome = "failed"
    else:
        delay = config["OUTBOX_RETRY_SECONDS"] * 2 ** (message.attempts - 1)
        message.next_attempt_at = now + timedelta(seconds=delay)
        outcome = "retried"
    # No recipient or subject in the log: it is kept longer than the outbox.
    current_app.logger.warning(
        "Outbox message %s (%s) not sent, attempt %s, %s: %s",
        message.id,
        message.kind,
        message.attempts,
        outcome,
        message.last_error,
    )
    return outcome


def _is_permanent_refusal(error):
    """The server refused the recipient with a 5xx code: trying again will not help."""
    if not isinstance(error, smtplib.SMTPRecipientsRefused):
        return False
    codes = [code for code, _text in error.recipients.values()]
    return bool(codes) and all(code >= 500 for code in codes)


def describe_error(error):
    """A short description for the outbox page, with any e-mail address blanked out."""
    if isinstance(error, _PermanentFailure):
        return str(error)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = sorted({str(code) for code, _text in error.recipients.values()})
        return f"Recipient refused (SMTP {', '.join(codes)})"
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        detail = _ADDRESS_IN_TEXT.sub("<address>", single_line(str(text), 200))
        return f"{type(error).__name__}: SMTP {error.smtp_code} {detail}".strip()
    if isinstance(error, OSError) and error.strerror:
        return f"{type(error).__name__}: {error.strerror}"
    detail = _ADDRESS_IN_TEXT.sub("<address>", single_line(str(error), 200))
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__


class _PermanentFailure(Exception):
    """A message that can never be sent as stored (e.g. its recipient is not one address)."""


class _TimeoutConnection(Connection):
    """Flask-Mail's connection with a socket timeout, so a hung server cannot stall the worker."""

    def configure_host(self):
        mail = self.mail
        timeout = current_app.config.get("MAIL_TIMEOUT", DEFAULT_SMTP_TIMEOUT)
        smtp_class = smtplib.SMTP_SSL if mail.use_ssl else smtplib.SMTP
        host = smtp_class(mail.server, mail.port, timeout=timeout)
        try:
            host.set_debuglevel(int(mail.debug))
            if mail.use_tls:
                host.starttls()
            if mail.username and mail.password:
                host.login(mail.username, mail.password)
        except BaseException:
            host.close()
            raise
        return host


class _Postman:
    """One SMTP connection per batch, opened on the first message and reopened after a drop.

    When the server cannot be reached, the rest of the batch fails at once with the same
    error instead of waiting for the timeout again for every message.
    """

    def __init__(self):
        self.state = current_app.extensions["mail"]
        self.connection = None
        self.unreachable = None

    def deliver(self, outbox_message):
        """Send one message; returns None when it was handed over, else the error."""
        try:
            email = build_message(outbox_message)
        except _PermanentFailure as error:
            return error
        if self.state.suppress:
            self._log(outbox_message)
        if self.unreachable is not None:
            return self.unreachable
        if self.connection is None:
            try:
                self.connection = self._open()
            except TRANSIENT_ERRORS as error:
                self.unreachable = error
                return error
        try:
            self.connection.send(email)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as error:
            return error  # the server answered; the connection is good for the next message
        except OSError as error:  # includes a dropped connection (SMTPServerDisconnected)
            self.close()  # reconnect for the next message
            return error
        except BadHeaderError:
            return _PermanentFailure("bad header")
        except Exception as error:  # noqa: BLE001  (one odd message must not stop the batch)
            current_app.logger.exception("Outbox message %s could not be sent", outbox_message.id)
            self.close()
            return error
        return None

    def _open(self):
        connection = _TimeoutConnection(self.state)
        connection.host = None if self.state.suppress else connection.configure_host()
        return connection

    def _log(self, outbox_message):
        # Development and tests only (MAIL_SUPPRESS_SEND): the log is the mailbox.
        current_app.logger.info(
            "Mail not sent (MAIL_SUPPRESS_SEND): outbox message %s to %s\nSubject: %s\n\n%s",
            outbox_message.id,
            outbox_message.recipient,
            single_line(outbox_message.subject),
            outbox_message.body_text,
        )

    def close(self):
        connection, self.connection = self.connection, None
        if connection is None or connection.host is None:
            return
        try:
            connection.host.quit()
        except (smtplib.SMTPException, OSError):
            connection.host.close()


def build_message(outbox_message):
    """The Flask-Mail Message for an outbox row, every header single-line."""
    recipient = (outbox_message.recipient or "").strip()
    if not valid_address(recipient):
        raise _PermanentFailure("invalid recipient address")
    reply_to = (outbox_message.reply_to or "").strip()
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    name = single_line(outbox_message.sender_name, 200)
    if name:
        # The office's name with the configured address; Flask-Mail encodes the name.
        sender = (name, _sender_address(sender))
    headers = {"X-CRM-Outbox-Id": str(outbox_message.id)}
    if outbox_message.kind not in PERSONAL_KINDS:
        # Receipts, notices and reminders are written by the app, not a person: other
        # systems' auto-responders must not answer them (RFC 3834), so two cannot loop.
        headers["Auto-Submitted"] = "auto-generated"
    # Stored checked (mail.services.message_id_list); checked again, as every header is.
    in_reply_to = message_id_list(outbox_message.in_reply_to, limit=1)
    references = message_id_list(outbox_message.references)
    if in_reply_to:
        headers["In-Reply-To"] = in_reply_to
    if references:
        headers["References"] = references
    email = Message(
        subject=single_line(outbox_message.subject),
        recipients=[recipient],
        body=outbox_message.body_text,
        html=outbox_message.body_html or None,
        reply_to=reply_to if valid_address(reply_to) else None,
        sender=sender,
        extra_headers=headers,
    )
    if outbox_message.message_id and valid_message_id(outbox_message.message_id):
        email.msgId = outbox_message.message_id
    else:
        email.msgId = _message_id(outbox_message, sender)
    return email


def _sender_address(sender):
    return sender[1] if isinstance(sender, tuple) else parseaddr(sender)[1]


def _message_id(outbox_message, sender):
    """The same Message-ID on every attempt, so a receiving server can drop a duplicate."""
    address = _sender_address(sender)
    domain = address.rpartition("@")[2] or "localhost"
    created = outbox_message.created_at.strftime("%Y%m%d%H%M%S")
    return f"<crm-outbox-{outbox_message.id}.{created}@{domain}>"
