"""Privacy duties: the versioned notice, subject access (find and export) and erasure, and
retention. Everything here flushes and never commits.

Erasure and retention share the anonymising functions below, so a record anonymised by
either looks the same. A legal hold on a contact or enquiry stops both, for the record and
for what hangs off it (an enquiry's outbox messages and comments, a record's history).
"""

import calendar
import enum
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from crm.core import audit
from crm.core.models import AuditEntry
from crm.core.types import utcnow
from crm.enquiries.models import Enquiry, EnquiryComment
from crm.extensions import db
from crm.mail.models import OutboxMessage, OutboxStatus
from crm.organisations.models import Contact
from crm.privacy.default_notice import default_notice_text
from crm.settings import services as settings
from crm.settings.models import PrivacyLogEntry, PrivacyNotice

# What replaces personal data. Language-neutral: it is stored, and read in both languages.
ANONYMISED = "[anonymised]"

# Fields of each kind that hold personal data; their values are scrubbed from the history.
PERSONAL_FIELDS = {
    "contacts": {"first_name", "last_name", "email", "phone", "title", "notes"},
    "enquiries": {"name", "email", "phone", "organisation_name", "message"},
}
# Columns left out of an export: derived from the others, or internal.
EXPORT_SKIPPED_COLUMNS = {"search_text", "submission_token"}


# ---------------------------------------------------------------- the notice


def current_notice():
    """The newest privacy notice version, or None while the built-in default applies."""
    return db.session.scalars(
        sa.select(PrivacyNotice).order_by(PrivacyNotice.version.desc()).limit(1)
    ).first()


_NEWEST_NOTICE_ID = sa.select(PrivacyNotice.id).order_by(PrivacyNotice.version.desc()).limit(1)


def notice_id_for_new_enquiry():
    """The id of notice_for_new_enquiry(), without loading the texts when there is one."""
    notice_id = db.session.execute(_NEWEST_NOTICE_ID).scalar()
    return notice_id if notice_id is not None else notice_for_new_enquiry().id


def notice_for_new_enquiry():
    """The version an enquiry sent now was shown, kept as version 1 if it is the built-in text.

    So every enquiry points at a stored text, even one sent before an admin wrote a notice.
    """
    notice = current_notice()
    if notice is not None:
        return notice
    months = retention_months()
    try:
        with db.session.begin_nested():
            notice = PrivacyNotice(
                version=1,
                body_sv=default_notice_text("sv", retention_months=months),
                body_en=default_notice_text("en", retention_months=months),
            )
            db.session.add(notice)
    except IntegrityError:
        # Another first enquiry stored version 1 at the same moment.
        notice = current_notice()
    return notice


def notice_versions():
    return db.session.scalars(sa.select(PrivacyNotice).order_by(PrivacyNotice.version.desc())).all()


def notice_by_version(version):
    return db.session.scalars(
        sa.select(PrivacyNotice).where(PrivacyNotice.version == version)
    ).first()


