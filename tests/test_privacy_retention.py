"""The retention job: closed enquiries are anonymised after the retention period, with their
outbox messages; open, recent and held ones are left; running it again changes nothing."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from crm.core.topics import Topic
from crm.enquiries import services as enquiry_services
from crm.enquiries.models import Enquiry
from crm.mail.models import OutboxMessage, OutboxStatus
from crm.mail.sending import send_due_messages
from crm.privacy import services
from crm.privacy.models import PrivacyLogEntry
from crm.settings import services as settings


@pytest.fixture
def make_old_enquiry(db, make_enquiry):
    """An enquiry from Kvarnbo AB sent through the public form, its receipt sent, with a staff
    comment naming the sender; closed `closed_days_ago` days ago (open if None), received
    `age` ago, under a legal hold if told."""

    def make(*, closed_days_ago=None, legal_hold=False, age=None):
        enquiry = make_enquiry(
            phone="+46 70 123 45 67",
            organisation_name="Kvarnbo AB",
            topic=Topic.OTHER,
            age=age,
            closed_ago=timedelta(days=closed_days_ago) if closed_days_ago else None,
        )
        enquiry_services.add_comment(enquiry, f"Spoke to {enquiry.name}.", actor=None)
        if legal_hold:
            services.set_legal_hold(enquiry, reason="Public record", actor=None)
        db.session.commit()
        send_due_messages()
        return enquiry

    return make


def test_months_before_handles_month_ends():
    moment = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
    assert services.months_before(moment, 1) == datetime(2026, 2, 28, 12, 0, tzinfo=UTC)
    assert services.months_before(moment, 24) == datetime(2024, 3, 31, 12, 0, tzinfo=UTC)
    assert services.months_before(moment, 15) == datetime(2024, 12, 31, 12, 0, tzinfo=UTC)


def test_retention_anonymises_only_what_is_due_and_is_idempotent(db, runner, make_old_enquiry):
    due = make_old_enquiry(closed_days_ago=800)  # more than 24 months
    recent = make_old_enquiry(closed_days_ago=300)
    still_open = make_old_enquiry(age=timedelta(days=1000))
    held = make_old_enquiry(closed_days_ago=900, legal_hold=True)

    result = runner.invoke(args=["crm", "retention"])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "Anonymised 1 enquiries and 1 outbox messages; deleted 0 e-mails and 0 attachments; "
        "skipped 1 under legal hold."
    )
    db.session.expire_all()
    anonymised = db.session.get(Enquiry, due.id)
    assert anonymised.anonymised_at is not None
    assert anonymised.name == services.ANONYMISED
    assert anonymised.email == "" and anonymised.phone is None
    assert anonymised.message == services.ANONYMISED
    assert anonymised.organisation_name is None
    assert anonymised.reference == due.reference
    assert anonymised.comments[0].body == services.ANONYMISED
    message = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.enquiry_id == due.id)
    ).one()
    assert message.recipient == "" and message.body_text == ""
    assert "sender1@" not in message.subject

    for kept in (recent, still_open, held):
        enquiry = db.session.get(Enquiry, kept.id)
        assert enquiry.anonymised_at is None
        assert enquiry.email.startswith("sender")
        assert enquiry.comments[0].body.startswith("Spoke to")
        outbox = db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.enquiry_id == kept.id)
        ).one()
        assert outbox.recipient == enquiry.email

    before = db.session.get(Enquiry, due.id).anonymised_at
    again = runner.invoke(args=["crm", "retention"])

    assert again.exit_code == 0
    assert again.output.strip() == (
        "Anonymised 0 enquiries and 0 outbox messages; deleted 0 e-mails and 0 attachments; "
        "skipped 1 under legal hold."
    )
    db.session.expire_all()
    assert db.session.get(Enquiry, due.id).anonymised_at == before

    entries = db.session.scalars(sa.select(PrivacyLogEntry).order_by(PrivacyLogEntry.id)).all()
    assert [entry.action for entry in entries] == ["retention", "retention"]
    assert entries[0].counts["enquiries"] == 1
    assert entries[1].counts["enquiries"] == 0
    assert entries[0].actor_id is None


def test_retention_uses_the_configured_months(db, make_old_enquiry):
    settings.put("retention_months", 6)
    db.session.commit()
    due = make_old_enquiry(closed_days_ago=200)
    recent = make_old_enquiry(closed_days_ago=150)

    counts = services.apply_retention()
    db.session.commit()

    assert counts == {
        "enquiries": 1,
        "outbox_messages": 1,
        "emails": 0,
        "documents": 0,
        "held": 0,
    }
    assert db.session.get(Enquiry, due.id).anonymised_at is not None
    assert db.session.get(Enquiry, recent.id).anonymised_at is None


def test_retention_stops_pending_messages_being_sent(db, make_old_enquiry):
    due = make_old_enquiry(closed_days_ago=800)
    message = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.enquiry_id == due.id)
    ).one()
    message.status = OutboxStatus.PENDING
    db.session.commit()

    services.apply_retention()
    db.session.commit()

    assert db.session.get(OutboxMessage, message.id).status == OutboxStatus.FAILED


def test_retention_with_nothing_due_reports_zero(runner):
    result = runner.invoke(args=["crm", "retention"])
    assert result.exit_code == 0
    assert "Anonymised 0 enquiries and 0 outbox messages; deleted 0 e-mails" in result.output
    assert "skipped 0 under legal hold" in result.output
