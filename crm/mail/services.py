"""The outbox: messages are queued in the transaction that causes them and sent later.

Queueing never talks to a mail server, so an outage loses nothing; `crm send-mail`
delivers what is due (see crm/mail/sending.py).
"""

import re

import sqlalchemy as sa

from crm.extensions import db
from crm.mail.models import Email, EmailState, OutboxMessage

# A plausible single address: no spaces, no CR/LF, no commas or angle brackets that could
# smuggle in a second recipient or a header.
_ADDRESS = re.compile(r"^[^\s@,;<>\"']+@[^\s@,;<>\"']+\.[^\s@,;<>\"']+$")


class InvalidRecipient(ValueError):
    pass


def single_line(text, limit=300):
    """Text that is safe in a mail header: CR, LF and other control characters become spaces."""
    cleaned = "".join(" " if ord(char) < 32 or ord(char) == 127 else char for char in text or "")
    return " ".join(cleaned.split())[:limit]


def valid_address(address):
    return bool(address) and len(address) <= 254 and bool(_ADDRESS.match(address))


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
):
    recipient = (recipient or "").strip()
    if not valid_address(recipient):
        raise InvalidRecipient(recipient)
    if reply_to is not None and not valid_address(reply_to.strip()):
        reply_to = None
    return {
        "kind": kind,
        "recipient": recipient,
        "subject": single_line(subject),
        "body_text": body_text,
        "body_html": body_html,
        "language": language,
        "enquiry_id": enquiry_id,
        "reply_to": reply_to.strip() if reply_to else None,
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