def publish_notice(*, body_sv, body_en, actor):
    """Add the next version of the notice; earlier versions are never changed."""
    latest = current_notice()
    notice = PrivacyNotice(
        version=(latest.version + 1) if latest else 1,
        body_sv=body_sv,
        body_en=body_en,
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(notice)
    db.session.flush()
    return notice


# ---------------------------------------------------------------- finding what is held


@dataclass
class Hits:
    """Every record holding one e-mail address, by kind."""

    contacts: list = field(default_factory=list)
    enquiries: list = field(default_factory=list)
    outbox_messages: list = field(default_factory=list)
    comments: list = field(default_factory=list)
    audit_entries: list = field(default_factory=list)

    KINDS = ("contacts", "enquiries", "outbox_messages", "comments", "audit_entries")

    def counts(self):
        return {kind: len(getattr(self, kind)) for kind in self.KINDS}

    @property
    def total(self):
        return sum(self.counts().values())


def normalise_address(address):
    return (address or "").strip().lower()


def _mentions(column, address):
    """Case-insensitive "column contains address", with % and _ in the address taken literally."""
    return sa.func.lower(column).contains(address, autoescape=True)


def find_records(address):
    """Every contact, enquiry, outbox message, comment and history entry holding `address`."""
    address = normalise_address(address)
    hits = Hits()
    if not address:
        return hits
    hits.contacts = db.session.scalars(
        sa.select(Contact)
        .where(
            sa.or_(
                sa.func.lower(Contact.email) == address,
                _mentions(Contact.notes, address),
            )
        )
        .order_by(Contact.id)
    ).all()
    hits.enquiries = db.session.scalars(
        sa.select(Enquiry)
        .where(
            sa.or_(
                sa.func.lower(Enquiry.email) == address,
                _mentions(Enquiry.message, address),
            )
        )
        .order_by(Enquiry.id)
    ).all()
    # The person's own enquiries: their messages (a coordinator's notice, say) are about them
    # even where the address is not written out.
    own_enquiry_ids = [
        enquiry.id for enquiry in hits.enquiries if normalise_address(enquiry.email) == address
    ]
    hits.outbox_messages = db.session.scalars(
        sa.select(OutboxMessage)
        .where(
            sa.or_(
                OutboxMessage.enquiry_id.in_(own_enquiry_ids),
                sa.func.lower(OutboxMessage.recipient) == address,
                _mentions(OutboxMessage.reply_to, address),
                _mentions(OutboxMessage.subject, address),
                _mentions(OutboxMessage.body_text, address),
                _mentions(OutboxMessage.body_html, address),
                _mentions(OutboxMessage.last_error, address),
            )
        )
        .order_by(OutboxMessage.id)
    ).all()
    hits.comments = db.session.scalars(
        sa.select(EnquiryComment)
        .where(
            sa.or_(
                EnquiryComment.enquiry_id.in_(own_enquiry_ids),
                _mentions(EnquiryComment.body, address),
            )
        )
        .order_by(EnquiryComment.id)
    ).all()
    # JSON is stored with non-ASCII letters escaped (å as \u00e5): look for both spellings.
    stored_forms = {address, json.dumps(address)[1:-1].lower()}
    changes_text = sa.cast(AuditEntry.changes, sa.Text)
    hits.audit_entries = db.session.scalars(
        sa.select(AuditEntry)
        .where(sa.or_(*(_mentions(changes_text, form) for form in stored_forms)))
        .order_by(AuditEntry.id)
    ).all()
    return hits


def export_data(address, hits):
    """Everything in `hits` as JSON-ready data: each record's stored columns, and no others."""
    return {
        "email": normalise_address(address),
        "exported_at": utcnow().isoformat(),
        **{kind: [_row(record) for record in getattr(hits, kind)] for kind in Hits.KINDS},
    }


def _row(record):
    mapper = sa.inspect(record).mapper
    return {
        attribute.key: _jsonable(getattr(record, attribute.key))
        for attribute in mapper.column_attrs
        if attribute.key not in EXPORT_SKIPPED_COLUMNS
    }


def _jsonable(value):
    if value is None or isinstance(value, bool | int | float | str | dict | list):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


# ---------------------------------------------------------------- legal holds


def held_reason(record):
    """Why `record` may not be erased or anonymised (a legal hold on it or its enquiry), else
    None."""
    if isinstance(record, Contact | Enquiry):
        return (record.legal_hold_reason or "") if record.legal_hold else None
    if isinstance(record, OutboxMessage | EnquiryComment):
        enquiry = db.session.get(Enquiry, record.enquiry_id) if record.enquiry_id else None
        return held_reason(enquiry) if enquiry is not None else None
    if isinstance(record, AuditEntry):
        model = {"contacts": Contact, "enquiries": Enquiry}.get(record.entity_type)
        owner = db.session.get(model, record.entity_id) if model else None
        return held_reason(owner) if owner is not None else None
    return None


def set_legal_hold(record, *, reason, actor):
    """Put `record` (a contact or an enquiry) under a legal hold with `reason`."""
    record.legal_hold = True
    record.legal_hold_reason = reason
    audit.record(record, "legal_hold", actor=actor)
    return record


def clear_legal_hold(record, *, actor):
    record.legal_hold = False
    record.legal_hold_reason = None
    audit.record(record, "legal_hold_cleared", actor=actor)
    return record


# ---------------------------------------------------------------- anonymising


def anonymise_contact(contact, *, actor):
    """Remove the person from a contact; the row stays so references keep working."""
    if contact.legal_hold or contact.anonymised_at is not None:
        return False
    contact.first_name = ""
    contact.last_name = ANONYMISED
    contact.email = None
    contact.phone = None
    contact.title = None
    contact.notes = None
    contact.anonymised_at = utcnow()
    _scrub_history("contacts", contact.id)
    # The history says it happened, never what was removed.
    audit.record(contact, "anonymise", actor=actor, changes={})
    return True


def anonymise_enquiry(enquiry, *, actor):
    """Remove the sender from an enquiry, its comments and its outbox messages.

    Returns (anonymised, outbox messages anonymised); nothing happens to a held enquiry.
    """
    if enquiry.legal_hold:
        return False, 0
    outbox = 0
    for message in db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.enquiry_id == enquiry.id)
    ):
        outbox += anonymise_outbox_message(message)
    if enquiry.anonymised_at is not None:
        return False, outbox
    enquiry.name = ANONYMISED
    enquiry.email = ""
    enquiry.phone = None
    enquiry.organisation_name = None
    enquiry.message = ANONYMISED
    enquiry.anonymised_at = utcnow()
    for comment in enquiry.comments:
        # Notes about the sender's matter: they go with the sender.
        comment.body = ANONYMISED
    _scrub_history("enquiries", enquiry.id)
    audit.record(enquiry, "anonymise", actor=actor, changes={})
    return True, outbox


