"""Warnings ahead of an agreement's renewal notice date (the agreement_warning_days
setting), sent once each, with the dates written out when the job runs late."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from crm.agreements import reminders
from crm.agreements.models import AgreementKind, AgreementReminder, AgreementStatus, ReminderEvent
from crm.auth.models import Role
from crm.mail.models import OutboxMessage
from crm.settings import services as settings
from tests.test_admin_settings import valid_form

END = date(2026, 6, 30)
NOTICE = END - timedelta(days=90)  # 1 April 2026


@pytest.fixture
def people(db, make_user):
    owner = make_user(Role.MEMBER, email="owner@example.org", name="Olle Owner")
    owner.language = "en"
    coordinator = make_user(Role.COORDINATOR, email="coord@example.org", name="Cia Coord")
    coordinator.language = "sv"
    make_user(Role.MEMBER, email="other@example.org")
    db.session.commit()
    return {"owner": owner, "coordinator": coordinator}


@pytest.fixture
def agreement(people, make_agreement, make_organisation):
    return make_agreement(
        "Framework with Region Uppsala",
        parties=[make_organisation("Region Uppsala")],
        kind=AgreementKind.FRAMEWORK,
        status=AgreementStatus.ACTIVE,
        owner=people["owner"],
        signed_date=date(2024, 1, 1),
        start_date=date(2024, 1, 1),
        end_date=END,
    )


def run(db, today):
    counts = reminders.run_agreement_reminders(today=today)
    db.session.commit()
    return counts


def sent(db):
    return db.session.scalars(
        sa.select(OutboxMessage)
        .where(OutboxMessage.kind == "agreement_reminder")
        .order_by(OutboxMessage.id)
    ).all()


def events(db):
    return db.session.execute(
        sa.select(AgreementReminder.event, AgreementReminder.event_date).order_by(
            AgreementReminder.id
        )
    ).all()


def test_a_warning_goes_30_days_ahead_once_and_the_notice_reminder_still_follows(db, agreement):
    assert run(db, NOTICE - timedelta(days=31))["reminders"] == 0
    assert sent(db) == []

    assert run(db, NOTICE - timedelta(days=30)) == {"reminders": 1, "emails": 2, "expired": 0}
    # The days after: the warning is not sent again.
    assert run(db, NOTICE - timedelta(days=30))["emails"] == 0
    assert run(db, NOTICE - timedelta(days=1))["emails"] == 0

    english, swedish = sent(db)
    assert english.recipient == "owner@example.org"
    assert english.subject == (
        "Renewal notice date coming up for agreement: Framework with Region Uppsala"
    )
    assert "reaches its renewal notice date on Apr 1, 2026, in 30 days" in english.body_text
    assert "It ends on Jun 30, 2026" in english.body_text
    assert f"/agreements/{agreement.id}" in english.body_text
    assert swedish.recipient == "coord@example.org"
    assert swedish.subject.startswith("Sista uppsägningsdag närmar sig")
    assert "1 apr. 2026, om 30 dagar" in swedish.body_text

    # On the notice date itself, the reminder as before.
    assert run(db, NOTICE) == {"reminders": 1, "emails": 2, "expired": 0}
    assert events(db) == [(ReminderEvent.WARNING, NOTICE), (ReminderEvent.NOTICE, NOTICE)]
    notice = sent(db)[2]
    assert notice.subject == "Renewal notice date for agreement: Framework with Region Uppsala"
    assert "reaches its renewal notice date on Apr 1, 2026" in notice.body_text


def test_a_late_job_counts_the_days_from_when_it_runs(db, agreement):
    # The job did not run for three weeks: the warning says how many days are left now.
    run(db, NOTICE - timedelta(days=9))
    english = sent(db)[0]
    assert "on Apr 1, 2026, in 9 days" in english.body_text


def test_a_job_late_past_the_notice_date_names_the_date_in_the_past(db, agreement):
    assert run(db, NOTICE + timedelta(days=3)) == {"reminders": 1, "emails": 2, "expired": 0}
    # Only the notice reminder; a warning after the date would be no warning.
    assert events(db) == [(ReminderEvent.NOTICE, NOTICE)]
    english, swedish = sent(db)
    assert "reached its renewal notice date on Apr 1, 2026" in english.body_text
    assert "It ends on Jun 30, 2026" in english.body_text
    assert "1 apr. 2026" in swedish.body_text


def test_a_job_late_past_the_end_date_says_the_agreement_has_expired(db, agreement):
    run(db, END + timedelta(days=2))
    english = sent(db)[0]
    assert "ended on Jun 30, 2026 and is now marked as expired" in english.body_text
    db.session.refresh(agreement)
    assert agreement.status == AgreementStatus.EXPIRED


def test_the_warning_follows_the_setting_and_zero_means_none(db, agreement):
    settings.put("agreement_warning_days", 14)
    db.session.commit()
    assert run(db, NOTICE - timedelta(days=15))["reminders"] == 0
    assert run(db, NOTICE - timedelta(days=14))["reminders"] == 1

    agreement.end_date = END + timedelta(days=365)
    settings.put("agreement_warning_days", 0)
    db.session.commit()
    new_notice = NOTICE + timedelta(days=365)
    assert run(db, new_notice - timedelta(days=1))["reminders"] == 0
    assert run(db, new_notice)["reminders"] == 1


def test_admins_set_the_warning_days_on_the_settings_page(db, client, login):
    login(Role.ADMIN)
    page = client.get("/admin/settings?lang=en").get_data(as_text=True)
    assert "<label" in page and 'for="agreement_warning_days"' in page
    assert 'value="30"' in page

    response = client.post("/admin/settings?lang=en", data=valid_form(agreement_warning_days="45"))
    assert response.status_code == 302
    assert settings.get("agreement_warning_days") == 45

    # Empty goes back to the default.
    client.post("/admin/settings?lang=en", data=valid_form(agreement_warning_days=""))
    assert settings.get("agreement_warning_days") == 30


@pytest.mark.parametrize("value", ["-1", "366", "thirty", "1.5"])
def test_bad_warning_days_are_refused_and_nothing_is_saved(db, client, login, value):
    login(Role.ADMIN)
    response = client.post("/admin/settings?lang=en", data=valid_form(agreement_warning_days=value))
    assert response.status_code == 200
    assert "Enter a whole number of days from 0 to 365." in response.get_data(as_text=True)
    assert settings.get("agreement_warning_days") == 30
