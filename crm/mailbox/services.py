"""Filing a stored incoming e-mail: on an enquiry, as an e-mail activity, as a new enquiry, or
discarded. Used by the routing of new mail (routing.py) and by the unmatched-mail pages.

Services flush and never commit; the fetch command or the view commits once.
"""

import io
import re
from datetime import date
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import FileStorage

from crm.activities import services as activity_services
from crm.activities.models import Activity, ActivityKind, ActivityStatus
from crm.auth.models import Role, User
from crm.core import audit
from crm.core.links import external_url
from crm.core.topics import Topic
from crm.core.types import utcnow
from crm.documents import services as document_services
from crm.enquiries import intake
from crm.enquiries import services as enquiry_services
from crm.enquiries.models import Enquiry, EnquirySource, EnquiryStatus
from crm.extensions import db
from crm.mail.models import Email, EmailState
from crm.mail.services import queue_message, single_line
from crm.notifications import services as notifications
from crm.notifications.models import ENQUIRY_REPLY
from crm.privacy import services as privacy_services

MAX_ENQUIRY_TEXT = 20_000
MAX_MATCHED_ADDRESSES = 20
REFERENCE = re.compile(r"\bENQ-\d{4}-\d{5,}\b")

audit.describe_fields(
    "emails",
    {
        "state": (_l("State"), EmailState),
        "enquiry_id": (_l("Enquiry"), None),
        "activity_id": (_l("Activity"), None),
    },
)
audit.describe_actions(
    {
        "file": _l("filed the e-mail"),
        "discard": _l("discarded the e-mail"),
    }
)


class FilingError(ValueError):
    """A filing that cannot be done; the message is for the person who asked."""


# ---------------------------------------------------------------- who may read what


def can_read(email, user):
    """Coordinators and admins read every e-mail; others one filed on a record they may
    read: an enquiry they may read, or an activity (which every signed-in user reads)."""
    if email is None or not getattr(user, "is_authenticated", False):
        return False
    if user.has_role(Role.COORDINATOR):
        return True
    if email.state != EmailState.FILED:
        return False
    if email.enquiry_id is not None:
        enquiry = db.session.get(Enquiry, email.enquiry_id)
        if enquiry_services.can_read(enquiry, user):
            return True
    if email.activity_id is not None:
        activity = db.session.get(Activity, email.activity_id)
        return activity is not None and not activity.is_deleted
    return False


def readable_emails(user):
    """can_read as a condition on Email, for lists (the timeline). Keep the two in step: a
    list that shows what the e-mail's page refuses leaks the message."""
    if not getattr(user, "is_authenticated", False):
        return sa.false()
    if user.has_role(Role.COORDINATOR):
        return sa.true()
    return sa.and_(
        Email.state == EmailState.FILED,
        sa.or_(
            Email.enquiry_id.in_(
                sa.select(Enquiry.id).where(enquiry_services.readable_enquiries(user))
            ),
            Email.activity_id.in_(sa.select(Activity.id).where(Activity.deleted_at.is_(None))),
        ),
    )


document_services.register_owner(
    "email_id", Email, endpoint="mailbox.email", can_read=can_read, readable=readable_emails
)


def unmatched_count():
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Email).where(Email.state == EmailState.UNMATCHED)
    )


# ---------------------------------------------------------------- matching


def office_addresses():
    """The addresses the office mailbox receives at, lower case."""
    config = current_app.config
    found = [config.get("MAIL_REPLY_ADDRESS"), config.get("IMAP_USER")]
    return {address.strip().lower() for address in found if address and "@" in address}


def active_user_by_address(address):
    if not address:
        return None
    return db.session.scalar(
        sa.select(User)
        .where(sa.func.lower(User.email) == address.lower(), User.active.is_(True))
        .limit(1)
    )


def staff_addresses(addresses):
    """The addresses among `addresses` that belong to users (active or not)."""
    if not addresses:
        return set()
    rows = db.session.scalars(
        sa.select(sa.func.lower(User.email)).where(sa.func.lower(User.email).in_(addresses))
    )
    return set(rows)


def enquiry_by_reference(text):
    """The enquiry whose reference (ENQ-YYYY-NNNNN) `text` names, if it exists."""
    match = REFERENCE.search(text or "")
    if match is None:
        return None
    return db.session.scalar(
        sa.select(Enquiry).where(Enquiry.reference == match.group(0), Enquiry.deleted_at.is_(None))
    )


def matched_records(addresses):
    """(contacts, organisations) named by `addresses`: the contact with the address and the
    organisation it belongs to or whose e-mail domain the address uses."""
    contacts, organisations = {}, {}
    for address in addresses[:MAX_MATCHED_ADDRESSES]:
        organisation, contact, _reason = enquiry_services.match_organisation_and_contact(
            SimpleNamespace(email=address, organisation_name=None)
        )
        if contact is not None:
            contacts.setdefault(contact.id, contact)
        if organisation is not None:
            organisations.setdefault(organisation.id, organisation)
    return list(contacts.values()), list(organisations.values())


def addresses_to_match(email, forwarded=()):
    """The addresses of people outside the office an e-mail names: its own headers, and the
    headers of what it forwards."""
    addresses = list(dict.fromkeys([*email.addresses, *forwarded]))
    ignored = office_addresses() | staff_addresses(addresses)
    return [address for address in addresses if address not in ignored]


# ---------------------------------------------------------------- filing


def _handled(email, actor):
    if actor is not None:
        email.handled_by_id = actor.id
        email.handled_at = utcnow()


