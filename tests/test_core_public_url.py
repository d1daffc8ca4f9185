"""PUBLIC_URL: every link in e-mails and feeds names the public address, whatever Host header a
request carried and in jobs that have no request; production needs it and answers only for
its host."""

import re
from datetime import time, timedelta

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from config import ProductionConfig
from crm import create_app
from crm.activities import task_services
from crm.activities.models import ActivityKind
from crm.agreements.models import AgreementKind, AgreementStatus
from crm.auth.models import Role
from crm.core.dates import local_today
from crm.enquiries.models import Enquiry, Topic
from crm.mail.models import OutboxMessage

PUBLIC = "https://crm.example.org"
EVIL = {"Host": "evil.example"}


@pytest.fixture
def client(app):
    """A client whose every request names a forged host (on its cookies too)."""
    client = app.test_client()
    client.environ_base["HTTP_HOST"] = "evil.example"
    return client


pytestmark = pytest.mark.config(PUBLIC_URL=PUBLIC + "/")


def outbox(db, kind):
    return db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
    ).all()


def assert_no_forged_host(db):
    for message in db.session.scalars(sa.select(OutboxMessage)):
        assert "evil.example" not in message.body_text


def test_a_forged_host_on_the_contact_form_does_not_reach_the_coordinators_notice(
    client, db, make_user
):
    make_user(Role.COORDINATOR, email="coordinator@example.org")
    page = client.get("/contact?lang=en").get_data(as_text=True)
    hidden = {
        name: re.search(rf'name="{name}" type="hidden" value="([^"]*)"', page).group(1)
        for name in ("form_token", "consent_text_id")
    }
    response = client.post(
        "/contact?lang=en",
        data={
            **hidden,
            "name": "Erika Exempel",
            "email": "erika@company.example",
            "topic": Topic.RD_COLLABORATION.value,
            "message": "We would like to talk about a joint study.",
            "acknowledgement": "y",
        },
    )

    assert response.status_code == 303
    enquiry = db.session.scalars(sa.select(Enquiry)).one()
    [notice] = outbox(db, "enquiry_notice")
    assert f"{PUBLIC}/enquiries/{enquiry.id}" in notice.body_text
    assert_no_forged_host(db)


def test_the_assignment_email_links_to_the_public_address(
    client, db, login, make_user, make_enquiry
):
    member = make_user(Role.MEMBER)
    enquiry = make_enquiry(name="Erika Exempel", email="erika@company.example", message="Hello")
    login(Role.COORDINATOR)

    response = client.post(
        f"/enquiries/{enquiry.id}/assign", data={"assign-assignee_id": member.id}
    )

    assert response.status_code == 302
    [message] = outbox(db, "enquiry_assigned")
    assert f"{PUBLIC}/enquiries/{enquiry.id}" in message.body_text
    assert_no_forged_host(db)


def test_the_reminder_job_writes_whole_links(
    app, db, runner, make_user, make_agreement, make_organisation
):
    """`crm reminders` runs outside any request: its links were bare paths ("/agreements/4")."""
    today = local_today()
    owner = make_user(Role.MEMBER, email="owner@example.org")
    agreement = make_agreement(
        "Framework with the associations",
        kind=AgreementKind.FRAMEWORK,
        parties=[make_organisation("Lif")],
        status=AgreementStatus.ACTIVE,
        signed_date=today,
        end_date=today + timedelta(days=10),
        renewal_notice_days=30,
        owner=owner,
        today=today,
    )
    task_services.create_task(title="Call Lif", due_date=today, assignee=owner, actor=None)
    db.session.commit()

    result = runner.invoke(args=["crm", "reminders"])

    assert result.exit_code == 0, result.output
    [agreement_mail] = outbox(db, "agreement_reminder")
    assert f"{PUBLIC}/agreements/{agreement.id}" in agreement_mail.body_text
    [task_mail] = outbox(db, "task_reminder")
    assert f"{PUBLIC}/tasks/" in task_mail.body_text


def test_the_calendar_feed_and_its_address_name_the_public_host(client, login, make_activity):
    today = local_today()
    seminar = make_activity(
        "AI in diagnostics",
        kind=ActivityKind.SEMINAR,
        start_date=today + timedelta(days=7),
        start_time=time(13, 0),
    )
    login(Role.MEMBER)

    page = client.get("/calendar/").get_data(as_text=True)
    feed_url = re.search(r'id="feed-url" value="([^"]+)"', page).group(1)
    assert feed_url.startswith(f"{PUBLIC}/calendar/") and feed_url.endswith(".ics")

    body = client.get(feed_url.removeprefix(PUBLIC)).get_data()
    [event] = Calendar.from_ical(body).walk("VEVENT")
    assert str(event["URL"]) == f"{PUBLIC}/activities/{seminar.id}"
    assert str(event["UID"]) == f"activity-{seminar.id}@crm.example.org"
    assert b"evil.example" not in body


def _production(tmp_path, **settings):
    return type(
        "Config",
        (ProductionConfig,),
        {
            "SECRET_KEY": "f" * 64,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db",
            **settings,
        },
    )


@pytest.mark.parametrize("value", [None, ""])
def test_production_refuses_to_start_without_public_url(tmp_path, value):
    with pytest.raises(RuntimeError, match="PUBLIC_URL"):
        create_app(_production(tmp_path, PUBLIC_URL=value))


@pytest.mark.parametrize(
    "value", ["crm.example.org", "ftp://crm.example.org", "https://", "https://x.org/?a=1"]
)
def test_a_malformed_public_url_is_refused_at_start(tmp_path, value):
    with pytest.raises(RuntimeError, match="PUBLIC_URL"):
        create_app(_production(tmp_path, PUBLIC_URL=value))


def test_production_answers_only_for_the_public_host(tmp_path):
    app = create_app(_production(tmp_path, PUBLIC_URL="https://crm.example.org"))
    client = app.test_client()

    assert client.get("/healthz", base_url="https://crm.example.org").status_code == 200
    assert client.get("/healthz", base_url="https://evil.example").status_code == 400
    assert client.get("/login", headers={"Host": "evil.example"}).status_code == 400
