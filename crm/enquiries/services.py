"""Triage and work on enquiries: the inbox, suggestions, assignment, comments, status
changes and conversion into organisations and contacts. Follow-up tasks are
activities.task_services' own: an enquiry registers as a task subject (task_subjects).

Services change state, write the audit history and outbox messages, and flush; they
never commit, and never touch the request.
"""

import re
from dataclasses import dataclass
from datetime import date, timedelta
from email.utils import parseaddr

import sqlalchemy as sa
from blinker import Namespace
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from crm.activities.models import (
    Activity,
    ActivityKind,
    ActivityOrganisation,
    ActivityOrganisationRole,
    ActivityStatus,
)
from crm.activities.services import activity_created
from crm.activities.task_subjects import register_subject
from crm.auth.models import ASSIGNABLE_ROLES, Role, User, UserTopic
from crm.core import audit
from crm.core.audit import describe_fields
from crm.core.forms import FieldError
from crm.core.links import external_url
from crm.core.listing import words_match
from crm.core.text import email_domain, name_key, normalise_domain
from crm.core.types import utcnow
from crm.enquiries.models import (
    ClosedReason,
    Enquiry,
    EnquiryComment,
    EnquirySource,
    EnquiryStatus,
    ReplyTemplate,
    Topic,
)
from crm.extensions import db
from crm.mail.models import Email, EmailDirection, EmailState
from crm.mail.services import (
    make_message_id,
    message_id_list,
    queue_message,
    single_line,
    valid_address,
)
from crm.notifications import services as notifications
from crm.notifications.models import ENQUIRY_ASSIGNED
from crm.organisations import services as organisation_services
from crm.organisations.models import (
    Contact,
    LegalBasis,
    Organisation,
    OrganisationEmailDomain,
    OrganisationKind,
)
from crm.settings import services as settings

OPEN_STATUSES = (
    EnquiryStatus.NEW,
    EnquiryStatus.ASSIGNED,
    EnquiryStatus.IN_PROGRESS,
    EnquiryStatus.WAITING,
)
# Free mail services: their domain says nothing about the sender's organisation.
WEBMAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "hotmail.com", "hotmail.se", "outlook.com", "outlook.se",
        "live.com", "live.se", "msn.com", "yahoo.com", "yahoo.se", "icloud.com", "me.com",
        "mac.com", "aol.com", "proton.me", "protonmail.com", "gmx.com", "gmx.net", "mail.com",
        "telia.com", "spray.se", "bredband.net", "comhem.se", "bahnhof.se",
    }
)  # fmt: skip
MAX_COMMENT_LENGTH = 10_000
MAX_OUTCOME_LENGTH = 10_000
MAX_REPLY_LENGTH = 50_000
MAX_TEMPLATE_NAME = 100
MAX_TEMPLATE_LENGTH = 20_000

describe_fields(
    "enquiries",
    {
        "status": (_l("Status"), EnquiryStatus),
        "closed_reason": (_l("Reason for closing"), ClosedReason),
        "assignee_id": (_l("Assignee"), "user"),
        "organisation_id": (_l("Organisation"), "organisation"),
        "contact": (_l("Contact"), None),
        "topic": (_l("Topic"), Topic),
        "task": (_l("Follow-up task"), None),
        "activity": (_l("First activity"), None),
    },
)


def _enquiry_reference(enquiry_id):
    enquiry = db.session.get(Enquiry, enquiry_id)
    return enquiry.reference if enquiry is not None else None


audit.describe_references("enquiry", _enquiry_reference)

_signals = Namespace()
# Sent in the transaction of the change, the enquiry as the sender, for packages above this
# one that act on it (crm.webhooks announces it); a rollback undoes what they add.
# enquiry_assigned: with `assignee` and `actor`, whenever the assignee changes.
enquiry_assigned = _signals.signal("enquiry-assigned")
# enquiry_closed: with `actor`, when an enquiry is closed (with its reason set).
enquiry_closed = _signals.signal("enquiry-closed")


class EnquiryError(FieldError):
    """An enquiry change that cannot be made (see FieldError)."""


# ---------------------------------------------------------------- who may see what


def can_read(enquiry, user):
    """Admins and coordinators read every enquiry, members those assigned to them (SPEC §4)."""
    if enquiry is None or enquiry.is_deleted:
        return False
    if not getattr(user, "is_authenticated", False):
        return False
    if user.has_role(Role.COORDINATOR):
        return True
    return user.has_role(Role.MEMBER) and enquiry.assignee_id == user.id