def anonymise_outbox_message(message):
    """Blank a message's address and text; a message not yet sent is never sent. Returns 1 if
    it changed, 0 if it was anonymised already."""
    if message.recipient == "" and message.subject == ANONYMISED:
        return 0
    message.recipient = ""
    message.reply_to = None
    message.subject = ANONYMISED
    message.body_text = ""
    message.body_html = None
    message.last_error = None
    if message.status == OutboxStatus.PENDING:
        message.status = OutboxStatus.FAILED
    return 1


def _scrub_history(entity_type, entity_id):
    """Replace the personal values in a record's history; which fields changed stays."""
    personal = PERSONAL_FIELDS[entity_type]
    entries = db.session.scalars(
        sa.select(AuditEntry).where(
            AuditEntry.entity_type == entity_type, AuditEntry.entity_id == entity_id
        )
    )
    for entry in entries:
        changes = dict(entry.changes or {})
        touched = False
        for key in list(changes):
            if key in personal:
                changes[key] = [
                    None if value in (None, "") else ANONYMISED for value in changes[key]
                ]
                touched = True
        if touched:
            entry.changes = changes


def _replace_address(value, pattern):
    if isinstance(value, str):
        return pattern.sub(ANONYMISED, value)
    if isinstance(value, list):
        return [_replace_address(item, pattern) for item in value]
    if isinstance(value, dict):
        return {key: _replace_address(item, pattern) for key, item in value.items()}
    return value


@dataclass
class ErasureResult:
    counts: dict
    held: list  # [(record, reason)] left untouched


