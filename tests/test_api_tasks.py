"""The tasks resource of the REST API, through real tokens and the real app: the task pages'
filters, form and services, and who may see a task about an enquiry."""

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from crm.activities import task_services as services
from crm.activities.models import TASK_SUBJECT_COLUMNS, Task
from crm.auth.models import ApiScope, Role
from crm.core.models import AuditEntry
from crm.mail.models import OutboxMessage
from tests.factories import (
    make_activity,
    make_agreement,
    make_contact,
    make_enquiry,
    make_organisation,
)

PROBLEM = "application/problem+json"


def _task(title, *, actor=None, subject=None, column=None, **fields):
    task = services.create_task(
        title=title, subject=subject, subject_kind=column, actor=actor, **fields
    )
    from crm.extensions import db

    db.session.commit()
    return task


def _tasks(db):
    return db.session.scalars(sa.select(Task).order_by(Task.id)).all()


def _titles(api, query=""):
    response = api.get(f"/api/v1/tasks/?{query}")
    assert response.status_code == 200, response.json
    return [item["title"] for item in response.json["items"]]


def _walk(api, query):
    return api.walk("/api/v1/tasks/", query)


@pytest.fixture
def subjects():
    """One record of every kind a task can follow up."""
    organisation = make_organisation("Ångström AB")
    return {
        "organisation_id": organisation,
        "contact_id": make_contact("Ada", "Lind"),
        "agreement_id": make_agreement("MoU Ångström", parties=[organisation]),
        "activity_id": make_activity("AI seminar"),
        "enquiry_id": make_enquiry(name="Sender", email="sender@example.com"),
    }


def test_the_list_is_the_task_pages_walked_by_cursor(api_client, make_user):
    api = api_client(Role.MEMBER)
    other = make_user(Role.MEMBER)
    me = api.user
    for number, due in enumerate([5, 1, None, 3, 2, 4]):
        _task(
            f"Uppgift {number}",
            due_date=date(2026, 3, due) if due else None,
            assignee=me,
            actor=me,
        )
    _task("Någon annans", due_date=date(2026, 3, 1), assignee=other, actor=other)
    _task("Ingens", actor=me)

    # Like the page: my open tasks, soonest due first, those without a due date last;
    # -due is the exact reverse.
    by_due = ["Uppgift 1", "Uppgift 4", "Uppgift 3", "Uppgift 5", "Uppgift 0", "Uppgift 2"]
    walked, pages = _walk(api, "limit=2")
    assert [item["title"] for item in walked] == by_due
    assert pages == 3
    walked, _pages = _walk(api, "limit=4&sort=-due")
    assert [item["title"] for item in walked] == by_due[::-1]
    assert len(_walk(api, "limit=3&assignee=all")[0]) == 8
    assert _titles(api, f"assignee={other.id}") == ["Någon annans"]
    assert set(_titles(api, "assignee=all&sort=title")) >= {"Ingens", "Någon annans"}


def test_the_list_takes_the_pages_filters_subjects_and_updated_since(api_client, db, subjects):
    api = api_client(Role.COORDINATOR)
    me = api.user
    organisation, contact = subjects["organisation_id"], subjects["contact_id"]
    about_org = _task("Ring Ångström", assignee=me, subject=organisation, column="organisation_id")
    _task("Mejla Ada", assignee=me, subject=contact, column="contact_id")
    done = _task("Klar", assignee=me)
    services.complete_task(done, actor=me)
    old = _task("Gammal", assignee=me)
    old.updated_at = datetime.now(UTC) - timedelta(days=30)
    db.session.commit()

    assert _titles(api, "state=done") == ["Klar"]
    assert _titles(api, f"organisation_id={organisation.id}") == ["Ring Ångström"]
    assert _titles(api, f"contact_id={contact.id}&assignee=all") == ["Mejla Ada"]
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat().replace("+", "%2B")
    assert "Gammal" not in _titles(api, f"updated_since={since}")
    assert "Gammal" in _titles(api, "sort=updated")
    item = api.get(f"/api/v1/tasks/{about_org.id}").json
    assert item["subject"] == {"type": "organisation", "id": organisation.id, "name": "Ångström AB"}
    assert item["organisation_id"] == organisation.id and item["contact_id"] is None

    refused = api.get("/api/v1/tasks/?state=later&assignee=someone&sort=priority&limit=101")
    assert refused.status_code == 422
    assert refused.mimetype == PROBLEM
    fields = {error["field"] for error in refused.json["errors"]}
    assert fields == {"state", "assignee", "sort", "limit"}
    assert api.get("/api/v1/tasks/?assignee=99999999999").status_code == 422


