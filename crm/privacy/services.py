"""Privacy duties: the versioned notice, subject access (find and export) and erasure, and
retention. Everything here flushes and never commits.

Erasure and retention share the anonymising functions below, so a record anonymised by
either looks the same. A legal hold on a contact or enquiry stops both, for the record and
for what hangs off it (an enquiry's outbox messages, comments and e-mails, the e-mails logged
on an activity with the contact, a record's history).

Stored e-mails are deleted, never anonymised: their text is the person's own words, quoted
history and signature, which no field-by-field blanking can clean, and a blanked e-mail tells
nobody anything. Their attachments (documents) go with them, rows and files.
"""

import calendar
import enum
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from crm.activities.models import activity_contacts
from crm.core import audit
from crm.core.models import AuditEntry
from crm.core.types import utcnow
from crm.documents import services as documents
from crm.documents.models import Document
from crm.enquiries.models import Enquiry, EnquiryComment
from crm.extensions import db
from crm.mail.models import Email, OutboxMessage, OutboxStatus
from crm.organisations.models import Contact
from crm.privacy.default_notice import default_notice_text
from crm.privacy.models import PrivacyLogEntry, PrivacyNotice, PrivacySearch
from crm.settings import services as settings

# What replaces personal data. Language-neutral: it is stored, and read in both languages.
ANONYMISED = "[anonymised]"

