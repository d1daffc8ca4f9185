"""Receiving an enquiry from the public form: the record, its consent and its e-mails.

Everything here flushes and never commits; the contact view commits once, so the enquiry and
its outbox messages are stored together or not at all.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from blinker import Namespace
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from crm.auth.models import Role, User
from crm.core import audit
from crm.core.links import external_url
from crm.core.types import utcnow
from crm.enquiries.models import Enquiry, EnquirySource, EnquiryStatus
from crm.extensions import db
from crm.mail import services as mail
from crm.mail.models import OutboxMessage
from crm.organisations.models import OrganisationKind
from crm.settings import services as settings
from crm.settings.models import ConsentText

# The settings office_name(language) reads: read with others, they cost no query of their own.
OFFICE_NAME_KEYS = ("office_name", "office_name_sv", "office_name_en")


def default_consent_body(language):
    """The built-in privacy notice, used until an admin writes one."""
    values = settings.get_many(["data_controller", *OFFICE_NAME_KEYS])
    controller = values["data_controller"] or settings.office_name(language, values)
    with force_locale(language):
        return _(
            "By sending this form, you agree that %(controller)s processes your personal data "
            "(name, contact details and what you write) in order to answer and follow up your "
            "enquiry. The data is kept while the matter is open and for a limited time after "
            "that. You have the right to know what data we hold about you and to ask for it to "
            "be corrected or erased.",
            controller=controller,
        )


def current_consent_text(language):
    """The newest consent text in `language`; version 1 from the built-in text if there is none.

    May add a row (flushed): the caller commits. Two first visitors at once can both try to
    add version 1; the loser's commit fails on the unique (version, language) and it reads
    the winner's row after a rollback.
    """
    text = settings.newest_consent_text(language)
    if text is None:
        text = ConsentText(version=1, language=language, body=default_consent_body(language))
        db.session.add(text)
        db.session.flush()
    return text


_consent_texts = ConsentText.__table__
_CONSENT_TEXT = sa.select(
    _consent_texts.c.id, _consent_texts.c.language, _consent_texts.c.body
).where(_consent_texts.c.id == sa.bindparam("consent_text_id"))


def consent_text_shown(consent_text_id, language):
    """The consent text (id, language, body) a form said it showed, if it exists and is in
    the form's language."""
    try:
        consent_text_id = int(consent_text_id)
    except (TypeError, ValueError):
        return None
    if not 0 < consent_text_id < 2**31:
        return None
    text = db.session.execute(_CONSENT_TEXT, {"consent_text_id": consent_text_id}).first()
    if text is None or text.language != language:
        return None
    return text


_RECEIPT_KIND = "enquiry_receipt"


@dataclass(frozen=True)
class Received:
    """A stored enquiry as its sender is told about it."""

    id: int
    reference: str
    received_at: datetime


# The statements of the intake, built once (it is the busiest write there is).
_enquiries = Enquiry.__table__
_other_enquiry = _enquiries.alias("other_enquiry")
_FIND_BY_TOKEN = sa.select(_enquiries.c.id, _enquiries.c.reference, _enquiries.c.received_at).where(
    _enquiries.c.submission_token == sa.bindparam("submission_token")
)
_INSERT_ENQUIRY = sa.insert(_enquiries)
_new_reference = sa.bindparam("new_reference")
# Set the reference unless another enquiry (imported, say) has it already.
_SET_REFERENCE = (
    sa.update(_enquiries)
    .where(
        _enquiries.c.id == sa.bindparam("enquiry_id"),
        ~sa.select(_other_enquiry.c.id)
        .where(_other_enquiry.c.reference == _new_reference)
        .exists(),
    )
    .values(reference=_new_reference)
)
_outbox = OutboxMessage.__table__
# Receipts queued to one address since a moment. The kind is written out, not bound, so that
# the partial index ix_outbox_messages_receipts (whose condition it is) can serve the count.
_RECEIPTS_SINCE = (
    sa.select(sa.func.count())
    .select_from(_outbox)
    .where(
        _outbox.c.kind == sa.literal_column(f"'{_RECEIPT_KIND}'"),
        _outbox.c.recipient == sa.bindparam("recipient"),
        _outbox.c.created_at > sa.bindparam("since"),
    )
)


def find_by_submission_token(submission_token):
    """The enquiry a form token already stored, as Received, or None."""
    row = db.session.execute(_FIND_BY_TOKEN, {"submission_token": submission_token}).first()
    return Received(*row) if row is not None else None


_signals = Namespace()
# Sent once an enquiry from the form is inserted, in its transaction, with the new enquiry as
# the sender: a plain object with its id and the columns' values. It was written without the
# ORM, so the ORM's session events never see it; the search index listens here instead.
enquiry_submitted = _signals.signal("enquiry-submitted")


