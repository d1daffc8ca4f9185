"""The entries of a record's timeline, merged from every domain, a page at a time.

A page costs the same few queries however much a record has: one UNION ALL of the kinds'
(kind, id, date) keys finds the page's entries in date order, one counts them, and one query
per kind present on the page loads its rows.
"""

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask import url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import selectinload

from crm.activities.models import Activity, Task
from crm.activities.services import live_activities_with
from crm.activities.task_services import visible_tasks_about
from crm.agreements.coverage import agreement_ids_covering
from crm.agreements.models import Agreement
from crm.documents.models import Document
from crm.documents.services import live_documents_of, type_label
from crm.enquiries.models import Enquiry
from crm.enquiries.services import (
    enquiries_from,
    may_read_any,
    readable_enquiries,
)
from crm.extensions import db
from crm.mail.models import Email, EmailDirection
from crm.mail.services import filed_emails
from crm.mailbox.services import readable_emails
from crm.organisations.models import Organisation

PER_PAGE = 25

# The kinds in the order the filter offers them: (plural label for the filter, label of one).
KINDS = {
    "email": (_l("E-mails"), _l("E-mail")),
    "activity": (_l("Activities"), _l("Activity")),
    "enquiry": (_l("Enquiries"), _l("Enquiry")),
    "document": (_l("Documents"), _l("Document")),
    "task": (_l("Tasks"), _l("Task")),
    "agreement": (_l("Agreements"), _l("Agreement")),
}


@dataclass(frozen=True)
class Entry:
    kind: str
    when: date | datetime
    title: str
    # None when the entry has no page of its own.
    url: str | None
    # A short line under the title (kind of activity, status, sender, …).
    detail: str
    record: object

    @property
    def kind_label(self):
        return KINDS[self.kind][1]


def email_url(email):
    """Where an e-mail entry links to: the e-mail's own page, which says where it is filed."""
    return url_for("mailbox.email", email_id=email.id)


def _ids(select, model):
    return select.with_only_columns(model.id)


def _sources(record, user):
    """{kind: (select of the record's rows `user` may see, the date they sort by)}."""
    is_organisation = isinstance(record, Organisation)
    about = {"organisation": record} if is_organisation else {"contact": record}
    enquiries = enquiries_from(**about)
    activities = live_activities_with(**about)
    emails = filed_emails(
        enquiry_ids=_ids(enquiries, Enquiry),
        activity_ids=_ids(activities, Activity),
        address=None if is_organisation else record.email,
    ).where(readable_emails(user))
    sources = {
        "email": (emails, Email.received_at),
        "activity": (activities, Activity.start_date),
    }
    if may_read_any(user):
        sources["enquiry"] = (enquiries.where(readable_enquiries(user)), Enquiry.received_at)
    if is_organisation:
        sources["document"] = (live_documents_of(record), Document.created_at)
    sources["task"] = (
        visible_tasks_about(record, user, enquiry_ids=_ids(enquiries, Enquiry)),
        sa.func.coalesce(Task.done_at, Task.created_at),
    )
    if is_organisation:
        sources["agreement"] = (
            sa.select(Agreement).where(Agreement.id.in_(agreement_ids_covering(record.id))),
            sa.func.coalesce(Agreement.signed_date, Agreement.start_date, Agreement.created_at),
        )
    return sources


def timeline(record, user, *, kind=None, page=1, per_page=PER_PAGE):
    """A page of the entries about `record` (an organisation or a contact) that `user` may
    see, newest first; only those of `kind` when it is one of the record's kinds.

    The page also says which kinds the timeline can show `user` (`kinds`, [(kind, label)],
    for the filter) and which one it shows (`kind`, None for all)."""
    sources = _sources(record, user)
    kinds = [(name, KINDS[name][0]) for name in sources]
    if kind in sources:
        sources = {kind: sources[kind]}
    else:
        kind = None
    keys = sa.union_all(
        *(
            select.with_only_columns(
                sa.literal_column(f"'{name}'", sa.String).label("kind"),
                select.column_descriptions[0]["entity"].id.label("id"),
                at.label("at"),
            )
            for name, (select, at) in sources.items()
        )
    ).subquery("timeline_keys")
    found = TimelinePage(keys=keys, page=page, per_page=per_page, error_out=False)
    found.kinds, found.kind = kinds, kind
    return found


class TimelinePage(Pagination):
    """A page of entries, for the pagination macro (page, pages, has_next, total)."""

    def _query_items(self):
        keys = self._query_args["keys"]
        rows = db.session.execute(
            sa.select(keys.c.kind, keys.c.id)
            .order_by(keys.c.at.desc(), keys.c.kind, keys.c.id.desc())
            .limit(self.per_page)
            .offset(self._query_offset)
        ).all()
        return _entries(rows)

    def _query_count(self):
        keys = self._query_args["keys"]
        return db.session.scalar(sa.select(sa.func.count()).select_from(keys))


def _entries(rows):
    """The entries for (kind, id) rows, in their order: one query per kind."""
    wanted = {}
    for kind, row_id in rows:
        wanted.setdefault(kind, []).append(row_id)
    loaded = {}
    for kind, ids in wanted.items():
        model, options, build = _LOADERS[kind]
        for row in db.session.scalars(sa.select(model).where(model.id.in_(ids)).options(*options)):
            loaded[kind, row.id] = build(row)
    return [loaded[kind, row_id] for kind, row_id in rows if (kind, row_id) in loaded]


def _detail(*parts):
    return " · ".join(str(part) for part in parts if part)


def _email_entry(email):
    if email.direction == EmailDirection.OUTGOING:
        who = _("to %(addresses)s", addresses=email.to_addresses)
    else:
        who = _("from %(address)s", address=email.from_name or email.from_address)
    return Entry(
        "email",
        email.received_at,
        email.subject or _("(no subject)"),
        email_url(email),
        _detail(email.direction.label, who),
        email,
    )


def _activity_entry(activity):
    return Entry(
        "activity",
        activity.start_date,
        activity.title,
        url_for("activities.detail", activity_id=activity.id),
        _detail(activity.kind.label, activity.status.label),
        activity,
    )


def _enquiry_entry(enquiry):
    return Entry(
        "enquiry",
        enquiry.received_at,
        enquiry.reference or f"#{enquiry.id}",
        url_for("enquiries.detail", enquiry_id=enquiry.id),
        _detail(enquiry.topic.label, enquiry.status.label),
        enquiry,
    )


def _document_entry(document):
    return Entry(
        "document",
        document.created_at,
        document.title,
        url_for("documents.detail", document_id=document.id),
        _detail(type_label(document.content_type), document.is_public and _("Public")),
        document,
    )


def _task_entry(task):
    if task.is_done:
        state = _("done")
    elif task.due_date:
        state = _("due %(date)s", date=format_date(task.due_date))
    else:
        state = _("open")
    return Entry(
        "task",
        task.done_at or task.created_at,
        task.title,
        None,
        _detail(state, task.assignee and task.assignee.name),
        task,
    )


def _agreement_entry(agreement):
    return Entry(
        "agreement",
        agreement.signed_date or agreement.start_date or agreement.created_at,
        agreement.title,
        url_for("agreements.detail", agreement_id=agreement.id),
        _detail(agreement.kind.label, agreement.status.label),
        agreement,
    )


_LOADERS = {
    "email": (Email, (), _email_entry),
    "activity": (Activity, (), _activity_entry),
    "enquiry": (Enquiry, (), _enquiry_entry),
    "document": (Document, (), _document_entry),
    "task": (Task, (selectinload(Task.assignee),), _task_entry),
    "agreement": (Agreement, (), _agreement_entry),
}