# Fields of each kind that hold personal data; their values are scrubbed from the history.
PERSONAL_FIELDS = {
    "contacts": {"first_name", "last_name", "email", "phone", "title", "notes"},
    "enquiries": {"name", "email", "phone", "organisation_name", "message"},
}
# Fields about a record's own person (or people, for an activity's staff): in another
# record's history their values are someone else's, even where they equal the name or number
# of a person being erased.
OWN_PERSON_FIELDS = {
    **PERSONAL_FIELDS,
    "users": {"name", "email"},
    "activities": {"staff"},
}
# The columns of a stored e-mail that may hold an address: its headers and its text.
EMAIL_COLUMNS = (
    Email.from_address,
    Email.to_addresses,
    Email.cc_addresses,
    Email.subject,
    Email.body_text,
    Email.reply_text,
    Email.body_html,
)
# Columns left out of an export: derived from the others, or internal.
EXPORT_SKIPPED_COLUMNS = {"search_text", "email_domain", "submission_token"}
# How long an admin's search stays at hand for its export and erasure.
SEARCH_LIFETIME = timedelta(hours=1)


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
    months = {
        "retention_months": retention_months(),
        "email_retention_months": email_retention_months(),
    }
    try:
        with db.session.begin_nested():
            notice = PrivacyNotice(
                version=1,
                body_sv=default_notice_text("sv", **months),
                body_en=default_notice_text("en", **months),
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
    emails: list = field(default_factory=list)
    comments: list = field(default_factory=list)
    audit_entries: list = field(default_factory=list)

    KINDS = ("contacts", "enquiries", "outbox_messages", "emails", "comments", "audit_entries")

    def counts(self):
        return {kind: len(getattr(self, kind)) for kind in self.KINDS}

    @property
    def total(self):
        return sum(self.counts().values())


def normalise_address(address):
    return (address or "").strip().lower()


# An address counts where it stands whole: not after a character a local part may hold (so
# "johanna@…" is no mention of "anna@…"), nor before one a domain may hold ("….example.org");
# a full stop after it ends a sentence, not the domain. Characters as RFC 5322 and IDNA allow.
_LOCAL_PART_CHARACTER = r"[\w.!#$%&'*+/=?^`{|}~-]"
_DOMAIN_CHARACTER = r"[\w-]"


def address_pattern(address):
    """A regex finding `address` (normalised) wherever it stands as a whole address, any case."""
    return re.compile(
        f"(?<!{_LOCAL_PART_CHARACTER}){re.escape(address)}"
        f"(?!{_DOMAIN_CHARACTER}|\\.{_DOMAIN_CHARACTER})",
        re.IGNORECASE,
    )


def _may_hold(column, *texts):
    """A cheap SQL pre-filter: the column holds every ASCII stretch of each text, any case.

    Only ASCII, because SQLite's lower() folds nothing else: so on either database it lets
    through every row the exact check in Python accepts (and more), and that check decides.
    In stored JSON a non-ASCII letter reads \\u00e5, which splits the text the same way.
    """
    runs = {
        run.lower() for text in texts for run in re.split(r"[^\x00-\x7f]+", text) if run.strip()
    }
    return sa.and_(
        sa.true(), *(sa.func.lower(column).contains(run, autoescape=True) for run in sorted(runs))
    )


def _holds(value, pattern):
    return isinstance(value, str) and pattern.search(value) is not None


def find_records(address):
    """Every contact, enquiry, outbox message, stored e-mail, comment and history entry
    holding `address`."""
    address = normalise_address(address)
    hits = Hits()
    if not address:
        return hits
    pattern = address_pattern(address)
    hits.contacts = _holding(Contact, [Contact.email, Contact.notes], address, pattern)
    hits.enquiries = _holding(Enquiry, [Enquiry.email, Enquiry.message], address, pattern)
    # The person's own enquiries: their messages (a coordinator's notice, say) and comments
    # are about them even where the address is not written out.
    own_enquiry_ids = {
        enquiry.id for enquiry in hits.enquiries if normalise_address(enquiry.email) == address
    }
    hits.outbox_messages = _holding(
        OutboxMessage,
        [
            OutboxMessage.recipient,
            OutboxMessage.reply_to,
            OutboxMessage.subject,
            OutboxMessage.body_text,
            OutboxMessage.body_html,
            OutboxMessage.last_error,
        ],
        address,
        pattern,
        own_enquiry_ids=own_enquiry_ids,
    )
    hits.emails = _holding(Email, EMAIL_COLUMNS, address, pattern, own_enquiry_ids=own_enquiry_ids)
    hits.comments = _holding(
        EnquiryComment, [EnquiryComment.body], address, pattern, own_enquiry_ids=own_enquiry_ids
    )
    hits.audit_entries = _history_holding(address, pattern)
    return hits


def _holding(model, columns, address, pattern, *, own_enquiry_ids=None):
    """The `model` rows, by id, whose `columns` hold `address`, or that belong to one of
    `own_enquiry_ids`."""
    condition = sa.or_(*(_may_hold(column, address) for column in columns))
    if own_enquiry_ids:
        condition = sa.or_(model.enquiry_id.in_(sorted(own_enquiry_ids)), condition)
    rows = db.session.scalars(sa.select(model).where(condition).order_by(model.id))
    return [
        row
        for row in rows
        if (own_enquiry_ids and row.enquiry_id in own_enquiry_ids)
        or any(_holds(getattr(row, column.key), pattern) for column in columns)
    ]


def _history_holding(address, pattern, identity=None):
    """Every history entry, of any record, holding `address` (where `pattern` finds it) or a
    value that is one of the person's `identity` ({_identity_key(text): text})."""
    identity = identity or {}
    changes_text = sa.cast(AuditEntry.changes, sa.Text)
    candidates = [_may_hold(changes_text, address)]
    candidates += [_may_hold(changes_text, *text.split()) for text in identity.values()]
    entries = db.session.scalars(
        sa.select(AuditEntry).where(sa.or_(*candidates)).order_by(AuditEntry.id)
    )
    return [entry for entry in entries if _scrub_mentions(entry, pattern, identity) is not None]


def export_data(address, hits):
    """Everything in `hits` as JSON-ready data: each record's stored columns, and no others;
    an e-mail's attachments by name and type (the files are not in it)."""
    data = {
        "email": normalise_address(address),
        "exported_at": utcnow().isoformat(),
        **{kind: [_row(record) for record in getattr(hits, kind)] for kind in Hits.KINDS},
    }
    attachments = email_attachments(hits.emails)
    for row in data["emails"]:
        row["attachments"] = [
            {
                "file_name": document.original_filename,
                "content_type": document.content_type,
                "size_bytes": document.size_bytes,
            }
            for document in attachments.get(row["id"], [])
        ]
    return data


def email_attachments(emails):
    """{e-mail id: its attachments (documents, deleted ones too), in order}."""
    ids = sorted({email.id for email in emails})
    found = {}
    if not ids:
        return found
    for document in db.session.scalars(
        sa.select(Document).where(Document.email_id.in_(ids)).order_by(Document.id)
    ):
        found.setdefault(document.email_id, []).append(document)
    return found


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


# ---------------------------------------------------------------- the admin's current search


def start_search(address, *, actor):
    """Keep `address` as `actor`'s current search, instead of any earlier one; returns the
    random token that stands for it in the session (see PrivacySearch)."""
    _forget_searches(PrivacySearch.user_id == actor.id)
    token = secrets.token_urlsafe(32)
    db.session.add(PrivacySearch(token=token, user_id=actor.id, email=normalise_address(address)))
    db.session.flush()
    return token


def current_search(token, *, actor):
    """The address of `actor`'s search that `token` stands for, unless it has expired."""
    if not isinstance(token, str):
        return None
    return db.session.scalar(
        sa.select(PrivacySearch.email).where(
            PrivacySearch.token == token,
            PrivacySearch.user_id == actor.id,
            PrivacySearch.created_at > utcnow() - SEARCH_LIFETIME,
        )
    )


def end_search(token, *, actor):
    if isinstance(token, str):
        _forget_searches(sa.and_(PrivacySearch.token == token, PrivacySearch.user_id == actor.id))


def _forget_searches(condition):
    """Delete the searches matching `condition`, and every expired one with them."""
    db.session.execute(
        sa.delete(PrivacySearch).where(
            sa.or_(condition, PrivacySearch.created_at <= utcnow() - SEARCH_LIFETIME)
        )
    )


# ---------------------------------------------------------------- legal holds


def held_reason(record):
    """Why `record` may not be erased or anonymised (a legal hold on it or its enquiry), else
    None."""
    if isinstance(record, Contact | Enquiry):
        return (record.legal_hold_reason or "") if record.legal_hold else None
    if isinstance(record, OutboxMessage | EnquiryComment):
        enquiry = db.session.get(Enquiry, record.enquiry_id) if record.enquiry_id else None
        return held_reason(enquiry) if enquiry is not None else None
    if isinstance(record, Email):
        return _email_held_reason(record)
    if isinstance(record, AuditEntry):
        model = {"contacts": Contact, "enquiries": Enquiry, "emails": Email}.get(record.entity_type)
        owner = db.session.get(model, record.entity_id) if model else None
        return held_reason(owner) if owner is not None else None
    return None


def _email_held_reason(email):
    """An e-mail is held with its enquiry, or when logged as an activity with a held contact."""
    enquiry = db.session.get(Enquiry, email.enquiry_id) if email.enquiry_id else None
    if enquiry is not None and enquiry.legal_hold:
        return enquiry.legal_hold_reason or ""
    if email.activity_id is not None:
        reason = db.session.execute(
            sa.select(Contact.legal_hold_reason)
            .join(activity_contacts, activity_contacts.c.contact_id == Contact.id)
            .where(activity_contacts.c.activity_id == email.activity_id, Contact.legal_hold)
            .order_by(Contact.id)
            .limit(1)
        ).first()
        if reason is not None:
            return reason[0] or ""
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
    """Remove the sender from an enquiry, its comments and its outbox messages, and delete its
    e-mails (the conversation is the sender's words) with their attachments.

    Returns the counts of what changed: {"enquiries": 0 or 1, "outbox_messages", "emails",
    "documents"}; nothing happens to a held enquiry.
    """
    counts = {"enquiries": 0, "outbox_messages": 0, "emails": 0, "documents": 0}
    if enquiry.legal_hold:
        return counts
    for message in db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.enquiry_id == enquiry.id)
    ):
        counts["outbox_messages"] += anonymise_outbox_message(message)
    emails = db.session.scalars(sa.select(Email).where(Email.enquiry_id == enquiry.id)).all()
    _add_counts(counts, delete_emails(emails))
    if enquiry.anonymised_at is not None:
        return counts
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
    counts["enquiries"] = 1
    return counts


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


