"""The agreement board: agreements by lifecycle stage as columns of cards, and moving a card,
which is the agreement page's status change (its lifecycle, its date rules, its audit)."""

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from crm.agreements.models import AgreementStatus
from crm.core.models import AuditEntry
from tests.helpers import board_cards, board_column, board_queries, sign_in_with_form_token


def cards_in(html, status):
    return board_cards(html, status, "agreements")


def status_entries(db, agreement):
    """The history's status changes (its entry for the creation aside)."""
    entries = db.session.scalars(
        sa.select(AuditEntry).where(
            AuditEntry.entity_type == "agreements",
            AuditEntry.entity_id == agreement.id,
            AuditEntry.action == "update",
        )
    ).all()
    return [entry for entry in entries if "status" in (entry.changes or {})]


def move(client, agreement, status):
    return client.post(f"/agreements/board/{agreement.id}/move", data={"status": status})


@pytest.fixture
def partner(make_organisation):
    return make_organisation("Karolinska Lab")


@pytest.fixture
def member(make_user):
    return make_user("member", name="Maja Member")


def test_board_shows_each_stage_as_a_column_of_cards(
    client, db, signed_in, make_agreement, partner, member
):
    draft = make_agreement("Sample MoU", parties=[partner], owner=member)
    active = make_agreement(
        "Framework",
        parties=[partner],
        status=AgreementStatus.ACTIVE,
        signed_date=date(2025, 1, 10),
        start_date=date(2025, 2, 1),
        end_date=date(2030, 1, 31),
    )
    signed_in("member")

    response = client.get("/agreements/board")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<h1>Agreement board</h1>" in html
    assert cards_in(html, "draft") == [draft.title]
    assert cards_in(html, "active") == [active.title]
    assert cards_in(html, "terminated") == []
    draft_column = board_column(html, "draft")
    assert "Karolinska Lab" in draft_column
    assert "Maja Member" in draft_column
    assert "Memorandum of Understanding" in draft_column
    # Only the lifecycle's next stages are offered.
    assert re.findall(r'<option value="(\w+)"', draft_column) == [
        "negotiation",
        "signed",
        "terminated",
    ]
    assert re.findall(r'<option value="(\w+)"', board_column(html, "active")) == [
        "expired",
        "terminated",
    ]
    assert "Jan 31, 2030" in board_column(html, "active")  # the end date
    assert 'href="/agreements/"' in html
    assert 'href="/agreements/board"' in client.get("/agreements/").get_data(as_text=True)


def test_viewer_sees_the_board_without_moves(client, db, signed_in, make_agreement, partner):
    agreement = make_agreement("Sample MoU", parties=[partner])
    signed_in("viewer")

    html = client.get("/agreements/board").get_data(as_text=True)

    assert cards_in(html, "draft") == [agreement.title]
    assert "data-board-move" not in html
    assert "board.js" not in html
    assert move(client, agreement, "negotiation").status_code == 403
    db.session.refresh(agreement)
    assert agreement.status == AgreementStatus.DRAFT


def test_moving_a_card_changes_the_stage_with_its_audit_entry(
    client, db, signed_in, make_agreement, partner, member
):
    agreement = make_agreement("Sample MoU", parties=[partner])
    signed_in(member)

    response = move(client, agreement, "negotiation")

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/agreements/board#agreement-{agreement.id}")
    db.session.refresh(agreement)
    assert agreement.status == AgreementStatus.NEGOTIATION
    [entry] = status_entries(db, agreement)
    assert entry.actor_id == member.id
    assert entry.changes["status"] == ["draft", "negotiation"]
    html = client.get("/agreements/board").get_data(as_text=True)
    assert "Sample MoU moved to Negotiation." in html
    assert cards_in(html, "negotiation") == ["Sample MoU"]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("active", "Sample MoU cannot move from Draft to Active."),
        ("expired", "Sample MoU cannot move from Draft to Expired."),
        ("draft", "Sample MoU cannot move from Draft to Draft."),
        ("nonsense", "Choose where to move Sample MoU."),
        ("", "Choose where to move Sample MoU."),
    ],
)
def test_a_move_the_lifecycle_forbids_changes_nothing(
    client, db, signed_in, make_agreement, partner, target, message
):
    agreement = make_agreement("Sample MoU", parties=[partner])
    signed_in("member")

    response = move(client, agreement, target)

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "The card was not moved" in html
    assert message in html
    db.session.refresh(agreement)
    assert agreement.status == AgreementStatus.DRAFT
    assert status_entries(db, agreement) == []


