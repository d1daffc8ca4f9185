"""The daily agreement job: notice and end reminders, once per event and date, and expiry."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from crm.agreements import reminders
from crm.agreements.models import (
    AgreementKind,
    AgreementReminder,
    AgreementStatus,
    ReminderEvent,
)
from crm.agreements.services import SIGNED_STATUSES
from crm.auth.models import Role
from crm.core.models import AuditEntry
from crm.mail.models import OutboxMessage

START = date(2024, 1, 1)
END = date(2026, 6, 30)
NOTICE = END - timedelta(days=90)


@pytest.fixture
def people(db, make_user):
    owner = make_user(Role.MEMBER, email="owner@example.org", name="Olle Owner")
    owner.language = "en"
    coordinator = make_user(Role.COORDINATOR, email="coord@example.org")
    coordinator.language = "sv"
    # Gone: no reminders for people who have left.
    make_user(Role.COORDINATOR, email="former@example.org", active=False)
    # Neither owner nor coordinator.
    make_user(Role.MEMBER, email="other@example.org")
    make_user(Role.ADMIN, email="admin@example.org")
    db.session.commit()
    return {"owner": owner, "coordinator": coordinator}


@pytest.fixture
def make_framework(make_agreement, make_organisation):
    """A framework agreement with Region Uppsala from START to `end`, active (signed on its
    first day) unless told otherwise, with 90 days' notice."""
    region = make_organisation("Region Uppsala")

    def make(
        owner=None,
        *,
        status=AgreementStatus.ACTIVE,
        end=END,
        title="Framework with Region Uppsala",
        **fields,
    ):
        return make_agreement(
            title,
            parties=[region],
            kind=AgreementKind.FRAMEWORK,
            status=status,
            owner=owner,
            signed_date=START if status in SIGNED_STATUSES else None,
            start_date=START,
            end_date=end,
            **fields,
        )

    return make


def messages(db):
    return db.session.scalars(
        sa.select(OutboxMessage)
        .where(OutboxMessage.kind == "agreement_reminder")
        .order_by(OutboxMessage.id)
    ).all()


def reminder_rows(db):
    return db.session.execute(
        sa.select(AgreementReminder.event, AgreementReminder.event_date).order_by(
            AgreementReminder.id
        )
    ).all()


def run(db, today):
    counts = reminders.run_agreement_reminders(today=today)
    db.session.commit()
    return counts


def test_nothing_before_the_warning_ahead_of_the_notice_date(db, people, make_framework):
    make_framework(people["owner"])

    # The warning comes 30 days (the default agreement_warning_days) before the notice date.
    assert run(db, NOTICE - timedelta(days=31)) == {"reminders": 0, "emails": 0, "expired": 0}
    assert messages(db) == []
    assert reminder_rows(db) == []


def test_notice_reminder_goes_once_to_owner_and_coordinators_each_in_their_language(
    db, people, make_framework
):
    agreement = make_framework(people["owner"])

    first = run(db, NOTICE)
    second = run(db, NOTICE)
    # A later day inside the notice period: still the same event and date.
    third = run(db, NOTICE + timedelta(days=5))

    assert first == {"reminders": 1, "emails": 2, "expired": 0}
    assert second == third == {"reminders": 0, "emails": 0, "expired": 0}
    assert reminder_rows(db) == [(ReminderEvent.NOTICE, NOTICE)]
    sent = messages(db)
    assert [(m.recipient, m.language) for m in sent] == [
        ("owner@example.org", "en"),
        ("coord@example.org", "sv"),
    ]
    english = sent[0]
    assert "Framework with Region Uppsala" in english.subject
    assert "notice" in english.subject.lower()
    assert "Hello Olle Owner," in english.body_text
    assert "renewal notice date" in english.body_text
    assert "2026" in english.body_text
    assert f"/agreements/{agreement.id}" in english.body_text


def test_end_reminder_follows_when_the_end_date_is_reached(db, people, make_framework):
    make_framework(people["owner"])
    run(db, NOTICE)

    counts = run(db, END)
    again = run(db, END)

    assert counts == {"reminders": 1, "emails": 2, "expired": 0}
    assert again == {"reminders": 0, "emails": 0, "expired": 0}
    assert reminder_rows(db) == [(ReminderEvent.NOTICE, NOTICE), (ReminderEvent.END, END)]
    end_mails = messages(db)[2:]
    assert len(end_mails) == 2
    english, swedish = end_mails
    assert english.subject == "Agreement ends: Framework with Region Uppsala"
    assert swedish.subject == "Avtalet löper ut: Framework with Region Uppsala"


