"""The outbox: messages are queued in the transaction that causes them and sent later.

Queueing never talks to a mail server, so an outage loses nothing; `crm send-mail`
delivers what is due (see crm/mail/sending.py).
"""

import re
from email.utils import make_msgid

import sqlalchemy as sa

from crm.extensions import db
from crm.mail.models import Email, EmailState, OutboxMessage

# A plausible single address: no spaces, no CR/LF, no commas or angle brackets that could
# smuggle in a second recipient or a header.
_ADDRESS = re.compile(r"^[^\s@,;<>\"']+@[^\s@,;<>\"']+\.[^\s@,;<>\"']+$")


# One Message-ID as in the header: <left@right>, nothing that could end the header.
_MESSAGE_ID = re.compile(r"<[^\s<>@]+@[^\s<>@]+>")
# The References header keeps the first message and the newest ones when a thread grows long.
MAX_REFERENCES = 20


class InvalidRecipient(ValueError):
    pass


class InvalidHeader(ValueError):
    """A header value that cannot be sent as it is (e.g. a malformed Message-ID)."""


def single_line(text, limit=300):
    """Text that is safe in a mail header: CR, LF and other control characters become spaces."""
    cleaned = "".join(" " if ord(char) < 32 or ord(char) == 127 else char for char in text or "")
    return " ".join(cleaned.split())[:limit]


def valid_address(address):
    return bool(address) and len(address) <= 254 and bool(_ADDRESS.match(address))


def valid_message_id(value):
    return bool(value) and len(value) <= 998 and bool(_MESSAGE_ID.fullmatch(value))


def message_id_list(text, limit=MAX_REFERENCES):
    """The well-formed Message-IDs in `text`, space-separated, without repeats: safe as an
    In-Reply-To or References header, whatever an incoming message put there. Beyond `limit`,
    the first and the newest are kept (as RFC 5322 suggests)."""
    found = list(dict.fromkeys(_MESSAGE_ID.findall(text or "")))
    if len(found) > limit:
        found = found[:1] + found[len(found) - limit + 1 :]
    return " ".join(found)


def make_message_id(sender_address):
    """A new, globally unique Message-ID on the sender's domain, e.g. <…@example.org>."""
    domain = sender_address.rpartition("@")[2] if sender_address else ""
    return make_msgid(idstring="crm", domain=domain or "localhost")


def queue_message(**message):
    """Add one message to the outbox (flushes, never commits). The arguments, and the checks
    made on them, are those of _message_values: headers are made single-line, and a
    recipient that is not exactly one address is refused."""
    message = OutboxMessage(**_message_values(**message))
    db.session.add(message)
    db.session.flush()
    return message


def queue_messages(messages):
    """Add several messages (dicts of queue_message's arguments) in one insert, checked as
    queue_message checks them; in the caller's transaction."""
    rows = [_message_values(**message) for message in messages]
    if rows:
        # The columns' own defaults (pending, no attempts, due now) fill in the rest.
        db.session.execute(_INSERT_MESSAGE, rows)


_INSERT_MESSAGE = sa.insert(OutboxMessage.__table__)


def _message_values(
    *,
    kind,
    recipient,
    subject,
    body_text,
    body_html=None,
    language="sv",
    enquiry_id=None,
    reply_to=None,
    sender_name=None,
    message_id=None,
    in_reply_to=None,
    references=None,
):
    recipient = (recipient or "").strip()
    if not valid_address(recipient):
        raise InvalidRecipient(recipient)
    if reply_to is not None and not valid_address(reply_to.strip()):
        reply_to = None
    if message_id is not None and not valid_message_id(message_id):
        raise InvalidHeader("message_id")
    return {
        "kind": kind,
        "recipient": recipient,
        "subject": single_line(subject),
        "body_text": body_text,
        "body_html": body_html,
        "language": language,
        "enquiry_id": enquiry_id,
        "reply_to": reply_to.strip() if reply_to else None,
        "sender_name": single_line(sender_name, 200) or None,
        "message_id": message_id,
        "in_reply_to": message_id_list(in_reply_to, limit=1) or None,
        "references": message_id_list(references) or None,
    }


def filed_emails(*, enquiry_ids=None, activity_ids=None, address=None):
    """The filed e-mails on one of `enquiry_ids` or `activity_ids` (selects of ids), or that
    name `address` in From, To or Cc, as an unordered select."""
    conditions = []
    if enquiry_ids is not None:
        conditions.append(Email.enquiry_id.in_(enquiry_ids))
    if activity_ids is not None:
        conditions.append(Email.activity_id.in_(activity_ids))
    if address:
        address = address.strip().lower()
        conditions.append(Email.from_address == address)
        for column in (Email.to_addresses, Email.cc_addresses):
            # The lists are "a, b" (see Email): pad them so a whole address is matched.
            padded = sa.literal(",") + sa.func.replace(column, " ", "") + sa.literal(",")
            conditions.append(padded.contains(f",{address},", autoescape=True))
    return sa.select(Email).where(Email.state == EmailState.FILED, sa.or_(sa.false(), *conditions))


def emails_on_activity(activity):
    """The e-mails logged as `activity`, oldest first (an e-mail activity's own message)."""
    return db.session.scalars(
        filed_emails(activity_ids=[activity.id]).order_by(Email.received_at, Email.id)
    ).all()