@pytest.mark.parametrize("column", TASK_SUBJECT_COLUMNS)
def test_created_about_each_kind_of_record_it_shows_on_the_records_page(
    app, api_client, signed_in, client, db, subjects, column
):
    api = api_client(Role.COORDINATOR)
    subject = subjects[column]
    response = api.post(
        "/api/v1/tasks/",
        json={"title": "  Skicka   avtalet ", "due_date": "2026-06-01", column: subject.id},
    )
    assert response.status_code == 201, response.json
    created = response.json
    assert response.headers["Location"].endswith(f"/api/v1/tasks/{created['id']}")
    assert created["title"] == "Skicka avtalet"
    assert created["due_date"] == "2026-06-01"
    assert created[column] == subject.id
    assert created["subject"]["type"] == column.removesuffix("_id")
    # The new-task page gives it to the one who makes it.
    assert created["assignee_id"] == api.user.id
    assert created["is_done"] is False

    signed_in(Role.ADMIN)
    with app.test_request_context():
        url = services.subject_url(column, subject)
    page = client.get(url).get_data(as_text=True)
    assert "Skicka avtalet" in page
    entry = db.session.scalar(
        sa.select(AuditEntry).where(
            AuditEntry.entity_type == "tasks", AuditEntry.entity_id == created["id"]
        )
    )
    assert entry.actor_id == api.user.id
    assert entry.api_token_name == "Test integration"


def test_a_task_given_to_someone_else_tells_them_as_the_page_does(api_client, db, make_user):
    api = api_client(Role.MEMBER)
    colleague = make_user(Role.MEMBER)
    response = api.post("/api/v1/tasks/", json={"title": "Boka lokal", "assignee_id": colleague.id})
    assert response.status_code == 201, response.json
    assert response.json["assignee_name"] == colleague.name
    assert db.session.scalar(
        sa.select(OutboxMessage).where(
            OutboxMessage.kind == "task_assigned", OutboxMessage.recipient == colleague.email
        )
    )
    nobody = api.post("/api/v1/tasks/", json={"title": "Plain", "assignee_id": None})
    assert nobody.status_code == 201
    assert nobody.json["assignee_id"] is None and nobody.json["subject"] is None


def test_bad_input_is_refused_field_by_field_and_stores_nothing(
    api_client, db, make_user, subjects
):
    api = api_client(Role.MEMBER)
    viewer = make_user(Role.VIEWER)
    left = make_user(Role.MEMBER, active=False)
    organisation, contact = subjects["organisation_id"], subjects["contact_id"]
    gone = make_organisation("Borta AB", deleted=True)

    def errors(body):
        response = api.post("/api/v1/tasks/", json=body)
        assert response.status_code == 422, (body, response.json)
        assert response.mimetype == PROBLEM
        return {error["field"]: error["detail"] for error in response.json["errors"]}

    assert "Enter what is to be done" in errors({"title": "   "})["title"]
    for user in (viewer, left):
        assert "active member" in errors({"title": "X", "assignee_id": user.id})["assignee_id"]
    fields = errors({"title": "X", "organisation_id": organisation.id, "contact_id": contact.id})
    assert set(fields) == {"organisation_id", "contact_id"}
    assert set(errors({"title": "X", "organisation_id": gone.id})) == {"organisation_id"}
    assert set(errors({"title": "X", "activity_id": 999999})) == {"activity_id"}
    for body in (
        {},
        {"title": "X" * 301},
        {"title": "X", "due_date": "31/3"},
        {"title": "X", "assignee_id": 0},
        {"title": "X", "enquiry_id": "one"},
        {"title": "X", "done_at": "2026-01-01T00:00:00Z"},
        {"title": "X", "subject": None},
    ):
        assert errors(body), body
    assert _tasks(db) == []