def delete_emails(emails):
    """Delete stored e-mails for good, with their attachments (rows now, files once the
    transaction commits), and blank the history of both. Returns the counts deleted:
    {"emails", "documents"}."""
    emails = [email for email in emails if not _is_deleted(email)]
    if not emails:
        return {"emails": 0, "documents": 0}
    email_ids = [email.id for email in emails]
    attachments = [document for found in email_attachments(emails).values() for document in found]
    _blank_history("documents", [document.id for document in attachments])
    _blank_history("emails", email_ids)
    documents.purge_documents(attachments)
    for email in emails:
        db.session.delete(email)
    db.session.flush()
    return {"emails": len(emails), "documents": len(attachments)}


def _is_deleted(record):
    state = sa.inspect(record)
    return state.deleted or state.was_deleted


def _blank_history(entity_type, entity_ids):
    """Blank every value in the history of deleted records: with the record gone, no value in
    it is needed, and any may be personal (a subject, a file name). Which fields changed
    stays."""
    if not entity_ids:
        return
    entries = db.session.scalars(
        sa.select(AuditEntry).where(
            AuditEntry.entity_type == entity_type, AuditEntry.entity_id.in_(sorted(entity_ids))
        )
    )
    for entry in entries:
        changes = entry.changes or {}
        blanked = {
            key: [None if item in (None, "") else ANONYMISED for item in value]
            if isinstance(value, list)
            else ANONYMISED
            for key, value in changes.items()
        }
        if blanked != changes:
            entry.changes = blanked


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