def readable_enquiries(user):
    """can_read as a condition on Enquiry, for lists: the enquiries `user` may read.

    Keep the two in step: a list that shows what its detail page refuses leaks the record.
    """
    if not getattr(user, "is_authenticated", False):
        return sa.false()
    if user.has_role(Role.COORDINATOR):
        return Enquiry.deleted_at.is_(None)
    if user.has_role(Role.MEMBER):
        return sa.and_(Enquiry.deleted_at.is_(None), Enquiry.assignee_id == user.id)
    return sa.false()


def may_read_any(user):
    """Whether `user` reads enquiries at all: viewers do not, and see no enquiry list."""
    return getattr(user, "is_authenticated", False) and user.has_role(Role.MEMBER)


def enquiries_about(user, *, organisation=None, contact=None, limit):
    """The enquiries from `organisation` or `contact` that `user` may read, newest first;
    None for a user who reads no enquiries (their pages leave the section out)."""
    if not may_read_any(user):
        return None
    select = enquiries_from(organisation=organisation, contact=contact).where(
        readable_enquiries(user)
    )
    return db.session.scalars(
        select.order_by(Enquiry.received_at.desc(), Enquiry.id.desc()).limit(limit)
    ).all()


def enquiries_from(*, organisation=None, contact=None):
    """The live enquiries from `organisation` or `contact`, as an unordered select, whoever
    may read them: add readable_enquiries(user) before showing them."""
    select = sa.select(Enquiry).where(Enquiry.deleted_at.is_(None))
    if organisation is not None:
        select = select.where(Enquiry.organisation_id == organisation.id)
    if contact is not None:
        select = select.where(Enquiry.contact_id == contact.id)
    return select


def _note_task(enquiry, task, *, actor):
    """A task about the enquiry shows in its history (adding one is not a response)."""
    audit.record(enquiry, "task", actor=actor, changes={"task": [None, task.title]})


register_subject(
    "enquiry_id",
    model=Enquiry,
    endpoint="enquiries.detail",
    label=_l("Enquiry"),
    name=lambda enquiry: enquiry.reference or f"#{enquiry.id}",
    may_see=can_read,
    visible=readable_enquiries,
    on_create=_note_task,
)


def may_assign(user):
    return user.has_role(Role.COORDINATOR)


# ---------------------------------------------------------------- the inbox

OPEN = "open"


@dataclass
class EnquiryFilters:
    # "open" (new, assigned, in progress or waiting for the company), one EnquiryStatus value,
    # or None for all.
    status: str | None = OPEN
    topic: str | None = None
    # A user id, "none" for the unassigned ones, or None for anyone.
    assignee: int | str | None = None
    older_than_days: int | None = None
    query: str = ""


# Unassigned first (false sorts before true), then the oldest first: what has waited longest
# for a person. Written as the indexes ix_enquiries_live_inbox and
# ix_enquiries_live_status_inbox are, so that a page is read in their order rather than every
# open enquiry sorted.
INBOX_ORDER = (
    Enquiry.assignee_id.is_not(None),
    Enquiry.received_at,
    Enquiry.id,
)


def enquiry_select(filters, *, user):
    """The enquiries the inbox shows `user` for these filters, in inbox order (unpaginated)."""
    select = sa.select(Enquiry).where(readable_enquiries(user))
    if filters.status == OPEN:
        select = select.where(Enquiry.status.in_(OPEN_STATUSES))
    elif filters.status:
        select = select.where(Enquiry.status == EnquiryStatus(filters.status))
    if filters.topic:
        select = select.where(Enquiry.topic == Topic(filters.topic))
    if filters.assignee == "none":
        select = select.where(Enquiry.assignee_id.is_(None))
    elif filters.assignee:
        select = select.where(Enquiry.assignee_id == filters.assignee)
    if filters.older_than_days:
        select = select.where(
            Enquiry.received_at <= utcnow() - timedelta(days=filters.older_than_days)
        )
    if (filters.query or "").strip():
        select = select.where(_matches_words(filters.query))
    # When everyone listed has the same assignee (a member reads only their own; a filter by
    # person or by "nobody"), the order's first key is the same on every row: left out, the
    # index of each person's enquiries by date (ix_enquiries_live_assignee_received) gives
    # the page in order, where the inbox index would be walked past everyone else's.
    one_assignee = filters.assignee or not user.has_role(Role.COORDINATOR)
    order = INBOX_ORDER[1:] if one_assignee else INBOX_ORDER
    return select.options(
        selectinload(Enquiry.assignee), selectinload(Enquiry.organisation)
    ).order_by(*order)


def _matches_words(query):
    """The search box's words, each the start of a word of the enquiry (its reference, the
    sender's name, address and organisation, the message's beginning) or of the organisation
    it is linked to: through the search index, as the search page finds them, so "Show all in
    the list" lists what the search page counted."""
    return sa.or_(
        words_match("enquiry", Enquiry.id, query),
        words_match("organisation", Enquiry.organisation_id, query),
    )