def test_the_date_rules_apply_on_the_board_too(client, db, signed_in, make_agreement, partner):
    # Signed needs the date it was signed: the card says so and links to the edit form.
    agreement = make_agreement("Sample MoU", parties=[partner])
    signed_in("member")

    response = move(client, agreement, "signed")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Enter the date the agreement was signed (status Signed)." in html
    assert f'href="/agreements/{agreement.id}/edit"' in board_column(html, "draft")
    db.session.refresh(agreement)
    assert agreement.status == AgreementStatus.DRAFT


def test_a_terminated_agreement_stays(client, db, signed_in, make_agreement, partner):
    agreement = make_agreement("Old NDA", parties=[partner], status=AgreementStatus.TERMINATED)
    signed_in("member")

    html = client.get("/agreements/board").get_data(as_text=True)
    assert "Stays in this column." in board_column(html, "terminated")

    response = move(client, agreement, "draft")
    assert "Old NDA cannot move from Terminated to Draft." in response.get_data(as_text=True)
    db.session.refresh(agreement)
    assert agreement.status == AgreementStatus.TERMINATED


def test_deleted_agreement_is_neither_shown_nor_moved(
    client, db, signed_in, make_agreement, partner
):
    agreement = make_agreement("Gone MoU", parties=[partner], deleted=True)
    signed_in("coordinator")

    assert "Gone MoU" not in client.get("/agreements/board").get_data(as_text=True)
    assert move(client, agreement, "negotiation").status_code == 404
    assert client.post("/agreements/board/999999/move", data={}).status_code == 404


@pytest.mark.config(WTF_CSRF_ENABLED=True)
def test_a_move_without_the_form_token_changes_nothing(client, db, make_agreement, partner, member):
    agreement = make_agreement("Sample MoU", parties=[partner])
    sign_in_with_form_token(client, member)

    assert move(client, agreement, "negotiation").status_code == 400

    db.session.refresh(agreement)
    assert agreement.status == AgreementStatus.DRAFT


def test_query_count_does_not_grow_with_the_cards(
    client, db, signed_in, make_agreement, make_organisation, make_user
):
    owners = [make_user("member") for _ in range(3)]

    def add(number):
        for index in range(number):
            parties = [make_organisation(f"Party {number}-{index}-{side}") for side in "ab"]
            fields = {}
            status = [AgreementStatus.DRAFT, AgreementStatus.ACTIVE, AgreementStatus.EXPIRED][
                index % 3
            ]
            if status != AgreementStatus.DRAFT:
                fields = {
                    "signed_date": date.today() - timedelta(days=400),
                    "start_date": date.today() - timedelta(days=300),
                    "end_date": date.today() + timedelta(days=30),
                }
            make_agreement(
                f"Agreement {number}-{index}",
                parties=parties,
                owner=owners[index % 3],
                status=status,
                **fields,
            )

    add(3)
    signed_in("coordinator")
    client.get("/agreements/board")

    few, html = board_queries(client, db, "/agreements/board")
    assert len(re.findall(r"data-board-card", html)) == 3
    add(15)
    many, html = board_queries(client, db, "/agreements/board")
    assert len(re.findall(r"data-board-card", html)) == 18
    assert few == many


def test_a_long_column_shows_the_first_cards_and_links_to_the_list(
    client, signed_in, make_agreement, partner, monkeypatch
):
    from crm.agreements import board_views

    monkeypatch.setattr(board_views, "CARD_LIMIT", 1)
    make_agreement("Alpha", parties=[partner])
    make_agreement("Beta", parties=[partner])
    signed_in("member")

    html = client.get("/agreements/board").get_data(as_text=True)

    assert cards_in(html, "draft") == ["Alpha"]
    assert "1 of 2 shown" in html
    assert 'href="/agreements/?status=draft"' in html


def test_board_in_swedish(client, login, make_agreement, partner):
    make_agreement("Sample MoU", parties=[partner])
    login("member")
    client.post("/language/sv?next=/")

    html = client.get("/agreements/board").get_data(as_text=True)

    assert "<h1>Avtalstavla</h1>" in html
    assert "Flytta till" in html
    assert "Listvy" in html
    assert "Tavelvy" in client.get("/agreements/").get_data(as_text=True)
