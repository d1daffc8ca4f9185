"""Follow-up tasks: creating them from each kind of subject, editing, completing, "my tasks",
who may do what, and the daily reminder job."""

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from crm.activities import task_services as services
from crm.activities.models import TASK_SUBJECT_COLUMNS, ActivityKind, Task, TaskReminder
from crm.auth.models import Role
from crm.core import records
from crm.core.models import AuditEntry
from crm.mail.models import OutboxMessage
from tests.helpers import count_queries, sqlite_plans

EN = {"Accept-Language": "en"}


@pytest.fixture(autouse=True)
def english(client):
    """The assertions read English; a signed-in user's own language beats Accept-Language."""
    with client.session_transaction() as session:
        session["lang"] = "en"


@pytest.fixture
def subjects(make_organisation, make_contact, make_agreement, make_activity, make_enquiry):
    """One committed record of every kind a task can follow up."""
    organisation = make_organisation("Ångström AB")
    contact = make_contact("Ada", "Lind")
    agreement = make_agreement("MoU Ångström", parties=[organisation])
    activity = make_activity("AI seminar", kind=ActivityKind.SEMINAR, start_date=date(2026, 5, 4))
    enquiry = make_enquiry(name="Sender", email="sender@example.com", message="Hello")
    return {
        "organisation_id": organisation,
        "contact_id": contact,
        "agreement_id": agreement,
        "activity_id": activity,
        "enquiry_id": enquiry,
    }


def task_form(title):
    """The task form as a browser sends it, with only the title filled in."""
    return {"title": title, "due_date": "", "assignee_id": ""}


def tasks_in(db):
    return db.session.scalars(sa.select(Task).order_by(Task.id)).all()


@pytest.mark.parametrize("column", TASK_SUBJECT_COLUMNS)
def test_create_a_task_from_each_kind_of_subject(client, db, login, subjects, column):
    user = login(Role.COORDINATOR)
    subject = subjects[column]
    url = f"/tasks/new?{column}={subject.id}"
    page = client.get(url, headers=EN)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert services.subject_name(column, subject) in text
    # The signed-in user is the default assignee.
    assert re.search(rf'<option selected value="{user.id}">|value="{user.id}" selected', text)

    response = client.post(
        url, data={"title": "Call back", "due_date": "2026-12-01", "assignee_id": str(user.id)}
    )
    assert response.status_code == 302
    (task,) = tasks_in(db)
    assert getattr(task, column) == subject.id
    assert task.title == "Call back"
    assert task.due_date == date(2026, 12, 1)
    assert task.assignee_id == user.id
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.entity_type == "tasks"))
    assert entry.entity_id == task.id and entry.action == "create"


def test_after_saving_goes_to_a_safe_next_or_the_subject(client, db, login, subjects):
    login(Role.MEMBER)
    organisation = subjects["organisation_id"]
    url = f"/tasks/new?organisation_id={organisation.id}"
    response = client.post(url, data=task_form("One"))
    assert response.headers["Location"].endswith(f"/organisations/{organisation.id}")
    response = client.post(url + "&next=/tasks/?state=done", data=task_form("Two"))
    assert response.headers["Location"].endswith("/tasks/?state=done")
    response = client.post(url + "&next=//evil.example", data=task_form("Three"))
    assert "evil" not in response.headers["Location"]


def test_bad_due_date_gives_a_message_and_stores_nothing(client, db, login, subjects):
    login(Role.MEMBER)
    contact = subjects["contact_id"]
    response = client.post(
        f"/tasks/new?contact_id={contact.id}",
        data={"title": "Call back", "due_date": "2026-02-30"},
        headers=EN,
    )
    assert response.status_code == 200
    assert "This is not a date" in response.get_data(as_text=True)
    assert tasks_in(db) == []