def erase(address, *, actor):
    """Anonymise or delete every record holding `address`, except what a legal hold keeps."""
    address = normalise_address(address)
    pattern = re.compile(re.escape(address), re.IGNORECASE)
    hits = find_records(address)
    counts = dict.fromkeys(Hits.KINDS, 0)
    held = []

    for contact in hits.contacts:
        if contact.legal_hold:
            held.append((contact, contact.legal_hold_reason))
        elif normalise_address(contact.email) == address:
            counts["contacts"] += int(anonymise_contact(contact, actor=actor))
        else:
            # Someone else's contact whose notes mention the address: only the address goes.
            contact.notes = pattern.sub(ANONYMISED, contact.notes or "")
            counts["contacts"] += 1
    for enquiry in hits.enquiries:
        if enquiry.legal_hold:
            held.append((enquiry, enquiry.legal_hold_reason))
        elif normalise_address(enquiry.email) == address:
            anonymised, outbox = anonymise_enquiry(enquiry, actor=actor)
            counts["enquiries"] += int(anonymised)
            counts["outbox_messages"] += outbox
        else:
            enquiry.message = pattern.sub(ANONYMISED, enquiry.message or "")
            counts["enquiries"] += 1
    for message in hits.outbox_messages:
        reason = held_reason(message)
        if reason is not None:
            held.append((message, reason))
        else:
            counts["outbox_messages"] += anonymise_outbox_message(message)
    for comment in hits.comments:
        reason = held_reason(comment)
        if reason is not None:
            held.append((comment, reason))
        elif pattern.search(comment.body or ""):
            comment.body = pattern.sub(ANONYMISED, comment.body)
            counts["comments"] += 1
    db.session.flush()
    # History entries last: anonymising above may already have scrubbed some.
    for entry in hits.audit_entries:
        reason = held_reason(entry)
        if reason is not None:
            held.append((entry, reason))
            continue
        scrubbed = _replace_address(entry.changes or {}, pattern)
        if scrubbed != entry.changes:
            entry.changes = scrubbed
            counts["audit_entries"] += 1
    counts["held"] = len(held)
    db.session.flush()
    return ErasureResult(counts=counts, held=held)


# ---------------------------------------------------------------- retention


def months_before(moment, months):
    """The same day and time `months` calendar months earlier (the 31st becomes the month's
    last day)."""
    month_index = moment.year * 12 + (moment.month - 1) - months
    year, month = divmod(month_index, 12)
    month += 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def retention_months():
    try:
        months = int(settings.get("retention_months"))
    except (TypeError, ValueError):
        months = settings.DEFAULTS["retention_months"]
    return max(months, 1)


def apply_retention(*, now=None, actor=None):
    """Anonymise enquiries closed more than the retention period ago, with their outbox
    messages; skip those under a legal hold. Running it again changes nothing."""
    now = now or utcnow()
    cutoff = months_before(now, retention_months())
    due = db.session.scalars(
        sa.select(Enquiry)
        .where(
            Enquiry.closed_at.is_not(None),
            Enquiry.closed_at < cutoff,
            Enquiry.anonymised_at.is_(None),
        )
        .order_by(Enquiry.id)
    ).all()
    counts = {"enquiries": 0, "outbox_messages": 0, "held": 0}
    for enquiry in due:
        if enquiry.legal_hold:
            counts["held"] += 1
            continue
        anonymised, outbox = anonymise_enquiry(enquiry, actor=actor)
        counts["enquiries"] += int(anonymised)
        counts["outbox_messages"] += outbox
    log(
        "retention",
        {**counts, "retention_months": retention_months()},
        actor=actor,
    )
    db.session.flush()
    return counts


# ---------------------------------------------------------------- the log


def log(action, counts, *, actor):
    """Note a privacy action: what, how many of each kind, who — never the address."""
    entry = PrivacyLogEntry(action=action, counts=counts, actor_id=getattr(actor, "id", None))
    db.session.add(entry)
    return entry


def log_entries_select():
    return sa.select(PrivacyLogEntry).order_by(
        PrivacyLogEntry.created_at.desc(), PrivacyLogEntry.id.desc()
    )
