"""The enquiries resource: who reads which enquiry, and the inbox's actions through the API."""

from datetime import timedelta

import sqlalchemy as sa

from crm.auth.models import ApiScope, Role
from crm.enquiries.models import Enquiry, EnquiryStatus
from crm.mail.models import OutboxMessage
from tests.factories import make_enquiry

PROBLEM = "application/problem+json"


def _references(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["reference"] for item in response.json["items"]]


def test_a_member_reads_only_the_enquiries_assigned_to_them(api_client, make_user):
    member = make_user(Role.MEMBER)
    other = make_user(Role.MEMBER)
    mine = make_enquiry(assignee_id=member.id, status=EnquiryStatus.ASSIGNED)
    theirs = make_enquiry(assignee_id=other.id, status=EnquiryStatus.ASSIGNED)
    unassigned = make_enquiry()

    api = api_client(member)
    assert _references(api.get("/api/v1/enquiries/")) == [mine.reference]
    assert api.get(f"/api/v1/enquiries/{mine.id}").status_code == 200
    for enquiry in (theirs, unassigned):
        response = api.get(f"/api/v1/enquiries/{enquiry.id}")
        assert response.status_code == 404
        assert response.mimetype == PROBLEM
        assert (
            api.patch(f"/api/v1/enquiries/{enquiry.id}", json={"status": "in_progress"}).status_code
            == 404
        )
    assert api.get("/api/v1/enquiries/?assignee=none").status_code == 403

    viewer = api_client(Role.VIEWER, ApiScope.READ)
    assert viewer.get("/api/v1/enquiries/").status_code == 403
    assert viewer.get(f"/api/v1/enquiries/{mine.id}").status_code == 403

    coordinator = api_client(Role.COORDINATOR)
    listed = _references(coordinator.get("/api/v1/enquiries/"))
    # The inbox's order: unassigned first, then the oldest.
    assert listed == [unassigned.reference, mine.reference, theirs.reference]
    assert _references(coordinator.get("/api/v1/enquiries/?assignee=none")) == [
        unassigned.reference
    ]


def test_the_inbox_filters_and_a_cursor_walk(api_client, db):
    api = api_client(Role.COORDINATOR)
    old = make_enquiry(age=timedelta(days=20))
    recent = [make_enquiry(age=timedelta(days=days)) for days in (5, 4, 3, 2, 1)]
    closed = make_enquiry(closed_ago=timedelta(days=1))

    assert closed.reference not in _references(api.get("/api/v1/enquiries/"))
    assert _references(api.get("/api/v1/enquiries/?status=closed")) == [closed.reference]
    assert _references(api.get("/api/v1/enquiries/?older_than_days=10")) == [old.reference]

    walked, cursor = [], None
    while True:
        response = api.get("/api/v1/enquiries/?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        walked += _references(response)
        cursor = response.json["next_cursor"]
        if cursor is None:
            break
    assert walked == [old.reference] + [enquiry.reference for enquiry in recent]
    newest_first = _references(api.get("/api/v1/enquiries/?status=all&sort=-received"))
    everything = sorted([old, *recent, closed], key=lambda e: (e.received_at, e.id), reverse=True)
    assert newest_first == [enquiry.reference for enquiry in everything]
    refused = api.get("/api/v1/enquiries/?status=lost&assignee=someone")
    assert refused.status_code == 422
    assert {error["field"] for error in refused.json["errors"]} == {"status", "assignee"}


def test_an_assignee_past_the_largest_id_is_refused_like_any_other_bad_filter(api_client, db):
    # Found by CI: ten digits passed the filter's pattern, and PostgreSQL then refused to
    # compare them with its 32-bit ids (a 500, and on SQLite an empty list as if it were fine).
    api = api_client(Role.COORDINATOR)
    make_enquiry()
    refused = api.get("/api/v1/enquiries/?assignee=9999999999")
    assert refused.status_code == 422
    assert refused.json["errors"] == [{"field": "assignee", "detail": "Give a user's id, or none."}]
    # The largest id there can be is still a fair question, with an empty answer.
    assert api.get("/api/v1/enquiries/?assignee=2147483647").json["items"] == []


def test_assigning_through_the_api_tells_the_assignee_and_shows_on_the_page(
    api_client, make_user, db, signed_in, client
):
    coordinator = api_client(Role.COORDINATOR)
    member = make_user(Role.MEMBER, name="Maja Member")
    enquiry = make_enquiry()
    before = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))

    response = coordinator.patch(f"/api/v1/enquiries/{enquiry.id}", json={"assignee_id": member.id})
    assert response.status_code == 200, response.json
    assert response.json["assignee_id"] == member.id
    assert response.json["status"] == "assigned"
    messages = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert len(messages) == before + 1
    assert messages[-1].recipient == member.email

    signed_in(member)
    page = client.get(f"/enquiries/{enquiry.id}").get_data(as_text=True)
    assert "Maja Member" in page
    assert "Test integration" in page  # the history names the token

    refused = coordinator.patch(f"/api/v1/enquiries/{enquiry.id}", json={"assignee_id": 999999})
    assert refused.status_code == 422
    assert refused.json["errors"][0]["field"] == "assignee_id"