@pytest.mark.parametrize("column", TASK_SUBJECT_COLUMNS)
def test_deleted_or_unknown_subject_answers_404(client, db, login, subjects, column):
    login(Role.COORDINATOR)
    subject = subjects[column]
    records.soft_delete(subject, actor=None)
    db.session.commit()
    assert client.get(f"/tasks/new?{column}={subject.id}").status_code == 404
    assert client.post(f"/tasks/new?{column}={subject.id}", data={"title": "X"}).status_code == 404
    assert client.get(f"/tasks/new?{column}=999999").status_code == 404
    assert client.get(f"/tasks/new?{column}=abc").status_code == 404
    assert tasks_in(db) == []


def test_member_cannot_create_a_task_on_someone_elses_enquiry(
    client, db, login, make_user, subjects
):
    enquiry = subjects["enquiry_id"]
    other = make_user(Role.MEMBER)
    enquiry.assignee_id = other.id
    db.session.commit()
    member = login(Role.MEMBER)
    assert client.get(f"/tasks/new?enquiry_id={enquiry.id}").status_code == 404
    response = client.post(f"/tasks/new?enquiry_id={enquiry.id}", data={"title": "Sneak"})
    assert response.status_code == 404
    assert tasks_in(db) == []
    # Their own enquiry is fine.
    enquiry.assignee_id = member.id
    db.session.commit()
    response = client.post(f"/tasks/new?enquiry_id={enquiry.id}", data=task_form("Follow up"))
    assert response.status_code == 302
    assert len(tasks_in(db)) == 1


def test_a_subject_page_lists_its_own_open_tasks(client, db, login, subjects):
    """The agreement and the activity here share an id; each page shows only its own task."""
    login(Role.COORDINATOR)
    agreement, activity = subjects["agreement_id"], subjects["activity_id"]
    assert agreement.id == activity.id
    services.create_task(
        title="Sign the MoU", subject=agreement, subject_kind="agreement_id", actor=None
    )
    services.create_task(
        title="Send the slides", subject=activity, subject_kind="activity_id", actor=None
    )
    db.session.commit()

    agreement_page = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    activity_page = client.get(f"/activities/{activity.id}").get_data(as_text=True)

    assert "Sign the MoU" in agreement_page and "Send the slides" not in agreement_page
    assert "Send the slides" in activity_page and "Sign the MoU" not in activity_page


def test_viewers_may_read_but_not_create_or_change(client, db, login, make_user, subjects):
    owner = make_user(Role.MEMBER)
    task = services.create_task(title="Existing", assignee=owner, actor=owner)
    db.session.commit()
    login(Role.VIEWER)
    assert client.get("/tasks/?assignee=all").status_code == 200
    assert client.get("/tasks/new").status_code == 403
    org = subjects["organisation_id"]
    response = client.post(f"/tasks/new?organisation_id={org.id}", data={"title": "X"})
    assert response.status_code == 403
    assert client.get(f"/tasks/{task.id}/edit").status_code == 403
    assert client.post(f"/tasks/{task.id}/complete").status_code == 403
    assert len(tasks_in(db)) == 1


def test_edit_complete_and_reopen_with_history(client, db, login):
    user = login(Role.MEMBER)
    task = services.create_task(title="Write report", assignee=user, actor=user)
    db.session.commit()
    response = client.post(
        f"/tasks/{task.id}/edit",
        data={"title": "Write the report", "due_date": "2026-06-01", "assignee_id": str(user.id)},
    )
    assert response.status_code == 302
    db.session.refresh(task)
    assert task.title == "Write the report" and task.due_date == date(2026, 6, 1)

    assert client.post(f"/tasks/{task.id}/complete").status_code == 302
    db.session.refresh(task)
    assert task.is_done and task.done_at is not None

    assert client.post(f"/tasks/{task.id}/reopen").status_code == 302
    db.session.refresh(task)
    assert not task.is_done and task.done_at is None

    actions = db.session.scalars(
        sa.select(AuditEntry.action)
        .where(AuditEntry.entity_type == "tasks", AuditEntry.entity_id == task.id)
        .order_by(AuditEntry.id)
    ).all()
    assert actions == ["create", "update", "complete", "reopen"]
    client.post("/language/en?next=/")
    page = client.get(f"/tasks/{task.id}/edit").get_data(as_text=True)
    assert "History" in page and "reopened" in page