def test_a_change_keeps_the_fields_it_does_not_name_and_marks_done(api_client, db, subjects):
    api = api_client(Role.MEMBER)
    organisation = subjects["organisation_id"]
    task = _task(
        "Skriv rapport",
        due_date=date(2026, 5, 1),
        assignee=api.user,
        actor=api.user,
        subject=organisation,
        column="organisation_id",
    )
    url = f"/api/v1/tasks/{task.id}"
    response = api.patch(url, json={"due_date": "2026-06-01"})
    assert response.status_code == 200, response.json
    assert response.json["title"] == "Skriv rapport"
    assert response.json["due_date"] == "2026-06-01"
    assert response.json["assignee_id"] == api.user.id
    assert response.json["organisation_id"] == organisation.id

    done = api.patch(url, json={"is_done": True})
    assert done.status_code == 200
    assert done.json["is_done"] is True and done.json["done_at"] is not None
    assert api.patch(url, json={"is_done": True}).status_code == 200  # already done: no change
    assert _titles(api, "state=done") == ["Skriv rapport"]
    reopened = api.patch(url, json={"is_done": False, "title": "Skriv slutrapport"})
    assert reopened.json["is_done"] is False and reopened.json["done_at"] is None
    assert reopened.json["title"] == "Skriv slutrapport"

    # What it follows up stays (the edit page has no such field); the same id is no change.
    refused = api.patch(url, json={"contact_id": subjects["contact_id"].id})
    assert refused.status_code == 422
    assert [error["field"] for error in refused.json["errors"]] == ["contact_id"]
    assert api.patch(url, json={"organisation_id": organisation.id}).status_code == 200
    refused = api.patch(url, json={"title": " ", "is_done": True})
    assert refused.status_code == 422
    db.session.expire_all()
    assert db.session.get(Task, task.id).title == "Skriv slutrapport"
    assert db.session.get(Task, task.id).is_done is False
    actions = db.session.scalars(
        sa.select(AuditEntry.action)
        .where(AuditEntry.entity_type == "tasks", AuditEntry.entity_id == task.id)
        .order_by(AuditEntry.id)
    ).all()
    assert actions == ["create", "update", "complete", "update", "reopen"]


def test_a_former_assignee_stays_when_other_fields_change(api_client, db, make_user):
    api = api_client(Role.MEMBER)
    former = make_user(Role.MEMBER)
    task = _task("Följ upp", assignee=former, actor=api.user)
    former.active = False
    db.session.commit()
    response = api.patch(f"/api/v1/tasks/{task.id}", json={"title": "Följ upp mötet"})
    assert response.status_code == 200, response.json
    assert response.json["assignee_id"] == former.id
    other = make_user(Role.MEMBER)
    other.active = False
    db.session.commit()
    refused = api.patch(f"/api/v1/tasks/{task.id}", json={"assignee_id": other.id})
    assert refused.status_code == 422


def test_roles_as_on_the_pages_and_no_delete(api_client, db):
    member = api_client(Role.MEMBER)
    task = _task("Boka lokal", assignee=member.user, actor=member.user)
    url = f"/api/v1/tasks/{task.id}"
    # A viewer's token may only read; one made while its user was a member meets the role
    # rule itself once the user is a viewer.
    viewer = api_client(Role.MEMBER)
    viewer.user.role = Role.VIEWER
    db.session.commit()
    assert viewer.get(url).status_code == 200
    assert _titles(viewer, "assignee=all") == ["Boka lokal"]
    assert viewer.patch(url, json={"is_done": True}).status_code == 403
    assert viewer.post("/api/v1/tasks/", json={"title": "X"}).status_code == 403
    assert member.patch(url, json={"is_done": True}).status_code == 200
    assert member.post("/api/v1/tasks/", json={"title": "X"}).status_code == 201
    # The task pages delete no task, so neither does the API.
    coordinator = api_client(Role.COORDINATOR)
    refused = coordinator.delete(url)
    assert refused.status_code == 405
    assert refused.mimetype == PROBLEM
    assert "PATCH" in refused.headers["Allow"]
    assert db.session.get(Task, task.id).deleted_at is None


