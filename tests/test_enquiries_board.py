"""The enquiry board: enquiries by status as columns of cards, and moving a card, which is a
status change with the enquiry page's rules and audit entry."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from crm.core.models import AuditEntry
from crm.enquiries.models import ClosedReason, EnquiryStatus
from tests.helpers import board_cards, board_column, board_queries, sign_in_with_form_token


def cards_in(html, status):
    return board_cards(html, status, "enquiries")


def status_entries(db, enquiry):
    return db.session.scalars(
        sa.select(AuditEntry).where(
            AuditEntry.entity_type == "enquiries",
            AuditEntry.entity_id == enquiry.id,
            AuditEntry.action == "status",
        )
    ).all()


def move(client, enquiry, status, reason=""):
    return client.post(
        f"/enquiries/board/{enquiry.id}/move",
        data={"status-status": status, "status-closed_reason": reason},
    )


@pytest.fixture
def member(make_user):
    return make_user("member", name="Maja Member")


def test_board_shows_each_status_as_a_column_of_cards(client, db, signed_in, make_enquiry, member):
    new = make_enquiry(name="Åsa Öberg", organisation_name="Roche AB", age=timedelta(days=3))
    working = make_enquiry(assignee_id=member.id, status=EnquiryStatus.IN_PROGRESS)
    closed = make_enquiry(closed_ago=timedelta(days=1))
    signed_in("coordinator")

    response = client.get("/enquiries/board")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<h1>Enquiry board</h1>" in html
    assert cards_in(html, "new") == [new.reference]
    assert cards_in(html, "in_progress") == [working.reference]
    assert cards_in(html, "closed") == [closed.reference]
    assert cards_in(html, "assigned") == []
    new_column = board_column(html, "new")
    assert "Åsa Öberg, Roche AB" in new_column
    assert "3 days" in new_column
    assert "Unassigned" in new_column
    assert "Maja Member" in board_column(html, "in_progress")
    # The control on a card offers only the moves the rules allow.
    assert 'value="waiting"' in board_column(html, "in_progress")
    assert 'value="new"' not in board_column(html, "in_progress")
    # List and board link to each other.
    assert 'href="/enquiries/"' in html
    assert 'href="/enquiries/board"' in client.get("/enquiries/").get_data(as_text=True)
    assert 'src="/static/js/board.js"' in html


def test_member_sees_only_their_enquiries(client, db, signed_in, make_enquiry, member, make_user):
    other = make_user("member")
    mine = make_enquiry(assignee_id=member.id, status=EnquiryStatus.ASSIGNED)
    theirs = make_enquiry(assignee_id=other.id, status=EnquiryStatus.ASSIGNED)
    unassigned = make_enquiry()
    signed_in(member)

    html = client.get("/enquiries/board").get_data(as_text=True)

    assert "My enquiry board" in html
    assert cards_in(html, "assigned") == [mine.reference]
    assert theirs.reference not in html
    assert unassigned.reference not in html


def test_viewer_has_no_board(client, signed_in):
    signed_in("viewer")
    assert client.get("/enquiries/board").status_code == 403


def test_moving_a_card_changes_the_status_with_its_audit_entry(
    client, db, signed_in, make_enquiry, member
):
    enquiry = make_enquiry(assignee_id=member.id, status=EnquiryStatus.ASSIGNED)
    signed_in(member)

    response = move(client, enquiry, "in_progress")

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/enquiries/board#enquiry-{enquiry.id}")
    db.session.refresh(enquiry)
    assert enquiry.status == EnquiryStatus.IN_PROGRESS
    [entry] = status_entries(db, enquiry)
    assert entry.actor_id == member.id
    assert entry.changes["status"] == ["assigned", "in_progress"]
    html = client.get("/enquiries/board").get_data(as_text=True)
    assert f"{enquiry.reference} moved to In progress." in html
    assert cards_in(html, "in_progress") == [enquiry.reference]


def test_closing_needs_a_reason(client, db, signed_in, make_enquiry, member):
    enquiry = make_enquiry(assignee_id=member.id, status=EnquiryStatus.IN_PROGRESS)
    signed_in(member)

    response = move(client, enquiry, "closed")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "The card was not moved" in html
    assert "Choose why the enquiry is closed." in html
    assert f'href="#move-{enquiry.id}-reason"' in html
    db.session.refresh(enquiry)
    assert enquiry.status == EnquiryStatus.IN_PROGRESS
    assert status_entries(db, enquiry) == []

    response = move(client, enquiry, "closed", "answered")

    assert response.status_code == 302
    db.session.refresh(enquiry)
    assert enquiry.status == EnquiryStatus.CLOSED
    assert enquiry.closed_reason == ClosedReason.ANSWERED
    assert enquiry.closed_at is not None
    [entry] = status_entries(db, enquiry)
    assert entry.changes["closed_reason"] == [None, "answered"]


@pytest.mark.parametrize(
    ("start", "target", "message"),
    [
        ("in_progress", "new", "cannot move from In progress to New"),
        ("in_progress", "converted", "cannot move from In progress to Converted"),
        ("in_progress", "nonsense", "Choose where to move"),
        ("in_progress", "", "Choose where to move"),
        ("converted", "in_progress", "cannot move from Converted to In progress"),
        ("closed", "in_progress", "cannot move from Closed to In progress"),
    ],
)
def test_a_move_the_rules_forbid_changes_nothing(
    client, db, signed_in, make_enquiry, member, start, target, message
):
    enquiry = make_enquiry(assignee_id=member.id, status=EnquiryStatus(start))
    if start == "closed":
        enquiry.closed_reason = ClosedReason.ANSWERED
        db.session.commit()
    signed_in(member)

    response = move(client, enquiry, target, "answered")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in html
    assert "The card was not moved" in html
    db.session.refresh(enquiry)
    assert enquiry.status == EnquiryStatus(start)
    assert status_entries(db, enquiry) == []


def test_coordinator_reopens_a_closed_enquiry_from_the_board(client, db, signed_in, make_enquiry):
    enquiry = make_enquiry(closed_ago=timedelta(days=2))
    signed_in("coordinator")

    assert move(client, enquiry, "in_progress").status_code == 302

    db.session.refresh(enquiry)
    assert enquiry.status == EnquiryStatus.IN_PROGRESS
    assert enquiry.closed_reason is None


def test_member_cannot_move_another_members_enquiry(
    client, db, signed_in, make_enquiry, member, make_user
):
    other = make_user("member")
    theirs = make_enquiry(assignee_id=other.id, status=EnquiryStatus.ASSIGNED)
    signed_in(member)

    assert move(client, theirs, "in_progress").status_code == 404
    assert client.post("/enquiries/board/999999/move", data={}).status_code == 404

    db.session.refresh(theirs)
    assert theirs.status == EnquiryStatus.ASSIGNED
    assert status_entries(db, theirs) == []


def test_deleted_enquiry_cannot_be_moved(client, db, signed_in, make_enquiry):
    enquiry = make_enquiry()
    enquiry.deleted_at = enquiry.received_at
    db.session.commit()
    signed_in("coordinator")

    assert move(client, enquiry, "in_progress").status_code == 404
    assert enquiry.reference not in client.get("/enquiries/board").get_data(as_text=True)


@pytest.mark.config(WTF_CSRF_ENABLED=True)
def test_a_move_without_the_form_token_changes_nothing(client, db, make_enquiry, member):
    enquiry = make_enquiry(assignee_id=member.id, status=EnquiryStatus.ASSIGNED)
    sign_in_with_form_token(client, member)

    assert move(client, enquiry, "in_progress").status_code == 400

    db.session.refresh(enquiry)
    assert enquiry.status == EnquiryStatus.ASSIGNED
    assert status_entries(db, enquiry) == []


def test_a_long_column_shows_the_first_cards_and_links_to_the_list(
    app, client, db, signed_in, make_enquiry, monkeypatch
):
    from crm.enquiries import board_views

    monkeypatch.setattr(board_views, "CARD_LIMIT", 2)
    oldest = make_enquiry(age=timedelta(days=9))
    middle = make_enquiry(age=timedelta(days=5))
    make_enquiry(age=timedelta(days=1))
    signed_in("coordinator")

    html = client.get("/enquiries/board").get_data(as_text=True)

    assert cards_in(html, "new") == [oldest.reference, middle.reference]
    assert "(3)" in board_column(html, "new")
    assert "2 of 3 shown" in html
    assert 'href="/enquiries/?status=new"' in html


def test_query_count_does_not_grow_with_the_cards(client, db, signed_in, make_enquiry, make_user):
    members = [make_user("member") for _ in range(3)]

    def add(number):
        for index in range(number):
            make_enquiry(
                assignee_id=members[index % 3].id,
                status=list(EnquiryStatus)[index % 4],
            )
        for _ in range(2):
            make_enquiry(closed_ago=timedelta(days=1))

    add(3)
    signed_in("coordinator")
    client.get("/enquiries/board")

    few, html = board_queries(client, db, "/enquiries/board")
    assert len(re.findall(r"data-board-card", html)) == 5
    add(24)
    many, html = board_queries(client, db, "/enquiries/board")
    assert len(re.findall(r"data-board-card", html)) == 31
    assert few == many


def test_board_in_swedish(client, db, login, make_enquiry):
    make_enquiry()
    login("coordinator")
    client.post("/language/sv?next=/")

    html = client.get("/enquiries/board").get_data(as_text=True)

    assert "<h1>Förfrågningstavla</h1>" in html
    assert "Flytta till" in html
    assert 'href="/enquiries/"' in html and "Listvy" in html