def test_edit_with_a_bad_date_changes_nothing(client, db, login):
    user = login(Role.MEMBER)
    task = services.create_task(
        title="Keep me", due_date=date(2026, 1, 1), assignee=user, actor=user
    )
    db.session.commit()
    response = client.post(
        f"/tasks/{task.id}/edit", data={"title": "Changed", "due_date": "soon"}, headers=EN
    )
    assert response.status_code == 200
    assert "This is not a date" in response.get_data(as_text=True)
    db.session.refresh(task)
    assert task.title == "Keep me" and task.due_date == date(2026, 1, 1)


def test_my_tasks_puts_overdue_first_and_marks_them(client, db, login, make_user):
    user = login(Role.MEMBER)
    other = make_user(Role.MEMBER)
    today = services.local_today()
    later = services.create_task(
        title="Later task", due_date=today + timedelta(days=5), assignee=user, actor=user
    )
    services.create_task(title="Undated task", assignee=user, actor=user)
    services.create_task(
        title="Overdue task", due_date=today - timedelta(days=3), assignee=user, actor=user
    )
    services.create_task(title="Due today task", due_date=today, assignee=user, actor=user)
    services.create_task(title="Someone else's", due_date=today, assignee=other, actor=user)
    done = services.create_task(title="Finished task", assignee=user, actor=user)
    services.complete_task(done, actor=user)
    db.session.commit()

    assert [task.title for task in services.open_tasks_for(user)] == [
        "Overdue task",
        "Due today task",
        "Later task",
        "Undated task",
    ]
    assert [task.title for task in services.overdue_tasks_for(user)] == ["Overdue task"]
    assert services.is_overdue(later) is False

    client.post("/language/en?next=/")
    page = client.get("/tasks/").get_data(as_text=True)
    positions = [page.index(title) for title in ("Overdue task", "Due today task", "Later task")]
    assert positions == sorted(positions)
    assert "Someone else" not in page and "Finished task" not in page
    # Overdue is said in words, not by colour alone, and only on the overdue row.
    assert page.count('class="badge task-overdue">Overdue<') == 1
    overdue_row = re.search(r'<tr class="task-row overdue">.*?</tr>', page, re.S).group(0)
    assert "Overdue task" in overdue_row
    assert "Subscribe to your calendar" in page

    everyone = client.get("/tasks/?assignee=all", headers=EN).get_data(as_text=True)
    assert "Someone else" in everyone
    theirs = client.get(f"/tasks/?assignee={other.id}", headers=EN).get_data(as_text=True)
    assert "Someone else" in theirs and "Overdue task" not in theirs
    finished = client.get("/tasks/?state=done", headers=EN).get_data(as_text=True)
    assert "Finished task" in finished and "Overdue task" not in finished


def test_my_tasks_is_paginated(client, db, login):
    user = login(Role.MEMBER)
    for number in range(30):
        services.create_task(title=f"Task number {number:02d}", assignee=user, actor=user)
    db.session.commit()
    first = client.get("/tasks/", headers=EN).get_data(as_text=True)
    second = client.get("/tasks/?page=2", headers=EN).get_data(as_text=True)
    assert "Task number 00" in first and "Task number 29" not in first
    assert "Task number 29" in second


# ---------------------------------------------------------------- reminders


def reminder_messages(db):
    return db.session.scalars(
        sa.select(OutboxMessage)
        .where(OutboxMessage.kind == "task_reminder")
        .order_by(OutboxMessage.id)
    ).all()