def age(enquiry, now=None):
    return (now or utcnow()) - enquiry.received_at


# ---------------------------------------------------------------- suggestions


def _open_count(user_column):
    return (
        sa.select(sa.func.count(Enquiry.id))
        .where(
            Enquiry.assignee_id == user_column,
            Enquiry.status.in_(OPEN_STATUSES),
            Enquiry.deleted_at.is_(None),
        )
        .scalar_subquery()
    )


def suggest_assignee(enquiry):
    """The active member whose topics include the enquiry's, with the fewest open enquiries
    (ties by name); None when no active member has the topic."""
    return db.session.scalar(
        sa.select(User)
        .where(
            User.active.is_(True),
            User.role == Role.MEMBER,
            User.id.in_(sa.select(UserTopic.user_id).where(UserTopic.topic == enquiry.topic)),
        )
        .order_by(_open_count(User.id), User.name, User.id)
        .limit(1)
    )


def least_loaded_member():
    """The active member with the fewest open enquiries, whatever their topics."""
    return db.session.scalar(
        sa.select(User)
        .where(User.active.is_(True), User.role == Role.MEMBER)
        .order_by(_open_count(User.id), User.name, User.id)
        .limit(1)
    )


def suggestion_for(enquiry):
    """(user, by_topic): the suggested assignee, and whether they were chosen by topic or
    only as the least busy member because nobody has the topic. (None, False) when there
    is no active member at all."""
    user = suggest_assignee(enquiry)
    if user is not None:
        return user, True
    return least_loaded_member(), False


def assignable_users():
    """[(user, open enquiries)] of everyone an enquiry may be assigned to, by name."""
    rows = db.session.execute(
        sa.select(User, _open_count(User.id))
        .where(User.active.is_(True), User.role.in_(ASSIGNABLE_ROLES))
        .order_by(User.name, User.id)
    ).all()
    return [(user, count) for user, count in rows]


def _domain_candidates(domain):
    """The domain and its parents down to two labels: mail.roche.com, roche.com."""
    labels = domain.split(".")
    return [".".join(labels[index:]) for index in range(len(labels) - 1)]


def match_organisation_and_contact(enquiry):
    """(organisation, contact, reason): the records the enquiry most likely belongs to.

    The contact is the one with the enquiry's e-mail address (any case). The organisation is
    that contact's, else the one that uses the e-mail's domain (webmail domains say nothing),
    else the one with the same name. `reason` says how the organisation, or failing that
    the contact, was found: "contact", "domain", "name", "email" (contact only) or None.
    """
    contact = None
    email = (enquiry.email or "").strip().lower()
    if email:
        contact = db.session.scalar(
            sa.select(Contact)
            .where(Contact.deleted_at.is_(None), sa.func.lower(Contact.email) == email)
            .options(selectinload(Contact.organisation))
            .order_by(Contact.id)
            .limit(1)
        )
    if contact is not None and contact.organisation is not None:
        if not contact.organisation.is_deleted:
            return contact.organisation, contact, "contact"
    organisation = _organisation_by_domain(email_domain(email))
    if organisation is not None:
        return organisation, contact, "domain"
    organisation = _organisation_by_name(enquiry.organisation_name)
    if organisation is not None:
        return organisation, contact, "name"
    return None, contact, "email" if contact is not None else None


def _organisation_by_domain(domain):
    if not domain or domain in WEBMAIL_DOMAINS:
        return None
    candidates = [name for name in _domain_candidates(domain) if name not in WEBMAIL_DOMAINS]
    if not candidates:
        return None
    rows = db.session.execute(
        sa.select(Organisation, OrganisationEmailDomain.domain)
        .join(OrganisationEmailDomain, OrganisationEmailDomain.organisation_id == Organisation.id)
        .where(Organisation.deleted_at.is_(None), OrganisationEmailDomain.domain.in_(candidates))
        .order_by(Organisation.name, Organisation.id)
    ).all()
    # The most specific domain wins: research.roche.com before roche.com.
    for candidate in candidates:
        for organisation, matched in rows:
            if matched == candidate:
                return organisation
    # Many organisations in the register have no e-mail domains recorded; their website, or
    # the addresses of the people who work there, give the domain away as well. One match
    # only: better no guess than a wrong one. Both are derived, indexed columns.
    for candidate in candidates:
        by_website = sa.select(Organisation.id).where(
            Organisation.deleted_at.is_(None), Organisation.website_domain == candidate
        )
        by_colleagues = (
            sa.select(Contact.organisation_id)
            .join(Organisation, Organisation.id == Contact.organisation_id)
            .where(
                Contact.email_domain == candidate,
                Contact.deleted_at.is_(None),
                Organisation.deleted_at.is_(None),
            )
            .distinct()
        )
        for select in (by_website, by_colleagues):
            found = db.session.scalars(select.limit(2)).all()
            if len(found) == 1:
                return db.session.get(Organisation, found[0])
    return None


