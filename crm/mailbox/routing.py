"""What happens to each message read from the office mailbox: `file_message(raw)`.

The rules, in order:
1. a reply to an enquiry (In-Reply-To/References name a stored e-mail of an enquiry, or the
   subject names its reference) joins that enquiry's conversation; unless it is automatic,
   its assignee is told and a waiting enquiry moves back to in progress;
2. auto-replies, bounces and list mail go no further: unmatched, never an enquiry, never a
   receipt (so two auto-responders cannot answer each other for ever);
3. a message from an active staff user (forwarded or sent in BCC) is logged as an e-mail
   activity on the contacts and organisations it names;
4. a message from anyone else outside the office becomes a new enquiry (source e-mail);
5. anything else (no usable sender, the office's own address, a former user) is unmatched.
A message that cannot be read safely is quarantined with the reason.
"""

import sqlalchemy as sa
from flask import current_app

from crm.enquiries.models import Enquiry
from crm.extensions import db
from crm.mail.models import Email, EmailDirection, EmailState
from crm.mailbox import parsing, services


def find_stored(message_id):
    return db.session.scalar(sa.select(Email).where(Email.message_id == message_id))


def file_message(raw):
    """Store the message once by its Message-ID and file it; returns its Email.

    A message seen before returns the stored row and changes nothing. Flushes, never
    commits, and never raises for bad mail: what cannot be read is quarantined, and a filing
    that fails is rolled back to a savepoint and left unmatched for a coordinator.
    """
    try:
        parsed = parsing.parse_message(raw, max_bytes=current_app.config["MAIL_MAX_MESSAGE_BYTES"])
    except parsing.Unreadable as unreadable:
        return _quarantine(raw, unreadable)

    stored = find_stored(parsed.message_id)
    if stored is not None:
        return stored
    email = Email(
        message_id=parsed.message_id,
        direction=EmailDirection.INCOMING,
        state=EmailState.UNMATCHED,
        in_reply_to=parsed.in_reply_to,
        references=" ".join(parsed.references) or None,
        subject=parsed.subject,
        from_address=parsed.from_address,
        from_name=parsed.from_name,
        to_addresses=", ".join(parsed.to),
        cc_addresses=", ".join(parsed.cc),
        body_text=parsed.body_text,
        reply_text=parsed.reply_text or None,
        body_html=parsed.body_html,
        sent_at=parsed.sent_at,
        size_bytes=parsed.size,
    )
    db.session.add(email)
    db.session.flush()
    try:
        with db.session.begin_nested():
            _route(email, parsed)
    except Exception:
        # A bug or a record that cannot take the message must not stop the mailbox: the
        # message stays, unmatched, for a coordinator.
        current_app.logger.exception("Incoming mail %s: filing failed", email.id)
        db.session.refresh(email)
        email.state = EmailState.UNMATCHED
    refused = services.store_attachments(email, parsed.attachments)
    for filename, reason in refused:
        current_app.logger.warning(
            "Incoming mail %s: attachment %r refused: %s", email.id, filename, reason
        )
    db.session.flush()
    return email


def _quarantine(raw, unreadable):
    stored = find_stored(unreadable.message_id)
    if stored is not None:
        return stored
    email = Email(
        message_id=unreadable.message_id,
        direction=EmailDirection.INCOMING,
        state=EmailState.QUARANTINED,
        quarantine_reason=parsing.clean(unreadable.reason, 500),
        subject=unreadable.subject,
        from_address=unreadable.from_address,
        size_bytes=len(raw) if isinstance(raw, bytes | bytearray) else 0,
    )
    db.session.add(email)
    db.session.flush()
    current_app.logger.warning("Incoming mail %s quarantined: %s", email.id, unreadable.reason)
    return email


def enquiry_replied_to(parsed):
    """The enquiry the message answers: by its thread headers, else by the reference in its
    subject."""
    thread = [*parsed.references, parsed.in_reply_to] if parsed.in_reply_to else parsed.references
    if thread:
        rows = db.session.execute(
            sa.select(Email.message_id, Email.enquiry_id).where(
                Email.message_id.in_(thread), Email.enquiry_id.is_not(None)
            )
        ).all()
        by_id = dict(rows)
        # The nearest message of the thread wins: In-Reply-To, then References newest first.
        for message_id in reversed(thread):
            if message_id in by_id:
                enquiry = db.session.get(Enquiry, by_id[message_id])
                if enquiry is not None and not enquiry.is_deleted:
                    return enquiry
    return services.enquiry_by_reference(parsed.subject)


def _route(email, parsed):
    automatic = parsed.is_automatic
    enquiry = enquiry_replied_to(parsed)
    if enquiry is not None:
        services.receive_reply(email, enquiry, automatic=automatic)
        return
    if automatic or not parsed.from_address:
        return
    if parsed.from_address in services.office_addresses():
        return
    sender = services.active_user_by_address(parsed.from_address)
    if sender is not None:
        services.log_as_activity(
            email, actor=None, logged_by=sender, forwarded=parsed.forwarded_addresses
        )
        return
    if services.staff_addresses([parsed.from_address]):
        return  # a former user: a coordinator decides
    services.create_enquiry_from_email(email)