def test_reminders_once_per_task_and_day(app, db, make_user):
    today = date(2026, 3, 10)
    ada = make_user(Role.MEMBER, email="ada@example.org", name="Ada")
    bo = make_user(Role.COORDINATOR, email="bo@example.org", name="Bo")
    bo.language = "en"
    gone = make_user(Role.MEMBER, email="gone@example.org")
    for title, due, assignee in [
        ("Ring Ada's partner", today, ada),
        ("Overdue for Ada", today - timedelta(days=2), ada),
        ("Not yet due", today + timedelta(days=1), ada),
        ("Bo's overdue", today - timedelta(days=1), bo),
        ("Inactive user's", today, gone),
        ("No due date", None, ada),
    ]:
        services.create_task(title=title, due_date=due, assignee=assignee, actor=None)
    finished = services.create_task(title="Finished", due_date=today, assignee=ada, actor=None)
    services.complete_task(finished, actor=None)
    gone.active = False
    db.session.commit()

    assert services.send_task_reminders(today=today) == {"users": 2, "tasks": 3}
    db.session.commit()
    assert services.send_task_reminders(today=today) == {"users": 0, "tasks": 0}
    db.session.commit()

    messages = reminder_messages(db)
    assert sorted(message.recipient for message in messages) == [
        "ada@example.org",
        "bo@example.org",
    ]
    ada_mail = next(m for m in messages if m.recipient == "ada@example.org")
    assert "Ring Ada's partner" in ada_mail.body_text and "Overdue for Ada" in ada_mail.body_text
    assert "Not yet due" not in ada_mail.body_text and "Finished" not in ada_mail.body_text
    assert "/tasks/" in ada_mail.body_text
    bo_mail = next(m for m in messages if m.recipient == "bo@example.org")
    assert bo_mail.language == "en" and "overdue" in bo_mail.body_text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TaskReminder)) == 3

    # The next day the still-open tasks that are due come again.
    tomorrow = today + timedelta(days=1)
    counts = services.send_task_reminders(today=tomorrow)
    db.session.commit()
    assert counts == {"users": 2, "tasks": 4}
    assert len(reminder_messages(db)) == 4


def test_a_reminder_already_claimed_elsewhere_is_not_sent_again(app, db, make_user):
    """Another run inserted the reminder row first: this run treats the task as sent."""
    today = date(2026, 3, 10)
    ada = make_user(Role.MEMBER)
    task = services.create_task(title="Call", due_date=today, assignee=ada, actor=None)
    db.session.commit()
    assert services._claim_reminder(task, today) is True
    assert services._claim_reminder(task, today) is False
    db.session.commit()
    assert services.send_task_reminders(today=today) == {"users": 0, "tasks": 0}


def test_reminders_cli_prints_counts_and_is_idempotent(app, db, runner, make_user):
    ada = make_user(Role.MEMBER)
    services.create_task(title="Due", due_date=services.local_today(), assignee=ada, actor=None)
    db.session.commit()
    result = runner.invoke(args=["crm", "reminders"])
    assert result.exit_code == 0, result.output
    assert "1 tasks in 1 e-mails" in result.output
    result = runner.invoke(args=["crm", "reminders"])
    assert result.exit_code == 0, result.output
    assert "0 tasks in 0 e-mails" in result.output
    assert len(reminder_messages(db)) == 1


def test_task_list_query_count_does_not_grow(client, db, login, subjects):
    user = login(Role.COORDINATOR)

    def add_tasks():
        for column, subject in subjects.items():
            services.create_task(
                title=f"About {column}",
                assignee=user,
                subject=subject,
                subject_kind=column,
                actor=user,
            )
        db.session.commit()

    add_tasks()
    client.get("/tasks/?assignee=all")
    with count_queries(db) as few:
        assert client.get("/tasks/?assignee=all").status_code == 200
    add_tasks()
    add_tasks()
    with count_queries(db) as more:
        assert client.get("/tasks/?assignee=all").status_code == 200
    assert len(more) == len(few)


# ---------------------------------------------------------------- who sees enquiry tasks


@pytest.fixture
def enquiry_task(db, make_user, subjects):
    """A task about an enquiry assigned to one member; the task itself is a coordinator's."""
    coordinator = make_user(Role.COORDINATOR)
    handler = make_user(Role.MEMBER)
    enquiry = subjects["enquiry_id"]
    enquiry.assignee_id = handler.id
    task = services.create_task(
        title="Call Ångström about the trial",
        assignee=coordinator,
        subject=enquiry,
        subject_kind="enquiry_id",
        actor=coordinator,
    )
    plain = services.create_task(title="Order coffee", assignee=coordinator, actor=coordinator)
    db.session.commit()
    return {
        "task": task,
        "plain": plain,
        "coordinator": coordinator,
        "handler": handler,
        "reference": enquiry.reference,
    }