def _organisation_by_name(name):
    key = name_key(name) if name else ""
    if not key:
        return None
    found = db.session.scalars(
        sa.select(Organisation)
        .where(Organisation.deleted_at.is_(None), Organisation.name_key == key)
        .limit(2)
    ).all()
    # Two organisations with the same name: better no guess than a wrong one.
    return found[0] if len(found) == 1 else None


def split_name(name):
    """(first name, last name) from the one name field of the form: the last word is the
    last name."""
    words = (name or "").split()
    if not words:
        return "", ""
    if len(words) == 1:
        return "", words[0]
    return " ".join(words[:-1]), words[-1]


# ---------------------------------------------------------------- assigning


def assign_enquiry(enquiry, assignee, *, actor):
    """Give the enquiry to `assignee` and tell them by e-mail (through the outbox).

    Returns False, changing nothing, when they already have it.
    """
    if not enquiry.status.is_open:
        raise EnquiryError(_("Only an open enquiry can be assigned."))
    if assignee is None or not assignee.active or assignee.role not in ASSIGNABLE_ROLES:
        raise EnquiryError(
            _("Enquiries can only be assigned to active members, coordinators or admins."),
            field="assignee_id",
        )
    if enquiry.assignee_id == assignee.id:
        return False
    changes = {"assignee_id": [enquiry.assignee_id, assignee.id]}
    enquiry.assignee_id = assignee.id
    enquiry.assignee = assignee
    if enquiry.status == EnquiryStatus.NEW:
        changes["status"] = [EnquiryStatus.NEW.value, EnquiryStatus.ASSIGNED.value]
        enquiry.status = EnquiryStatus.ASSIGNED
    if enquiry.assigned_at is None:
        # Time to assignment counts to the first assignment; reassigning does not reset it.
        enquiry.assigned_at = utcnow()
    audit.record(enquiry, "assign", actor=actor, changes=changes)
    if actor is None or actor.id != assignee.id:
        # Taking an enquiry yourself needs no e-mail to tell you so.
        _queue_assigned_message(enquiry, assignee, actor=actor)
        notifications.notify(assignee, ENQUIRY_ASSIGNED, enquiry=enquiry, actor=actor)
    enquiry_assigned.send(enquiry, assignee=assignee, actor=actor)
    return True


def _queue_assigned_message(enquiry, assignee, *, actor):
    language = assignee.language if assignee.language in current_app.config["LANGUAGES"] else "sv"
    reference = enquiry.reference or f"#{enquiry.id}"
    with force_locale(language):
        subject = _("Enquiry %(reference)s has been assigned to you", reference=reference)
        body = render_template(
            "email/enquiry_assigned.txt",
            enquiry=enquiry,
            reference=reference,
            assignee=assignee,
            actor=actor,
            url=external_url("enquiries.detail", enquiry_id=enquiry.id),
        )
    return queue_message(
        kind="enquiry_assigned",
        recipient=assignee.email,
        subject=subject,
        body_text=body,
        language=language,
        enquiry_id=enquiry.id,
    )


# ---------------------------------------------------------------- working an enquiry


def _mark_responded(enquiry, actor):
    """Time to first response ends at the first reply a person sends the enquirer
    (send_reply), whether or not the enquiry was assigned yet. Comments, status changes,
    conversion, assigning and tasks are work inside the office, not a response."""
    if actor is not None and enquiry.first_response_at is None:
        enquiry.first_response_at = utcnow()


def add_comment(enquiry, body, *, actor):
    body = (body or "").strip()
    if not body:
        raise EnquiryError(_("Write a comment."), field="body")
    if len(body) > MAX_COMMENT_LENGTH:
        raise EnquiryError(
            _("A comment can be at most %(count)d characters.", count=MAX_COMMENT_LENGTH),
            field="body",
        )
    author_id = getattr(actor, "id", None)
    comment = EnquiryComment(body=body, author_id=author_id, created_by_id=author_id)
    enquiry.comments.append(comment)
    # The text stays in the comment (which erasure reaches), not in the history.
    audit.record(enquiry, "comment", actor=actor, changes={})
    return comment