def submit_enquiry(data, *, language, privacy_notice_id, source=EnquirySource.WEB):
    """Store an enquiry from the public form and queue its receipt and coordinator notices.

    `data` holds the form's fields plus `consent_text_id` and `submission_token`;
    `privacy_notice_id` is the privacy notice version the form links to now. A second submit
    with the same token returns the first enquiry and queues nothing. An enquiry read from
    the office mailbox (`source` EMAIL, crm/mailbox/) comes without a token or a consent
    text: it is stored once by its Message-ID there, and no form asked for consent. The
    sender's IP address is never asked for (data minimisation).
    Returns Received. Raises mail.InvalidRecipient when the sender's address cannot take a
    receipt.

    Anyone can type someone else's address into the form, so the receipt carries nothing the
    sender typed, and an address is sent at most CONTACT_RECEIPTS_PER_ADDRESS_PER_DAY of them
    in 24 hours; past that the enquiry is stored and notified as ever, without a receipt.

    This is the one write a stranger can make, and the busiest. Everything that only reads or
    renders (the settings, the recipients, the e-mails) is done before the first write, so
    the transaction holds its locks (all of SQLite's database) only for a burst of plain
    inserts: the enquiry, its history entry, its search entry (added by the listener to
    enquiry_submitted) and its messages, each row once. The e-mails are rendered with a
    marker where the reference and the staff link go, filled in once the insert has given the
    enquiry its id.
    """
    token = data.get("submission_token")
    existing = find_by_submission_token(token) if token is not None else None
    if existing is not None:
        return existing

    now = utcnow()
    consent_text_id = data.get("consent_text_id")
    values = {
        "submission_token": token,
        "name": data["name"],
        "email": data["email"],
        "phone": data.get("phone"),
        "organisation_name": data.get("organisation_name"),
        "organisation_type": data.get("organisation_type"),
        "topic": data["topic"],
        "message": data["message"],
        "language": language,
        "source": source,
        "consent_text_id": consent_text_id,
        "consent_given_at": now if consent_text_id is not None else None,
        "privacy_notice_id": privacy_notice_id,
        "status": EnquiryStatus.NEW,
        "received_at": now,
        "created_at": now,
        "updated_at": now,
    }
    texts = settings.get_many([*OFFICE_NAME_KEYS, "notification_recipients"])
    draft = SimpleNamespace(reference=_REFERENCE_MARK, **values)
    # Receipts to an address are counted by the address as stored, so it is stored lower-case
    # (as the form sends it anyway): the cap then holds however the address is written.
    receipt_to = (data["email"] or "").strip().lower()
    send_receipt = _receipts_left(receipt_to, now)
    messages = [_receipt(draft, receipt_to, texts)] if send_receipt else []
    messages += _notices(draft, texts, texts["notification_recipients"], link=_LINK_MARK)

    # The writes.
    enquiry_id = db.session.execute(_INSERT_ENQUIRY, values).inserted_primary_key[0]
    reference = _assign_reference(now, enquiry_id)
    enquiry = SimpleNamespace(id=enquiry_id, reference=reference, deleted_at=None, **values)
    enquiry_submitted.send(enquiry)
    # The history notes the arrival, not the sender's personal data (erasure stays simple).
    audit.record_new(
        "enquiries",
        enquiry_id,
        "create",
        changes={
            "reference": [None, reference],
            "status": [None, EnquiryStatus.NEW.value],
            "topic": [None, enquiry.topic.value],
            "language": [None, language],
        },
        at=now,
    )
    link = external_url("enquiries.detail", enquiry_id=enquiry_id)
    for message in messages:
        message["enquiry_id"] = enquiry_id
        for key in ("subject", "body_text"):
            message[key] = (
                message[key].replace(_REFERENCE_MARK, reference).replace(_LINK_MARK, link)
            )
    mail.queue_messages(messages)
    if not send_receipt:
        # Not the address: the log is no place for it, and the reference finds the enquiry.
        current_app.logger.warning(
            "Contact form: the sender's address has had its receipts for today; %s is stored "
            "without one",
            reference,
        )
    return Received(enquiry_id, reference, now)


def _receipts_left(address, now):
    """Whether `address` may have another receipt: fewer than the cap in the last 24 hours."""
    limit = current_app.config["CONTACT_RECEIPTS_PER_ADDRESS_PER_DAY"]
    if limit <= 0:
        return False
    since = now - timedelta(hours=24)
    sent = db.session.execute(_RECEIPTS_SINCE, {"recipient": address, "since": since}).scalar()
    return sent < limit


