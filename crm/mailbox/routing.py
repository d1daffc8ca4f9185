"""Filing an incoming message.

STAND-IN, written for the fetcher's tests only (issue 17, helper M2): helper M1 writes the
real `file_message` (parsing, sanitising, matching to enquiries and contacts, quarantine);
at merge this file is replaced by M1's version whole. This one only stores the message once
by its Message-ID, as unmatched mail.
"""

import hashlib
from email import policy
from email.parser import BytesParser
from email.utils import parseaddr

import sqlalchemy as sa

from crm.extensions import db
from crm.mail.models import Email, EmailDirection, EmailState


def file_message(raw: bytes) -> Email:
    """Store the message (once per Message-ID) and return its row; flushes, never commits."""
    message = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
    message_id = str(message.get("Message-ID") or "").strip()
    if not message_id:
        message_id = f"<{hashlib.sha256(raw).hexdigest()}@crm.invalid>"
    stored = db.session.scalar(sa.select(Email).where(Email.message_id == message_id))
    if stored is not None:
        return stored
    email = Email(
        message_id=message_id,
        direction=EmailDirection.INCOMING,
        state=EmailState.UNMATCHED,
        subject=str(message.get("Subject") or "")[:998],
        from_address=parseaddr(str(message.get("From") or ""))[1].lower()[:254],
        size_bytes=len(raw),
    )
    db.session.add(email)
    db.session.flush()
    return email