def status_choices(enquiry, user):
    """The statuses `user` may move the enquiry to by hand (conversion has its own form)."""
    if enquiry.status == EnquiryStatus.CONVERTED:
        return []
    if enquiry.status == EnquiryStatus.CLOSED:
        return [EnquiryStatus.IN_PROGRESS] if user.has_role(Role.COORDINATOR) else []
    choices = [EnquiryStatus.IN_PROGRESS, EnquiryStatus.WAITING, EnquiryStatus.CLOSED]
    if enquiry.assignee_id is not None:
        choices.insert(0, EnquiryStatus.ASSIGNED)
    return [status for status in choices if status != enquiry.status]


def change_status(enquiry, status, *, reason=None, actor):
    """Move the enquiry on: closing needs a reason; a closed one can be reopened (to in
    progress) by a coordinator; converting happens only through convert_enquiry."""
    try:
        status = EnquiryStatus(status)
    except ValueError:
        raise EnquiryError(_("Choose a status."), field="status") from None
    if status == EnquiryStatus.CONVERTED:
        raise EnquiryError(
            _("An enquiry is converted with the conversion form, not by its status."),
            field="status",
        )
    if enquiry.status == EnquiryStatus.CONVERTED:
        raise EnquiryError(_("A converted enquiry keeps its status."), field="status")
    if enquiry.status == EnquiryStatus.CLOSED:
        if status != EnquiryStatus.IN_PROGRESS:
            raise EnquiryError(
                _("A closed enquiry can only be reopened, to in progress."), field="status"
            )
        if actor is None or not actor.has_role(Role.COORDINATOR):
            raise EnquiryError(_("Only a coordinator can reopen a closed enquiry."), field="status")
    if status == EnquiryStatus.NEW:
        raise EnquiryError(_("An enquiry cannot be made new again."), field="status")
    if status == EnquiryStatus.ASSIGNED and enquiry.assignee_id is None:
        raise EnquiryError(_("Assign the enquiry to someone first."), field="status")
    if status == EnquiryStatus.CLOSED:
        try:
            reason = ClosedReason(reason) if reason else None
        except ValueError:
            reason = None
        if reason is None:
            raise EnquiryError(_("Choose why the enquiry is closed."), field="closed_reason")
    else:
        reason = None
    if status == enquiry.status:
        return False
    changes = {"status": [enquiry.status.value, status.value]}
    if enquiry.closed_reason != reason:
        changes["closed_reason"] = [
            enquiry.closed_reason.value if enquiry.closed_reason else None,
            reason.value if reason else None,
        ]
    enquiry.status = status
    enquiry.closed_reason = reason
    enquiry.closed_at = utcnow() if status == EnquiryStatus.CLOSED else None
    audit.record(enquiry, "status", actor=actor, changes=changes)
    if status == EnquiryStatus.CLOSED:
        enquiry_closed.send(enquiry, actor=actor)
    return True


# ---------------------------------------------------------------- replying to the enquirer


def may_reply(enquiry, user):
    """The assignee, or a coordinator or admin, writes to the enquirer from the enquiry (while
    it has their address: an anonymised one has none)."""
    if not can_read(enquiry, user) or not _has_address(enquiry):
        return False
    return user.has_role(Role.COORDINATOR) or enquiry.assignee_id == user.id


def _has_address(enquiry):
    return enquiry.anonymised_at is None and valid_address((enquiry.email or "").strip())


def conversation(enquiry):
    """The enquiry's stored e-mails (sent and received, filed on it), oldest first."""
    return db.session.scalars(
        sa.select(Email)
        .where(Email.enquiry_id == enquiry.id, Email.state == EmailState.FILED)
        .options(selectinload(Email.outbox_message))
        .order_by(sa.func.coalesce(Email.sent_at, Email.received_at), Email.id)
    ).all()


def _latest_email(enquiry):
    return db.session.scalars(
        sa.select(Email)
        .where(Email.enquiry_id == enquiry.id, Email.state == EmailState.FILED)
        .order_by(sa.func.coalesce(Email.sent_at, Email.received_at).desc(), Email.id.desc())
        .limit(1)
    ).first()


def _first_incoming(enquiry):
    return db.session.scalars(
        sa.select(Email)
        .where(Email.enquiry_id == enquiry.id, Email.direction == EmailDirection.INCOMING)
        .order_by(Email.received_at, Email.id)
        .limit(1)
    ).first()


_REPLY_PREFIX = re.compile(r"^\s*((re|sv|aw|vs|fw|fwd)\s*:\s*)+", re.IGNORECASE)


def reply_subject(enquiry):
    """The subject of a reply, "Re: ENQ-2026-00042 <subject>": the original e-mail's subject
    for an enquiry that came by e-mail, else the topic in the enquirer's language. Always with
    the reference, so the answer is matched even when a mail program drops the threading
    headers."""
    reference = enquiry.reference or f"#{enquiry.id}"
    original = _first_incoming(enquiry) if enquiry.source == EnquirySource.EMAIL else None
    if original is not None and original.subject.strip():
        about = _REPLY_PREFIX.sub("", single_line(original.subject, 250))
    else:
        language = enquiry.language if enquiry.language in current_app.config["LANGUAGES"] else "sv"
        with force_locale(language):
            about = str(enquiry.topic.label)
    if reference in about:
        return single_line(f"Re: {about}")
    return single_line(f"Re: {reference} {about}".strip())