def test_agreement_past_its_end_becomes_expired_with_an_audit_entry(db, people, make_framework):
    agreement = make_framework(people["owner"])
    signed = make_framework(status=AgreementStatus.SIGNED, title="Signed NDA")
    future = make_framework(end=END + timedelta(days=365), title="Later")

    counts = run(db, END + timedelta(days=1))
    again = run(db, END + timedelta(days=2))

    # Not reminded earlier: the end reminder goes out, then the agreement expires.
    assert counts == {"reminders": 2, "emails": 3, "expired": 2}
    assert again == {"reminders": 0, "emails": 0, "expired": 0}
    for record in (agreement, signed, future):
        db.session.refresh(record)
    assert agreement.status == AgreementStatus.EXPIRED
    assert signed.status == AgreementStatus.EXPIRED
    assert future.status == AgreementStatus.ACTIVE
    entries = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.entity_type == "agreements")
    ).all()
    # Besides the job's entries, the history holds each agreement's creation (the factory
    # creates them through the service).
    assert sorted((e.entity_id, e.action) for e in entries) == sorted(
        [(agreement.id, "update"), (signed.id, "update")]
        + [(record.id, "create") for record in (agreement, signed, future)]
    )
    updates = [e for e in entries if e.action == "update"]
    assert [e.changes["status"][1] for e in updates] == ["expired", "expired"]


@pytest.mark.parametrize(
    "status",
    [
        AgreementStatus.DRAFT,
        AgreementStatus.NEGOTIATION,
        AgreementStatus.TERMINATED,
        AgreementStatus.EXPIRED,
    ],
)
def test_agreements_not_in_force_get_no_reminders_and_keep_their_status(
    db, people, status, make_framework
):
    agreement = make_framework(people["owner"], status=status)

    assert run(db, END + timedelta(days=1)) == {"reminders": 0, "emails": 0, "expired": 0}
    assert messages(db) == []
    db.session.refresh(agreement)
    assert agreement.status == status


def test_deleted_and_open_ended_agreements_get_no_reminders(db, people, make_framework):
    make_framework(people["owner"], deleted=True)
    make_framework(people["owner"], end=None, title="Open-ended")

    assert run(db, END) == {"reminders": 0, "emails": 0, "expired": 0}
    assert messages(db) == []


def test_a_renewed_end_date_brings_new_reminders(db, people, make_framework):
    agreement = make_framework(people["owner"])
    run(db, NOTICE)
    assert len(messages(db)) == 2

    new_end = END + timedelta(days=365)
    agreement.end_date = new_end
    db.session.commit()
    new_notice = new_end - timedelta(days=90)
    assert run(db, new_notice - timedelta(days=31))["reminders"] == 0

    assert run(db, new_notice)["reminders"] == 1
    assert reminder_rows(db) == [
        (ReminderEvent.NOTICE, NOTICE),
        (ReminderEvent.NOTICE, new_notice),
    ]
    assert len(messages(db)) == 4


def test_owner_who_is_a_coordinator_gets_one_email(db, people, make_framework):
    make_framework(people["coordinator"])

    assert run(db, NOTICE) == {"reminders": 1, "emails": 1, "expired": 0}
    assert [m.recipient for m in messages(db)] == ["coord@example.org"]


def test_zero_notice_days_means_only_the_end_reminder(db, people, make_framework):
    make_framework(people["owner"], renewal_notice_days=0)

    assert run(db, END - timedelta(days=31))["reminders"] == 0
    assert run(db, END)["reminders"] == 1
    assert reminder_rows(db) == [(ReminderEvent.END, END)]


def test_a_reminder_claimed_by_another_run_is_not_sent_again(db, people, make_framework):
    agreement = make_framework(people["owner"])
    assert reminders._claim_reminder(agreement, ReminderEvent.NOTICE, NOTICE) is True
    assert reminders._claim_reminder(agreement, ReminderEvent.NOTICE, NOTICE) is False
    db.session.commit()

    assert run(db, NOTICE) == {"reminders": 0, "emails": 0, "expired": 0}
    assert messages(db) == []


def test_reminders_cli_reports_agreement_counts(app, db, runner, people, make_framework):
    today = reminders.local_today()
    make_framework(
        people["owner"],
        end=today + timedelta(days=10),
        renewal_notice_days=30,
        title="Ending soon",
    )
    make_framework(people["owner"], end=today - timedelta(days=3), title="Ended")

    result = runner.invoke(args=["crm", "reminders"])
    assert result.exit_code == 0, result.output
    assert "Task reminders:" in result.output
    assert "Agreement reminders: 2 reminders in 4 e-mails queued; 1 agreements expired." in (
        result.output
    )
    result = runner.invoke(args=["crm", "reminders"])
    assert "Agreement reminders: 0 reminders in 0 e-mails queued; 0 agreements expired." in (
        result.output
    )
    assert len(messages(db)) == 4
