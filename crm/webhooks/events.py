"""Where each webhook event comes from, and what its body says.

The domains know nothing of webhooks: each sends a blinker signal from its service at the
change (an enquiry assigned, an agreement's status changed, ...), and the handlers here turn
it into a delivery for every active webhook sent that event, added to the same session. So
the delivery is committed with the change, or rolled back with it, and a change that never
happened is never announced. The handlers are connected when this module is imported, which
the package does, so every process made by create_app (web, CLI, worker, tests) announces.

Every body is

    {"id": "<uuid>", "event": "enquiry.assigned", "occurred_at": "2026-03-01T09:30:00Z",
     "data": {"id": 42, ..., "url": "<PUBLIC_URL>/api/v1/enquiries/42",
              "html_url": "<PUBLIC_URL>/enquiries/42"}}

The data names the record and says what happened to it, little more. An event leaves the
CRM for a system the office does not control, so it carries no personal data of the people
who wrote in (no name, e-mail address, phone or message): a receiver that needs the details
fetches them from `url` through the REST API, with a token whose permissions the office
decides and can withdraw, and erasing a person later need not chase copies in other systems.
"""

from flask import current_app

from crm.activities.models import TASK_SUBJECT_COLUMNS
from crm.activities.services import activity_created
from crm.activities.task_services import task_due
from crm.agreements.lifecycle import status_changed as agreement_status_changed
from crm.core.links import external_url
from crm.enquiries.intake import enquiry_submitted
from crm.enquiries.services import enquiry_assigned, enquiry_closed
from crm.webhooks import services
from crm.webhooks.services import iso_moment


def _announce(event, data_of, record, **details):
    """Queue `event` for the webhooks sent it; the body is only built when there are any."""
    webhooks = services.subscribed_webhooks(event)
    if webhooks:
        services.queue_event(event, data_of(record, **details), webhooks=webhooks)


def api_url(collection, record_id):
    """The record in the REST API (/api/v1/<collection>/<id>), at PUBLIC_URL."""
    return f"{current_app.config['PUBLIC_URL']}/api/v1/{collection}/{record_id}"


def _value(choice):
    """An enum member's value (a plain string passes as it is)."""
    return getattr(choice, "value", choice)


def _person(user):
    # A member of staff, by the name colleagues know them by: what a chat message about the
    # event would say. Their e-mail address stays in the CRM.
    if getattr(user, "id", None) is None:
        return None  # the daily job, a process without a person
    return {"id": user.id, "name": user.name}


# ---------------------------------------------------------------- enquiries


def _enquiry(enquiry):
    # The reference, topic and dates only; never what the sender wrote (see above).
    return {
        "id": enquiry.id,
        "reference": enquiry.reference,
        "status": _value(enquiry.status),
        "topic": _value(enquiry.topic),
        "received_at": iso_moment(enquiry.received_at),
        "url": api_url("enquiries", enquiry.id),
        "html_url": external_url("enquiries.detail", enquiry_id=enquiry.id),
    }


def _received(enquiry):
    return {**_enquiry(enquiry), "source": _value(enquiry.source)}


def _assigned(enquiry, *, assignee, actor):
    return {**_enquiry(enquiry), "assignee": _person(assignee), "assigned_by": _person(actor)}


def _closed(enquiry, *, actor):
    return {
        **_enquiry(enquiry),
        "closed_reason": _value(enquiry.closed_reason),
        "closed_at": iso_moment(enquiry.closed_at),
        "closed_by": _person(actor),
    }


@enquiry_submitted.connect
def _on_enquiry_submitted(enquiry, **_unused):
    # Intake writes the enquiry with Core inserts on the session's connection; the delivery
    # is added to that same session, so it is inserted by the commit that stores the enquiry.
    _announce("enquiry.received", _received, enquiry)


@enquiry_assigned.connect
def _on_enquiry_assigned(enquiry, *, assignee, actor, **_unused):
    _announce("enquiry.assigned", _assigned, enquiry, assignee=assignee, actor=actor)


@enquiry_closed.connect
def _on_enquiry_closed(enquiry, *, actor, **_unused):
    _announce("enquiry.closed", _closed, enquiry, actor=actor)


# ---------------------------------------------------------------- activities and tasks


def _activity(activity, *, actor):
    return {
        "id": activity.id,
        "title": activity.title,
        "kind": _value(activity.kind),
        "status": _value(activity.status),
        "start_date": activity.start_date.isoformat() if activity.start_date else None,
        "end_date": activity.end_date.isoformat() if activity.end_date else None,
        "created_by": _person(actor),
        "url": api_url("activities", activity.id),
        "html_url": external_url("activities.detail", activity_id=activity.id),
    }


def _task(task, *, today):
    return {
        "id": task.id,
        "title": task.title,
        "due_date": task.due_date.isoformat(),
        "overdue": task.due_date < today,
        "assignee": _person(task.assignee),
        # What it follows up, by kind and id ("enquiry", 42), or None for a plain to-do.
        "subject": _subject(task),
        "url": api_url("tasks", task.id),
        "html_url": external_url("tasks.edit", task_id=task.id),
    }


def _subject(task):
    for column in TASK_SUBJECT_COLUMNS:
        if getattr(task, column) is not None:
            return {"type": column.removesuffix("_id"), "id": getattr(task, column)}
    return None


@activity_created.connect
def _on_activity_created(activity, *, actor, **_unused):
    _announce("activity.created", _activity, activity, actor=actor)


@task_due.connect
def _on_task_due(task, *, today, **_unused):
    _announce("task.due", _task, task, today=today)


# ---------------------------------------------------------------- agreements


def _agreement(agreement, *, old_status, new_status, actor):
    return {
        "id": agreement.id,
        "title": agreement.title,
        "kind": _value(agreement.kind),
        "old_status": _value(old_status),
        "new_status": _value(new_status),
        # None when the daily job expired it.
        "changed_by": _person(actor),
        "url": api_url("agreements", agreement.id),
        "html_url": external_url("agreements.detail", agreement_id=agreement.id),
    }


@agreement_status_changed.connect
def _on_agreement_status_changed(agreement, *, old_status, new_status, actor, **_unused):
    _announce(
        "agreement.status_changed",
        _agreement,
        agreement,
        old_status=old_status,
        new_status=new_status,
        actor=actor,
    )