# Stand-ins for what is known only once the enquiry is inserted. Control characters, which
# no field of the form accepts, so that nothing a sender types is taken for them.
_REFERENCE_MARK = "\x1freference\x1f"
_LINK_MARK = "\x1flink\x1f"


def _assign_reference(received_at, enquiry_id):
    """ENQ-<year>-<number>, the number from the id so that concurrent submits never collide.

    Imported or demo enquiries may have taken numbers of their own; step past them. Each
    try is one statement: set the reference unless another enquiry has it.
    """
    year = received_at.astimezone(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).year
    number = enquiry_id
    while True:
        reference = f"ENQ-{year}-{number:05d}"
        result = db.session.execute(
            _SET_REFERENCE, {"enquiry_id": enquiry_id, "new_reference": reference}
        )
        if result.rowcount:
            return reference
        number += 1


def _receipt(enquiry, recipient, names):
    """The sender's receipt. It goes to whatever address was typed, so it holds only the
    office's own words: the template is given no field the sender wrote (name, message,
    organisation, phone), only the reference, the topic's label, the date and links to the
    office's own pages. `names`: the settings with the office's names (OFFICE_NAME_KEYS)."""
    office_name = settings.office_name(enquiry.language, names)
    with force_locale(enquiry.language):
        subject = _("We have received your enquiry %(reference)s", reference=enquiry.reference)
        body = render_template(
            "email/enquiry_receipt.txt",
            reference=enquiry.reference,
            topic=str(enquiry.topic.label),
            received_at=enquiry.received_at,
            office_name=office_name,
            public_link=external_url("public.index", lang=enquiry.language),
            privacy_link=external_url("privacy.notice", lang=enquiry.language),
        )
    return dict(
        kind=_RECEIPT_KIND,
        recipient=recipient,
        subject=subject,
        body_text=body,
        language=enquiry.language,
    )


def _notices(enquiry, names, configured_recipients, *, link):
    recipients = notice_recipients(configured_recipients)
    if not recipients:
        current_app.logger.warning(
            "New enquiry: no coordinator to notify (set notification_recipients or add an "
            "active coordinator)"
        )
        return []
    messages = []
    for address, language in recipients:
        office_name = settings.office_name(language, names)
        with force_locale(language):
            topic = str(enquiry.topic.label)
            organisation_type = _organisation_type_label(enquiry.organisation_type)
            # No sender's name in the subject: it is typed by a stranger.
            subject = _(
                "New enquiry %(reference)s: %(topic)s", reference=enquiry.reference, topic=topic
            )
            body = render_template(
                "email/enquiry_notice.txt",
                enquiry=enquiry,
                topic=topic,
                organisation_type=organisation_type,
                link=link,
                office_name=office_name,
            )
        messages.append(
            dict(
                kind="enquiry_notice",
                recipient=address,
                subject=subject,
                body_text=body,
                language=language,
            )
        )
    return messages


_users = User.__table__
_ACTIVE_COORDINATORS = (
    sa.select(_users.c.email, _users.c.language)
    .where(_users.c.role == Role.COORDINATOR, _users.c.active.is_(True))
    .order_by(_users.c.id)
)
_USERS_BY_ADDRESS = sa.select(_users.c.email, _users.c.language).where(
    _users.c.email.in_(sa.bindparam("addresses", expanding=True))
)


def notice_recipients(configured):
    """[(address, language)] to tell about a new enquiry: `configured` (the
    notification_recipients setting), else every active coordinator. A bad address in the
    setting is skipped with a warning, so a settings mistake never stops the public form."""
    default_language = current_app.config["BABEL_DEFAULT_LOCALE"]
    configured = configured or []
    if isinstance(configured, str):
        configured = [configured]
    recipients = {}
    if configured:
        addresses = [str(address).strip().lower() for address in configured]
        users = db.session.execute(_USERS_BY_ADDRESS, {"addresses": addresses}).all()
        languages = {email.lower(): language for email, language in users}
        for address in addresses:
            if not mail.valid_address(address):
                current_app.logger.warning(
                    "notification_recipients: skipping an invalid address %r", address
                )
                continue
            recipients.setdefault(address, languages.get(address) or default_language)
    else:
        coordinators = db.session.execute(_ACTIVE_COORDINATORS).all()
        for email, language in coordinators:
            if mail.valid_address(email):
                recipients.setdefault(email.lower(), language or default_language)
    languages = current_app.config["LANGUAGES"]
    return [
        (address, language if language in languages else default_language)
        for address, language in recipients.items()
    ]


def _organisation_type_label(value):
    if not value:
        return None
    try:
        return str(OrganisationKind(value).label)
    except ValueError:
        return value