def _identity_key(text):
    return " ".join(text.split()).lower()


def _replace_identity(value, identity):
    """`value` with every text that is wholly one of `identity` (a name, a phone number)
    replaced. Whole values only: other records name a person as a value of their own (an
    activity's contacts, an enquiry's contact), and a name inside running text may be
    someone else's ("Anna" in "Anna Berg")."""
    if isinstance(value, str):
        return ANONYMISED if _identity_key(value) in identity else value
    if isinstance(value, list):
        return [_replace_identity(item, identity) for item in value]
    if isinstance(value, dict):
        return {key: _replace_identity(item, identity) for key, item in value.items()}
    return value


def _note_identity(identity, *texts):
    """Add the names and phone numbers about to be erased to `identity`."""
    for text in texts:
        if text and text.strip() and text != ANONYMISED:
            identity[_identity_key(text)] = text


def _scrub_mentions(entry, pattern, identity):
    """`entry`'s changes without the address and the person's names and numbers, or None when
    it holds none. Another person's own fields keep their values: a colleague with the same
    switchboard number, or a one-word name that is also someone's surname, is someone else."""
    others = OWN_PERSON_FIELDS.get(entry.entity_type, set())
    changes = _replace_address(entry.changes or {}, pattern)
    changes = {
        key: value if key in others else _replace_identity(value, identity)
        for key, value in changes.items()
    }
    return changes if changes != entry.changes else None


@dataclass
class ErasureResult:
    counts: dict
    held: list  # [(record, reason)] left untouched