def test_a_read_only_token_only_reads(api_client, db):
    api = api_client(Role.ADMIN, ApiScope.READ)
    task = _task("Boka lokal", assignee=api.user)
    assert api.get(f"/api/v1/tasks/{task.id}").status_code == 200
    for response in (
        api.post("/api/v1/tasks/", json={"title": "X"}),
        api.patch(f"/api/v1/tasks/{task.id}", json={"is_done": True}),
    ):
        assert response.status_code == 403
        assert response.mimetype == PROBLEM
        assert "insufficient_scope" in response.headers["WWW-Authenticate"]
    assert len(_tasks(db)) == 1
    assert db.session.get(Task, task.id).is_done is False


# ---------------------------------------------------------------- tasks about enquiries


@pytest.fixture
def enquiry_task(db, make_user):
    """A coordinator's task about an enquiry assigned to one member (the handler)."""
    coordinator = make_user(Role.COORDINATOR)
    handler = make_user(Role.MEMBER)
    enquiry = make_enquiry(name="Sender", email="sender@example.com")
    enquiry.assignee_id = handler.id
    db.session.commit()
    task = _task(
        "Ring om studien",
        assignee=coordinator,
        actor=coordinator,
        subject=enquiry,
        column="enquiry_id",
    )
    _task("Beställ kaffe", assignee=coordinator, actor=coordinator)
    return {"task": task, "enquiry": enquiry, "coordinator": coordinator, "handler": handler}


def test_a_member_sees_no_task_about_an_enquiry_they_may_not_read(api_client, db, enquiry_task):
    member = api_client(Role.MEMBER)
    task, enquiry = enquiry_task["task"], enquiry_task["enquiry"]
    coordinator_id = enquiry_task["coordinator"].id
    for query in ("assignee=all", f"assignee={coordinator_id}", f"enquiry_id={enquiry.id}"):
        assert "Ring om studien" not in _titles(member, query), query
    assert _titles(member, "assignee=all") == ["Beställ kaffe"]
    url = f"/api/v1/tasks/{task.id}"
    assert member.get(url).status_code == 404
    assert member.patch(url, json={"is_done": True}).status_code == 404
    assert db.session.get(Task, task.id).is_done is False
    # Nor may they add one to it: the same answer as for an enquiry that does not exist.
    refused = member.post("/api/v1/tasks/", json={"title": "Smyg", "enquiry_id": enquiry.id})
    assert refused.status_code == 422
    unknown = member.post("/api/v1/tasks/", json={"title": "Smyg", "enquiry_id": 999999})
    assert refused.json["errors"] == unknown.json["errors"]
    assert len(_tasks(db)) == 2
    viewer = api_client(Role.VIEWER, ApiScope.READ)
    assert _titles(viewer, "assignee=all") == ["Beställ kaffe"]
    assert viewer.get(url).status_code == 404


def test_those_who_may_read_the_enquiry_see_its_tasks(api_client, db, enquiry_task):
    handler = api_client(enquiry_task["handler"])
    admin = api_client(Role.ADMIN)
    for api in (handler, admin):
        assert "Ring om studien" in _titles(api, "assignee=all")
        item = api.get(f"/api/v1/tasks/{enquiry_task['task'].id}").json
        assert item["subject"]["name"] == enquiry_task["enquiry"].reference
    response = handler.post(
        "/api/v1/tasks/", json={"title": "Svara", "enquiry_id": enquiry_task["enquiry"].id}
    )
    assert response.status_code == 201, response.json


def test_the_member_given_a_task_about_anothers_enquiry_sees_the_task(
    api_client, db, make_user, enquiry_task
):
    helper = make_user(Role.MEMBER)
    task = enquiry_task["task"]
    task.assignee_id = helper.id
    db.session.commit()
    api = api_client(helper)
    assert _titles(api) == ["Ring om studien"]
    response = api.patch(f"/api/v1/tasks/{task.id}", json={"is_done": True})
    assert response.status_code == 200
    assert response.json["is_done"] is True


def test_state_all_keeps_another_system_in_step_with_open_and_done_tasks(api_client, db):
    api = api_client(Role.MEMBER)
    me = api.user
    done = _task("Klar", assignee=me, actor=me)
    _task("Öppen", assignee=me, actor=me)
    services.complete_task(done, actor=me)
    db.session.commit()

    assert _titles(api, "state=open") == ["Öppen"]
    assert _titles(api, "state=done") == ["Klar"]
    # Oldest change first: the one marked done last comes last.
    assert _titles(api, "state=all") == ["Öppen", "Klar"]