def send_reply(enquiry, *, subject, body, actor):
    """Queue a reply to the enquirer through the outbox and store it in the enquiry's
    conversation (an Email, direction out, with the Message-ID the worker sends).

    From: the office's name with MAIL_DEFAULT_SENDER's address; Reply-To: MAIL_REPLY_ADDRESS
    (the mailbox fetch-mail reads), or the sender's address. In-Reply-To and References point
    at the latest message of the conversation. The first reply is the enquiry's first
    response; an open enquiry then waits for the company. Returns the Email.
    """
    if not _has_address(enquiry):
        raise EnquiryError(_("This enquiry has no e-mail address to reply to."))
    reference = enquiry.reference or f"#{enquiry.id}"
    subject = single_line(subject, 250)
    if not subject:
        raise EnquiryError(_("Write a subject."), field="subject")
    if reference not in subject:
        # So the company's answer still finds the enquiry if the headers are lost.
        subject = f"{subject} [{reference}]"
    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise EnquiryError(_("Write the reply."), field="body")
    if len(body) > MAX_REPLY_LENGTH:
        raise EnquiryError(
            _("A reply can be at most %(count)d characters.", count=MAX_REPLY_LENGTH),
            field="body",
        )
    config = current_app.config
    sender = config["MAIL_DEFAULT_SENDER"]
    sender_address = sender[1] if isinstance(sender, tuple) else parseaddr(sender)[1]
    reply_to = (config.get("MAIL_REPLY_ADDRESS") or "").strip()
    if not valid_address(reply_to):
        reply_to = sender_address
    office_name = single_line(settings.office_name(enquiry.language or "sv"), 200)
    message_id = make_message_id(sender_address)
    latest = _latest_email(enquiry)
    in_reply_to = references = None
    if latest is not None:
        in_reply_to = message_id_list(latest.message_id, limit=1) or None
        references = message_id_list(f"{latest.references or ''} {latest.message_id}") or None
    recipient = enquiry.email.strip()
    outbox = queue_message(
        kind="enquiry_reply",
        recipient=recipient,
        subject=subject,
        body_text=body,
        language=enquiry.language or "sv",
        enquiry_id=enquiry.id,
        reply_to=reply_to,
        sender_name=office_name,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
    )
    now = utcnow()
    email = Email(
        message_id=message_id,
        direction=EmailDirection.OUTGOING,
        state=EmailState.FILED,
        in_reply_to=outbox.in_reply_to,
        references=outbox.references,
        subject=outbox.subject,
        from_address=sender_address.lower(),
        from_name=office_name,
        to_addresses=recipient.lower(),
        body_text=body,
        reply_text=body,
        sent_at=now,
        received_at=now,
        size_bytes=len(body.encode()),
        enquiry_id=enquiry.id,
        outbox_message_id=outbox.id,
        sent_by_id=getattr(actor, "id", None),
    )
    db.session.add(email)
    _mark_responded(enquiry, actor)
    changes = {}
    if enquiry.status.is_open and enquiry.status != EnquiryStatus.WAITING:
        changes["status"] = [enquiry.status.value, EnquiryStatus.WAITING.value]
        enquiry.status = EnquiryStatus.WAITING
    # The text stays in the e-mail (which erasure reaches), not in the history.
    audit.record(enquiry, "reply", actor=actor, changes=changes)
    db.session.flush()
    return email


# ---------------------------------------------------------------- reply templates


def reply_templates(language=None):
    """The reply templates, by language then name; only `language`'s when given."""
    select = sa.select(ReplyTemplate).order_by(ReplyTemplate.language, ReplyTemplate.name)
    if language:
        select = select.where(ReplyTemplate.language == language)
    return db.session.scalars(select).all()