def test_a_member_works_their_enquiry_but_does_not_assign(api_client, make_user, db):
    member = make_user(Role.MEMBER)
    enquiry = make_enquiry(assignee_id=member.id, status=EnquiryStatus.ASSIGNED)
    api = api_client(member)
    url = f"/api/v1/enquiries/{enquiry.id}"

    assert api.patch(url, json={"assignee_id": member.id}).status_code == 403
    no_reason = api.patch(url, json={"status": "closed"})
    assert no_reason.status_code == 422
    assert no_reason.json["errors"][0]["field"] == "closed_reason"
    assert db.session.get(Enquiry, enquiry.id).status == EnquiryStatus.ASSIGNED

    closed = api.patch(url, json={"status": "closed", "closed_reason": "answered"})
    assert closed.status_code == 200
    assert closed.json["status"] == "closed"
    reopen = api.patch(url, json={"status": "in_progress"})
    assert reopen.status_code == 422
    assert "coordinator" in reopen.json["errors"][0]["detail"]

    comment = api.post(f"{url}/comments", json={"body": "  Called them back.  "})
    assert comment.status_code == 201
    assert comment.json["body"] == "Called them back."
    blank = api.post(f"{url}/comments", json={"body": "   "})
    assert blank.status_code == 422
    assert [error["field"] for error in blank.json["errors"]] == ["body"]
    detail = api.get(url).json
    assert [item["body"] for item in detail["comments"]] == ["Called them back."]
    assert detail["conversation"] == []


def test_a_reply_goes_out_through_the_outbox_and_joins_the_conversation(api_client, make_user, db):
    member = make_user(Role.MEMBER)
    enquiry = make_enquiry(
        assignee_id=member.id, status=EnquiryStatus.ASSIGNED, email="anna@acme.example"
    )
    api = api_client(member)
    response = api.post(
        f"/api/v1/enquiries/{enquiry.id}/replies",
        json={"subject": f"Re: {enquiry.reference}", "body": "Thank you, we will call you."},
    )
    assert response.status_code == 202, response.json
    queued = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.recipient == "anna@acme.example")
    ).all()
    assert any("we will call you" in message.body_text for message in queued)
    assert [email["direction"] for email in response.json["conversation"]] == ["out"]
    assert response.json["first_response_at"] is not None

    empty = api.post(f"/api/v1/enquiries/{enquiry.id}/replies", json={"subject": "", "body": ""})
    assert empty.status_code == 422


def test_enquiries_are_neither_created_nor_deleted_through_the_api(api_client):
    api = api_client(Role.ADMIN)
    enquiry = make_enquiry()
    assert api.post("/api/v1/enquiries/", json={"name": "X"}).status_code == 405
    assert api.delete(f"/api/v1/enquiries/{enquiry.id}").status_code == 405