def task_lists(client, user_id):
    """The task list pages someone may open to find other people's tasks."""
    urls = [
        "/tasks/?assignee=all",
        f"/tasks/?assignee={user_id}",
        "/tasks/?assignee=all&state=open",
    ]
    return {url: client.get(url).get_data(as_text=True) for url in urls}


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MEMBER])
def test_task_lists_hide_enquiry_tasks_from_those_who_may_not_read_the_enquiry(
    client, db, login, enquiry_task, role
):
    login(role)
    for url, page in task_lists(client, enquiry_task["coordinator"].id).items():
        assert "Order coffee" in page, url
        assert "Call Ångström about the trial" not in page, url
        assert enquiry_task["reference"] not in page, url
        assert "1 task" in page, url
    if role == Role.MEMBER:
        assert client.get(f"/tasks/{enquiry_task['task'].id}/edit").status_code == 404


@pytest.mark.parametrize("who", ["handler", "coordinator", "admin"])
def test_those_who_may_read_the_enquiry_see_its_tasks(client, db, login, enquiry_task, who):
    login(Role.ADMIN if who == "admin" else enquiry_task[who])
    for url, page in task_lists(client, enquiry_task["coordinator"].id).items():
        assert "Call Ångström about the trial" in page, url
        assert enquiry_task["reference"] in page, url
        assert "2 tasks" in page, url


def test_the_member_given_an_enquiry_task_sees_it_as_on_its_page(
    client, db, login, make_user, enquiry_task
):
    """Someone given a task about another's enquiry can open the task (not the enquiry), so
    their lists show it too."""
    helper = make_user(Role.MEMBER)
    task = enquiry_task["task"]
    task.assignee_id = helper.id
    db.session.commit()
    login(helper)

    assert client.get(f"/tasks/{task.id}/edit").status_code == 200
    assert "Call Ångström about the trial" in client.get("/tasks/").get_data(as_text=True)
    assert "Call Ångström about the trial" in client.get("/dashboard/").get_data(as_text=True)


def test_open_tasks_and_reminders_follow_the_same_rule(app, db, make_user, enquiry_task):
    """A user demoted to viewer keeps an old enquiry task in the database, not in their lists."""
    task = enquiry_task["task"]
    former = make_user(Role.MEMBER)
    task.assignee_id = former.id
    task.due_date = date(2026, 1, 1)
    former.role = Role.VIEWER
    db.session.commit()

    assert services.open_tasks_for(former) == []
    assert services.due_tasks_for(former, today=date(2026, 1, 2)) == []


@pytest.mark.parametrize("role", ["member", "coordinator"])
def test_task_lists_look_up_each_tasks_enquiry_not_every_enquiry(
    client, db, login, make_enquiry, role
):
    """Whether a task's enquiry may be read is looked up for that task: listing every
    readable enquiry's id first (20,000 of them at SPEC §6's scale) to show someone's few
    tasks made the overview's count of them cost more than the rest of its queries."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plans read here are SQLite's")
    user = login(role)
    for number in range(3):
        enquiry = make_enquiry()
        services.create_task(
            title=f"Answer {number}",
            assignee=user,
            subject=enquiry,
            subject_kind="enquiry_id",
            actor=user,
        )
    db.session.commit()

    with sqlite_plans(db, containing="FROM tasks") as plans:
        assert client.get("/tasks/").status_code == 200
        assert client.get("/tasks/?assignee=all").status_code == 200
        assert client.get("/dashboard/").status_code == 200

    enquiry_reads = [line for lines in plans for line in lines if " enquiries " in f"{line} "]
    assert enquiry_reads
    assert [line for line in enquiry_reads if "PRIMARY KEY" not in line] == []