def _checked_template(data, template=None):
    language = data.get("language")
    if language not in current_app.config["LANGUAGES"]:
        raise EnquiryError(_("Choose the language."), field="language")
    name = " ".join((data.get("name") or "").split())
    if not name:
        raise EnquiryError(_("Enter the template's name."), field="name")
    if len(name) > MAX_TEMPLATE_NAME:
        raise EnquiryError(
            _("The name can be at most %(count)d characters.", count=MAX_TEMPLATE_NAME),
            field="name",
        )
    body = (data.get("body") or "").replace("\r\n", "\n").strip()
    if not body:
        raise EnquiryError(_("Write the template's text."), field="body")
    if len(body) > MAX_TEMPLATE_LENGTH:
        raise EnquiryError(
            _("The text can be at most %(count)d characters.", count=MAX_TEMPLATE_LENGTH),
            field="body",
        )
    taken = db.session.scalar(
        sa.select(ReplyTemplate.id).where(
            ReplyTemplate.language == language,
            sa.func.lower(ReplyTemplate.name) == name.lower(),
            ReplyTemplate.id != (template.id if template is not None else -1),
        )
    )
    if taken is not None:
        raise EnquiryError(
            _("There is already a template with this name in this language."), field="name"
        )
    return {"language": language, "name": name, "body": body}


def create_reply_template(data, *, actor):
    """data: {"language", "name", "body"}; refuses (EnquiryError) a name already used."""
    template = ReplyTemplate(**_checked_template(data), created_by_id=getattr(actor, "id", None))
    db.session.add(template)
    audit.record(template, "create", actor=actor)
    return template


def update_reply_template(template, data, *, actor):
    for key, value in _checked_template(data, template).items():
        setattr(template, key, value)
    changes = audit.pending_changes(template)
    if changes:
        audit.record(template, "update", actor=actor, changes=changes)
    db.session.flush()
    return bool(changes)


def delete_reply_template(template, *, actor):
    audit.record(template, "delete", actor=actor, changes={"name": [template.name, None]})
    db.session.delete(template)
    db.session.flush()


# ---------------------------------------------------------------- conversion


def convert_enquiry(
    enquiry,
    *,
    organisation=None,
    new_organisation=None,
    contact=None,
    new_contact=None,
    activity=None,
    actor,
):
    """Link the enquiry to its organisation and contact, creating them when they are new,
    and optionally log a first activity with them; the enquiry becomes converted.

    new_organisation: {"name", "kind"}; new_contact: {"first_name", "last_name", "email",
    "phone", "title"}; activity: {"kind", "title", "date", "outcome"}. Everything is checked
    before anything changes, so a refusal (EnquiryError) leaves all as it was.
    """
    if enquiry.status == EnquiryStatus.CONVERTED:
        raise EnquiryError(_("This enquiry has already been converted."))
    if enquiry.status == EnquiryStatus.CLOSED:
        raise EnquiryError(_("A closed enquiry cannot be converted. Reopen it first."))
    organisation_data = _checked_new_organisation(
        organisation, new_organisation, email_domain(enquiry.email)
    )
    contact_data = _checked_new_contact(contact, new_contact)
    activity_data = _checked_activity(activity) if activity else None

    if organisation is None:
        organisation = organisation_services.create_organisation(organisation_data, actor=actor)
    if contact is None:
        contact = organisation_services.create_contact(
            {**contact_data, "organisation_id": organisation.id}, actor=actor
        )
    else:
        _attach_contact(contact, organisation, actor=actor)
    created_activity = None
    if activity_data:
        created_activity = _create_activity(enquiry, organisation, contact, activity_data, actor)

    changes = {
        "status": [enquiry.status.value, EnquiryStatus.CONVERTED.value],
        "organisation_id": [enquiry.organisation_id, organisation.id],
        "contact": [enquiry.contact.full_name if enquiry.contact else None, contact.full_name],
    }
    if created_activity is not None:
        changes["activity"] = [None, created_activity.title]
    enquiry.status = EnquiryStatus.CONVERTED
    enquiry.converted_at = utcnow()
    enquiry.organisation = organisation
    enquiry.organisation_id = organisation.id
    enquiry.contact = contact
    enquiry.contact_id = contact.id
    audit.record(enquiry, "convert", actor=actor, changes=changes)
    return organisation, contact, created_activity


def _checked_new_organisation(organisation, new_organisation, email_domain):
    """The data for create_organisation, or None when an existing one is linked."""
    if organisation is not None:
        if new_organisation:
            raise EnquiryError(
                _("Pick an existing organisation or enter a new one, not both."),
                field="organisation",
            )
        if organisation.is_deleted:
            raise EnquiryError(_("That organisation has been deleted."), field="organisation")
        return None
    if not new_organisation:
        raise EnquiryError(_("Pick the organisation or enter a new one."), field="organisation")
    name = " ".join((new_organisation.get("name") or "").split())
    if not name:
        raise EnquiryError(_("Enter the name of the new organisation."), field="org_name")
    if len(name) > 200:
        raise EnquiryError(_("The name can be at most 200 characters."), field="org_name")
    try:
        kind = OrganisationKind(new_organisation.get("kind") or OrganisationKind.COMPANY)
    except ValueError:
        raise EnquiryError(_("Choose the kind of organisation."), field="org_kind") from None
    existing = organisation_services.find_duplicate_organisations(name=name)
    if existing:
        raise EnquiryError(
            _(
                "An organisation called %(name)s already exists. Pick it instead.",
                name=existing[0][0].name,
            ),
            field="org_name",
        )
    data = {"name": name, "kind": kind}
    try:
        domain = normalise_domain(email_domain) if email_domain else None
    except ValueError:
        domain = None
    if domain and domain not in WEBMAIL_DOMAINS and not _domain_in_use(domain):
        # Later enquiries from the same domain then find this organisation.
        data["email_domains"] = [domain]
    return data


