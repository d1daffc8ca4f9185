"""The in-app list of what is new for the signed-in user, and the unread count in the
header: assignments by others, replies on their enquiries, tasks due."""

import re
from datetime import date, timedelta

import sqlalchemy as sa

from crm.activities import task_services
from crm.activities.models import Task
from crm.auth.models import Role
from crm.enquiries.models import EnquiryStatus
from crm.mailbox.routing import file_message
from crm.notifications.models import Notification
from tests.helpers import count_queries
from tests.mailbox_messages import message
from tests.test_mailbox_filing import sent_reply


def header_count(html):
    """The number in the header's notifications link, 0 when it shows none."""
    link = re.search(r'class="notifications-link"[^>]*>(.*?)</a>', html, re.S).group(1)
    number = re.search(r'class="badge">(\d+)', link)
    return int(number.group(1)) if number else 0


def page(client, url="/notifications/"):
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_task_given_by_a_colleague_is_listed_and_counted_until_opened(
    client, db, signed_in, auth, make_user
):
    karin = make_user(Role.MEMBER, name="Karin Lund")
    signed_in(Role.COORDINATOR)
    client.post(
        "/tasks/new", data={"title": "Ring Region Uppsala", "due_date": "", "assignee_id": karin.id}
    )
    task = db.session.scalar(sa.select(Task))
    auth.logout()

    signed_in(karin)
    html = page(client, "/tasks/")
    assert header_count(html) == 1
    assert 'href="/notifications/"' in html
    html = page(client)
    assert "gave you the task Ring Region Uppsala" in html
    assert "1 unread" in html

    [notification] = db.session.scalars(sa.select(Notification)).all()
    response = client.post("/notifications/open", data={"notification_id": notification.id})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/tasks/{task.id}/edit")
    html = page(client)
    assert header_count(html) == 0
    assert "0 unread" in html
    # Read, still listed.
    assert "Ring Region Uppsala" in html


def test_what_you_do_yourself_is_not_news(client, db, signed_in, make_enquiry):
    me = signed_in(Role.COORDINATOR)
    enquiry = make_enquiry()
    client.post("/tasks/new", data={"title": "My own", "due_date": "", "assignee_id": me.id})
    client.post(f"/enquiries/{enquiry.id}/assign", data={"assign-assignee_id": me.id})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0
    html = page(client)
    assert header_count(html) == 0
    assert "Nothing new for you." in html


def test_assignments_replies_and_due_tasks_are_listed_newest_first(
    client, db, signed_in, auth, make_user, make_enquiry
):
    member = make_user(Role.MEMBER, name="Maja Member")
    coordinator = signed_in(Role.COORDINATOR)
    enquiry = make_enquiry()
    client.post(f"/enquiries/{enquiry.id}/assign", data={"assign-assignee_id": member.id})
    db.session.refresh(enquiry)
    # A reply from the company arrives on the enquiry.
    enquiry.status = EnquiryStatus.WAITING
    db.session.commit()
    sent_reply(db, enquiry)
    file_message(
        message(
            subject=f"Re: {enquiry.reference}",
            body="Thanks!",
            headers={"In-Reply-To": "<reply-1@example.org>"},
        )
    )
    db.session.commit()
    # A task the system reminds them of today.
    today = task_services.local_today()
    task_services.create_task(title="Due now", due_date=today, assignee=member, actor=coordinator)
    db.session.commit()
    task_services.send_task_reminders(today=today)
    db.session.commit()
    auth.logout()

    signed_in(member)
    html = page(client)
    assert header_count(html) == 4
    texts = re.findall(r'<button type="submit" class="link-button">([^<]*)</button>', html)
    texts = [text for text in texts if text not in ("Sign out", "Svenska")]
    assert texts == [
        "Task due: Due now",
        f"{coordinator.name} gave you the task Due now",
        f"New e-mail on enquiry {enquiry.reference}",
        f"{coordinator.name} assigned the enquiry {enquiry.reference} to you",
    ]

    response = client.post("/notifications/read-all", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "All notifications marked as read." in html
    assert header_count(html) == 0
    assert "Mark all read" not in html


def test_the_list_in_swedish(client, db, login, make_user):
    member = make_user(Role.MEMBER)
    coordinator = make_user(Role.COORDINATOR, name="Cia Coord")
    with client.application.test_request_context("/"):
        task_services.create_task(title="Skriv avtalet", assignee=member, actor=coordinator)
    db.session.commit()
    login(member)
    html = page(client, "/notifications/?lang=sv")
    assert "<h1>Aviseringar</h1>" in html
    assert "Cia Coord gav dig uppgiften Skriv avtalet" in html
    assert "Markera alla som lästa" in html


def test_nobody_opens_or_sees_anothers_notifications(client, db, signed_in, make_user):
    member = make_user(Role.MEMBER)
    other = make_user(Role.MEMBER)
    with client.application.test_request_context("/"):
        task_services.create_task(title="Secret plan", assignee=member, actor=other)
    db.session.commit()
    [notification] = db.session.scalars(sa.select(Notification)).all()

    signed_in(other)
    assert "Secret plan" not in page(client)

    def open_(value):
        return client.post("/notifications/open", data={"notification_id": value}).status_code

    assert open_(notification.id) == 404
    assert open_("x") == 404
    assert open_("99999999999") == 404
    # Naming none goes back to the list.
    assert open_("") == 302
    client.post("/notifications/read-all")
    assert db.session.get(Notification, notification.id).read_at is None


def test_a_deleted_task_leaves_its_notification_without_a_link(client, db, signed_in, make_user):
    member = make_user(Role.MEMBER)
    coordinator = make_user(Role.COORDINATOR)
    with client.application.test_request_context("/"):
        task = task_services.create_task(title="Gone soon", assignee=member, actor=coordinator)
    db.session.commit()
    task.deleted_at = task.created_at + timedelta(seconds=1)
    db.session.commit()
    [notification] = db.session.scalars(sa.select(Notification)).all()

    signed_in(member)
    html = page(client)
    assert "Gone soon" in html and "(deleted)" in html
    response = client.post(
        "/notifications/open", data={"notification_id": notification.id}, follow_redirects=True
    )
    assert "has been deleted" in response.get_data(as_text=True)
    assert db.session.get(Notification, notification.id).read_at is not None


def test_anonymous_visitors_are_sent_to_sign_in(client):
    assert client.get("/notifications/").status_code == 302


def test_the_header_count_is_one_query_and_the_list_does_not_grow_with_rows(
    client, db, signed_in, make_user
):
    member = make_user(Role.MEMBER)
    coordinator = make_user(Role.COORDINATOR)

    def add(count):
        with client.application.test_request_context("/"):
            for number in range(count):
                task_services.create_task(
                    title=f"Task {number}",
                    due_date=date(2026, 1, 1),
                    assignee=member,
                    actor=coordinator,
                )
        db.session.commit()

    signed_in(member)
    add(2)
    page(client)
    with count_queries(db) as few:
        page(client)
    add(20)
    with count_queries(db) as many:
        html = page(client)
    assert header_count(html) == 22
    assert len(few) == len(many)
    counts = [statement for statement in many if "FROM notifications" in statement]
    # The header's count, the page's own count, and the page (its total and its rows).
    assert len([s for s in counts if "count(" in s.lower()]) <= 3