def erase(address, *, actor):
    """Anonymise or delete every record holding `address`, except what a legal hold keeps,
    and take the person out of every record's history."""
    address = normalise_address(address)
    pattern = address_pattern(address)
    hits = find_records(address)
    counts = dict.fromkeys(Hits.KINDS, 0)
    counts["documents"] = 0  # the erased e-mails' attachments
    held = []
    # Her names and numbers from the records anonymised below, as other records' history
    # names her with them ("Contacts: — → Anna Lind" on an activity).
    identity = {}

    for contact in hits.contacts:
        if contact.legal_hold:
            held.append((contact, contact.legal_hold_reason))
        elif normalise_address(contact.email) == address:
            _note_identity(identity, contact.full_name, contact.phone)
            counts["contacts"] += int(anonymise_contact(contact, actor=actor))
        else:
            # Someone else's contact whose notes mention the address: only the address goes.
            contact.notes = pattern.sub(ANONYMISED, contact.notes or "")
            counts["contacts"] += 1
    for enquiry in hits.enquiries:
        if enquiry.legal_hold:
            held.append((enquiry, enquiry.legal_hold_reason))
        elif normalise_address(enquiry.email) == address:
            _note_identity(identity, enquiry.name, enquiry.phone)
            _add_counts(counts, anonymise_enquiry(enquiry, actor=actor))
        else:
            enquiry.message = pattern.sub(ANONYMISED, enquiry.message or "")
            counts["enquiries"] += 1
    for message in hits.outbox_messages:
        reason = held_reason(message)
        if reason is not None:
            held.append((message, reason))
        else:
            counts["outbox_messages"] += anonymise_outbox_message(message)
    erased_emails = []
    for email in hits.emails:
        # Those on her own enquiries went with them above.
        if _is_deleted(email):
            continue
        reason = held_reason(email)
        if reason is not None:
            held.append((email, reason))
        else:
            erased_emails.append(email)
    _add_counts(counts, delete_emails(erased_emails))
    for comment in hits.comments:
        reason = held_reason(comment)
        if reason is not None:
            held.append((comment, reason))
        elif pattern.search(comment.body or ""):
            comment.body = pattern.sub(ANONYMISED, comment.body)
            counts["comments"] += 1
    db.session.flush()
    # History entries last, of every record: anonymising above has scrubbed her own records'.
    for entry in _history_holding(address, pattern, identity):
        reason = held_reason(entry)
        if reason is not None:
            held.append((entry, reason))
            continue
        scrubbed = _scrub_mentions(entry, pattern, identity)
        if scrubbed is not None:
            entry.changes = scrubbed
            counts["audit_entries"] += 1
    counts["held"] = len(held)
    if not held:
        # Nothing holds the address any more, so neither may the searches for it; with records
        # left under a hold, the search stays for the admin to come back to.
        _forget_searches(PrivacySearch.email == address)
    db.session.flush()
    return ErasureResult(counts=counts, held=held)


def _add_counts(counts, more):
    for key, value in more.items():
        counts[key] = counts.get(key, 0) + value


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
    return _months_setting("retention_months")


def email_retention_months():
    """How long logged, unmatched, discarded and quarantined e-mail is kept."""
    return _months_setting("email_retention_months")


def _months_setting(key):
    try:
        months = int(settings.get(key))
    except (TypeError, ValueError):
        months = settings.DEFAULTS[key]
    return max(months, 1)


def apply_retention(*, now=None, actor=None):
    """Anonymise enquiries closed more than the retention period ago, with their outbox
    messages, and delete their e-mails; delete the e-mails on no enquiry (logged as activities,
    unmatched, discarded, quarantined) received more than the e-mail retention period ago, and
    any left on an anonymised enquiry. What a legal hold covers is kept. Running it again
    changes nothing."""
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
    counts = {"enquiries": 0, "outbox_messages": 0, "emails": 0, "documents": 0, "held": 0}
    for enquiry in due:
        if enquiry.legal_hold:
            counts["held"] += 1
            continue
        _add_counts(counts, anonymise_enquiry(enquiry, actor=actor))
    _apply_email_retention(now, counts)
    log(
        "retention",
        {
            **counts,
            "retention_months": retention_months(),
            "email_retention_months": email_retention_months(),
        },
        actor=actor,
    )
    # Searches an admin left behind go too, so no address waits in them for long.
    _forget_searches(sa.false())
    db.session.flush()
    return counts


def _apply_email_retention(now, counts):
    """Delete the e-mails due under the e-mail retention period (see apply_retention)."""
    cutoff = months_before(now, email_retention_months())
    anonymised_enquiries = sa.select(Enquiry.id).where(Enquiry.anonymised_at.is_not(None))
    due = db.session.scalars(
        sa.select(Email)
        .where(
            sa.or_(
                sa.and_(Email.enquiry_id.is_(None), Email.received_at < cutoff),
                Email.enquiry_id.in_(anonymised_enquiries),
            )
        )
        .order_by(Email.id)
    ).all()
    kept = [email for email in due if held_reason(email) is not None]
    counts["held"] += len(kept)
    kept_ids = {email.id for email in kept}
    _add_counts(counts, delete_emails(email for email in due if email.id not in kept_ids))


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