def attach_to_enquiry(email, enquiry, *, actor):
    """Put the e-mail in the enquiry's conversation."""
    if enquiry is None or enquiry.is_deleted:
        raise FilingError(_("There is no enquiry with that reference."))
    before = email.state.value
    email.enquiry_id = enquiry.id
    email.state = EmailState.FILED
    _handled(email, actor)
    audit.record(
        email,
        "file",
        actor=actor,
        changes={"state": [before, EmailState.FILED.value], "enquiry_id": [None, enquiry.id]},
    )
    return email


def local_date(moment):
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return moment.astimezone(zone).date() if moment is not None else date.today()


def log_as_activity(email, *, actor, logged_by=None, forwarded=()):
    """Log the e-mail as an activity of kind e-mail, dated the message's date, titled by its
    subject, with the contacts it names (From/To/Cc, and the headers of what it forwards)
    and their organisations. `logged_by` is the staff user who forwarded or BCC'd it."""
    contacts, organisations = matched_records(addresses_to_match(email, forwarded))
    staff = [user for user in (logged_by,) if user is not None]
    activity = activity_services.create_activity(
        {
            "kind": ActivityKind.EMAIL,
            "title": single_line(email.subject, 300) or _("E-mail without a subject"),
            "start_date": local_date(email.sent_at or email.received_at),
            "status": ActivityStatus.COMPLETED,
            # The text stays in the e-mail, which the activity's page shows: a copy here would
            # outlive the e-mail's erasure and retention (crm/privacy).
            "contacts": contacts,
            "organisations": [(organisation, "participant") for organisation in organisations],
            "staff": staff,
        },
        actor=actor or logged_by,
    )
    db.session.flush()
    before = email.state.value
    email.activity_id = activity.id
    email.state = EmailState.FILED
    if logged_by is not None:
        email.logged_by_id = logged_by.id
    _handled(email, actor)
    audit.record(
        email,
        "file",
        actor=actor,
        changes={"state": [before, EmailState.FILED.value], "activity_id": [None, activity.id]},
    )
    return activity


_SWEDISH = re.compile(r"[åäö]|\b(hej|och|jag|vi|tack|med|för|att|inte|är)\b", re.IGNORECASE)
_ENGLISH = re.compile(r"\b(hello|hi|dear|the|and|we|thanks|thank|with|for|is|not)\b", re.I)


def guess_language(text):
    """ "en" when the text reads clearly more English than Swedish, else "sv"."""
    sample = (text or "")[:5000]
    return "en" if len(_ENGLISH.findall(sample)) > 2 * len(_SWEDISH.findall(sample)) else "sv"


def create_enquiry_from_email(email):
    """A new enquiry (source e-mail) from the message, with the receipt, reference and
    notices of the contact form. Returns the Enquiry."""
    text = email.reply_text or email.body_text or ""
    message = "\n\n".join(part for part in (email.subject, text) if part)
    name = email.from_name or email.from_address.split("@")[0]
    received = intake.submit_enquiry(
        {
            "name": single_line(name, 200),
            "email": email.from_address,
            "topic": Topic.OTHER,
            "message": message[:MAX_ENQUIRY_TEXT] or "—",
        },
        language=guess_language(text),
        privacy_notice_id=privacy_services.notice_id_for_new_enquiry(),
        source=EnquirySource.EMAIL,
    )
    email.enquiry_id = received.id
    email.state = EmailState.FILED
    return db.session.get(Enquiry, received.id)


def discard(email, *, actor):
    before = email.state.value
    email.state = EmailState.DISCARDED
    _handled(email, actor)
    audit.record(
        email, "discard", actor=actor, changes={"state": [before, EmailState.DISCARDED.value]}
    )
    return email


def store_attachments(email, attachments):
    """Store the attachments as documents of the e-mail, through the upload checks; a refused
    one is noted in the returned list of (filename, reason), never fatal."""
    refused = []
    for attachment in attachments:
        upload = FileStorage(io.BytesIO(attachment.data), filename=attachment.filename)
        try:
            with db.session.begin_nested():
                document_services.store_document(
                    upload,
                    title=attachment.filename,
                    description=None,
                    is_public=False,
                    owner=email,
                    actor=None,
                )
        except document_services.DocumentError as error:
            refused.append((attachment.filename, str(error)))
        except Exception:  # a full disk, say: the message is kept, the file noted as lost
            current_app.logger.exception("Incoming mail %s: attachment not stored", email.id)
            refused.append((attachment.filename, "not stored"))
    return refused


# ---------------------------------------------------------------- a reply to an enquiry


def receive_reply(email, enquiry, *, automatic):
    """A company's answer joins the enquiry's conversation. Unless it is automatic (an
    auto-reply or a bounce), the assignee is told and a waiting enquiry is worked again."""
    email.enquiry_id = enquiry.id
    email.state = EmailState.FILED
    if automatic:
        return
    if enquiry.status == EnquiryStatus.WAITING:
        enquiry_services.change_status(enquiry, EnquiryStatus.IN_PROGRESS, actor=None)
    assignee = enquiry.assignee
    if assignee is not None and assignee.active:
        _queue_reply_notice(email, enquiry, assignee)
        notifications.notify(assignee, ENQUIRY_REPLY, enquiry=enquiry)


def _queue_reply_notice(email, enquiry, assignee):
    language = assignee.language if assignee.language in current_app.config["LANGUAGES"] else "sv"
    reference = enquiry.reference or f"#{enquiry.id}"
    with force_locale(language):
        # Nothing the sender wrote goes in the notice: it is read in staff's own mailbox.
        subject = _("New e-mail on enquiry %(reference)s", reference=reference)
        body = render_template(
            "email/enquiry_reply_received.txt",
            assignee=assignee,
            reference=reference,
            url=external_url("enquiries.detail", enquiry_id=enquiry.id),
        )
    queue_message(
        kind="enquiry_email_received",
        recipient=assignee.email,
        subject=subject,
        body_text=body,
        language=language,
        enquiry_id=enquiry.id,
    )