def _domain_in_use(domain):
    return (
        db.session.scalar(
            sa.select(OrganisationEmailDomain.id).where(OrganisationEmailDomain.domain == domain)
        )
        is not None
    )


def _checked_new_contact(contact, new_contact):
    if contact is not None:
        if new_contact:
            raise EnquiryError(
                _("Pick an existing contact or enter a new one, not both."), field="contact"
            )
        if contact.is_deleted:
            raise EnquiryError(_("That contact has been deleted."), field="contact")
        return None
    if not new_contact:
        raise EnquiryError(_("Pick the contact or enter a new one."), field="contact")
    data = {
        key: " ".join((new_contact.get(key) or "").split())
        for key in ("first_name", "last_name", "email", "phone", "title")
    }
    limits = {"first_name": 100, "last_name": 100, "email": 254, "phone": 50, "title": 200}
    for key, limit in limits.items():
        if len(data[key]) > limit:
            raise EnquiryError(
                _("This can be at most %(count)d characters.", count=limit), field=key
            )
    if not data["last_name"]:
        raise EnquiryError(_("Enter the contact's last name."), field="last_name")
    data["email"] = data["email"].lower() or None
    if data["email"] and not valid_address(data["email"]):
        raise EnquiryError(_("Enter a valid e-mail address."), field="email")
    if data["email"]:
        existing = organisation_services.find_duplicate_contacts(email=data["email"])
        if existing:
            raise EnquiryError(
                _(
                    "%(name)s already has this e-mail address. Pick that contact instead.",
                    name=existing[0].full_name,
                ),
                field="email",
            )
    data["phone"] = data["phone"] or None
    data["title"] = data["title"] or None
    data["legal_basis"] = LegalBasis.LEGITIMATE_INTEREST
    return data


def _checked_activity(activity):
    try:
        kind = ActivityKind(activity.get("kind"))
    except ValueError:
        raise EnquiryError(_("Choose the kind of activity."), field="activity_kind") from None
    title = " ".join((activity.get("title") or "").split())
    if not title:
        raise EnquiryError(_("Enter the activity's title."), field="activity_title")
    if len(title) > 300:
        raise EnquiryError(_("The title can be at most 300 characters."), field="activity_title")
    day = activity.get("date")
    if not isinstance(day, date):
        raise EnquiryError(_("Enter the activity's date."), field="activity_date")
    outcome = (activity.get("outcome") or "").strip()
    if len(outcome) > MAX_OUTCOME_LENGTH:
        raise EnquiryError(
            _("The outcome can be at most %(count)d characters.", count=MAX_OUTCOME_LENGTH),
            field="activity_outcome",
        )
    return {"kind": kind, "title": title, "date": day, "outcome": outcome or None}


def _attach_contact(contact, organisation, *, actor):
    """An existing contact works at the organisation: as primary when they have none, else
    as another affiliation."""
    if contact.organisation_id == organisation.id:
        return
    if contact.organisation_id is None:
        organisation_services.update_contact(
            contact, {"organisation_id": organisation.id}, actor=actor
        )
        return
    affiliations = [(item.organisation_id, item.role) for item in contact.affiliations]
    if organisation.id not in [organisation_id for organisation_id, _role in affiliations]:
        organisation_services.update_contact(
            contact, {"affiliations": affiliations + [(organisation.id, None)]}, actor=actor
        )


def _create_activity(enquiry, organisation, contact, data, actor):
    status = ActivityStatus.COMPLETED if data["date"] <= date.today() else ActivityStatus.PLANNED
    activity = Activity(
        kind=data["kind"],
        title=data["title"],
        start_date=data["date"],
        outcome=data["outcome"],
        status=status,
        enquiry_id=enquiry.id,
        created_by_id=getattr(actor, "id", None),
    )
    activity.organisations.append(
        ActivityOrganisation(organisation=organisation, role=ActivityOrganisationRole.PARTICIPANT)
    )
    activity.contacts.append(contact)
    if isinstance(actor, User):
        activity.staff.append(actor)
    db.session.add(activity)
    audit.record(activity, "create", actor=actor)
    activity_created.send(activity, actor=actor)
    return activity
