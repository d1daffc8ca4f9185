"""E-mail to the person a task or an enquiry is given to by someone else, never to someone
who takes it themselves."""

from datetime import date

import sqlalchemy as sa

from crm.activities import task_services
from crm.activities.models import Task
from crm.auth.models import Role
from crm.enquiries.models import EnquiryStatus, Topic
from crm.mail.models import OutboxMessage


def messages(db, kind):
    return db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
    ).all()


def task_form(title, *, assignee="", due=""):
    return {"title": title, "due_date": due, "assignee_id": assignee}


def test_a_task_given_to_someone_else_emails_them_in_their_language(
    client, db, signed_in, make_user, make_organisation
):
    karin = make_user(Role.MEMBER, name="Karin Lund")
    organisation = make_organisation("Ångström AB")
    coordinator = signed_in(Role.COORDINATOR)

    response = client.post(
        f"/tasks/new?organisation_id={organisation.id}",
        data=task_form("Ring om avtalet", assignee=karin.id, due="2026-05-04"),
    )

    assert response.status_code == 302
    [message] = messages(db, "task_assigned")
    assert message.recipient == karin.email
    assert message.language == "sv"
    assert "Ring om avtalet" in message.subject
    assert "\n" not in message.subject
    assert coordinator.name in message.body_text
    assert "Ångström AB" in message.body_text
    assert "http://localhost/tasks/" in message.body_text
    assert "tilldelat dig en uppgift" in message.body_text


def test_reassigning_a_task_emails_the_new_assignee_only(client, db, signed_in, make_user):
    first = make_user(Role.MEMBER, name="First Person")
    second = make_user(Role.MEMBER, name="Second Person")
    second.language = "en"
    db.session.commit()
    signed_in(Role.COORDINATOR)
    client.post("/tasks/new", data=task_form("Write the report", assignee=first.id))
    task = db.session.scalar(sa.select(Task))

    # Editing without changing the assignee tells nobody again.
    client.post(f"/tasks/{task.id}/edit", data=task_form("Write the report!", assignee=first.id))
    assert [m.recipient for m in messages(db, "task_assigned")] == [first.email]

    client.post(f"/tasks/{task.id}/edit", data=task_form("Write the report!", assignee=second.id))
    sent = messages(db, "task_assigned")
    assert [m.recipient for m in sent] == [first.email, second.email]
    assert sent[1].language == "en"
    assert "has assigned a task to you" in sent[1].body_text

    # Taking the task away (no assignee) sends nothing.
    client.post(f"/tasks/{task.id}/edit", data=task_form("Write the report!"))
    assert len(messages(db, "task_assigned")) == 2


def test_a_task_you_give_yourself_sends_no_email(client, db, signed_in):
    me = signed_in(Role.MEMBER)
    response = client.post("/tasks/new", data=task_form("My own to-do", assignee=me.id))
    assert response.status_code == 302
    task = db.session.scalar(sa.select(Task))
    assert task.assignee_id == me.id
    assert messages(db, "task_assigned") == []


def test_a_task_given_by_the_system_is_told_and_an_inactive_user_is_not(app, db, make_user):
    ada = make_user(Role.MEMBER)
    gone = make_user(Role.MEMBER)
    task_services.create_task(title="Due", due_date=date(2026, 3, 1), assignee=ada, actor=None)
    task = task_services.create_task(title="Kept", assignee=gone, actor=None)
    db.session.commit()
    gone.active = False
    db.session.commit()
    # A task may stay with someone who has left; keeping it there is not a new assignment.
    task_services.update_task(task, title="Kept", due_date=None, assignee=gone, actor=ada)
    db.session.commit()
    assert [m.recipient for m in messages(db, "task_assigned")] == [ada.email, gone.email]


def test_taking_an_enquiry_yourself_sends_no_email(client, db, signed_in, make_enquiry, make_user):
    enquiry = make_enquiry(topic=Topic.CLINICAL_STUDIES)
    coordinator = signed_in(Role.COORDINATOR)

    response = client.post(
        f"/enquiries/{enquiry.id}/assign", data={"assign-assignee_id": coordinator.id}
    )

    assert response.status_code == 302
    db.session.refresh(enquiry)
    assert enquiry.assignee_id == coordinator.id
    assert enquiry.status == EnquiryStatus.ASSIGNED
    assert messages(db, "enquiry_assigned") == []

    # Passing it on to a colleague tells the colleague.
    member = make_user(Role.MEMBER)
    client.post(f"/enquiries/{enquiry.id}/assign", data={"assign-assignee_id": member.id})
    assert [m.recipient for m in messages(db, "enquiry_assigned")] == [member.email]
