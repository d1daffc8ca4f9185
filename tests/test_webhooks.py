"""Webhooks: each event written by its real trigger, with no personal data of the sender;
the admin pages; the address rules at registration; the signature check."""

import hashlib
import hmac
import json
import re
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from crm.activities import task_services
from crm.agreements.models import AgreementStatus
from crm.auth.models import Role
from crm.core.dates import local_today
from crm.core.types import utcnow
from crm.webhooks import addresses, services
from crm.webhooks.events import api_url
from crm.webhooks.models import DeliveryStatus, Webhook, WebhookDelivery
from crm.webhooks.signing import signature, verify_signature
from tests.webhook_receiver import deliveries

# Registered as on an intranet, so no name is looked up; nothing here is sent.
pytestmark = pytest.mark.config(WEBHOOKS_ALLOW_PRIVATE=True)

ALL_EVENTS = [
    "enquiry.received",
    "enquiry.assigned",
    "enquiry.closed",
    "activity.created",
    "agreement.status_changed",
    "task.due",
]
HOOK = "http://127.0.0.1:9/hooks"


def bodies(event):
    return [json.loads(delivery.payload) for delivery in deliveries(event)]


@pytest.fixture
def everything_hook(make_webhook):
    return make_webhook(HOOK, events=ALL_EVENTS)


# ---------------------------------------------------------------- each event, by its trigger


def test_an_enquiry_from_the_form_is_announced_without_what_the_sender_wrote(
    client, db, everything_hook
):
    page = client.get("/contact?lang=en").get_data(as_text=True)
    hidden = {
        name: re.search(rf'name="{name}" type="hidden" value="([^"]*)"', page).group(1)
        for name in ("form_token", "consent_text_id")
    }
    sent = {
        "name": "Anna Andersson",
        "email": "anna.andersson@kvarnbo.example",
        "phone": "+46 70-123 45 67",
        "organisation_name": "Kvarnbo Genomik AB",
        "organisation_type": "company",
        "topic": "clinical_studies",
        "message": "We would like to discuss a clinical study on hereditary cancer.",
        "acknowledgement": "y",
    }

    response = client.post("/contact?lang=en", data={**sent, **hidden})

    assert response.status_code == 303
    [delivery] = deliveries("enquiry.received")
    body = json.loads(delivery.payload)
    data = body["data"]
    assert body["event"] == "enquiry.received" and body["id"] == delivery.uuid
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["occurred_at"])
    assert data["reference"].startswith("ENQ-")
    assert (data["topic"], data["status"], data["source"]) == ("clinical_studies", "new", "web")
    assert data["url"] == f"http://localhost/api/v1/enquiries/{data['id']}"
    assert data["html_url"] == f"http://localhost/enquiries/{data['id']}"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["received_at"])
    # Nothing the sender typed leaves the CRM this way.
    for value in sent.values():
        if value not in ("y", "company", "clinical_studies"):
            assert value not in delivery.payload
            assert value.lower() not in delivery.payload.lower()
    assert "kvarnbo" not in delivery.payload.lower()


def test_an_enquiry_the_form_fails_to_store_is_not_announced(db, monkeypatch, everything_hook):
    """Intake writes with Core inserts on the session's connection; the delivery added to
    the session goes with them: a failure after the enquiry's insert leaves neither."""
    from crm.enquiries import intake
    from crm.enquiries.models import Enquiry, Topic

    def fail(messages):
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr(intake.mail, "queue_messages", fail)
    data = {
        "name": "Bo Berg",
        "email": "bo@example.org",
        "topic": Topic.OTHER,
        "message": "A question.",
        "consent_text_id": intake.current_consent_text("en").id,
        "submission_token": "t" * 32,
    }

    with pytest.raises(RuntimeError):
        intake.submit_enquiry(data, language="en", privacy_notice_id=None)
    # Written in the transaction, with the enquiry...
    assert len(db.session.scalars(sa.select(WebhookDelivery.id)).all()) == 1
    db.session.rollback()

    # ... and gone with it.
    assert deliveries() == []
    assert db.session.scalars(sa.select(Enquiry.id)).all() == []


def test_assigning_and_closing_an_enquiry_on_its_page_are_announced(
    client, db, login, make_user, make_enquiry, everything_hook
):
    coordinator = login(Role.COORDINATOR)
    member = make_user(Role.MEMBER, name="Maja Medlem")
    enquiry = make_enquiry(message="Private words", email="private@example.com")

    client.post(f"/enquiries/{enquiry.id}/assign", data={"assign-assignee_id": member.id})
    client.post(
        f"/enquiries/{enquiry.id}/status",
        data={"status-status": "closed", "status-closed_reason": "answered"},
    )

    [assigned] = bodies("enquiry.assigned")
    assert assigned["data"]["id"] == enquiry.id
    assert assigned["data"]["assignee"] == {"id": member.id, "name": "Maja Medlem"}
    assert assigned["data"]["assigned_by"]["id"] == coordinator.id
    assert assigned["data"]["status"] == "assigned"
    [closed] = bodies("enquiry.closed")
    assert closed["data"]["id"] == enquiry.id
    assert (closed["data"]["status"], closed["data"]["closed_reason"]) == ("closed", "answered")
    assert closed["data"]["closed_by"]["id"] == coordinator.id
    for delivery in deliveries():
        assert "Private words" not in delivery.payload
        assert "private@example.com" not in delivery.payload


def test_reassigning_to_the_same_person_announces_nothing_new(
    client, db, login, make_user, make_enquiry, everything_hook
):
    login(Role.COORDINATOR)
    member = make_user(Role.MEMBER)
    enquiry = make_enquiry()

    for _time in range(2):
        client.post(f"/enquiries/{enquiry.id}/assign", data={"assign-assignee_id": member.id})

    assert len(deliveries("enquiry.assigned")) == 1


def test_an_activity_logged_quickly_is_announced(client, db, signed_in, everything_hook):
    me = signed_in(Role.MEMBER)

    response = client.post(
        "/activities/quick",
        data={
            "kind": "dialogue_meeting",
            "title": "Coffee with Roche",
            "start_date": date.today().isoformat(),
            "organisations-0-name": "",
            "organisations-0-kind": "company",
            "contacts-0-name": "",
            "contacts-0-email": "",
            "outcome": "",
            "task_title": "",
            "task_due_date": "",
            "task_assignee_id": "",
        },
    )

    assert response.status_code == 302
    [body] = bodies("activity.created")
    data = body["data"]
    assert (data["title"], data["kind"]) == ("Coffee with Roche", "dialogue_meeting")
    assert data["start_date"] == date.today().isoformat()
    assert data["created_by"] == {"id": me.id, "name": me.name}
    assert data["url"] == f"http://localhost/api/v1/activities/{data['id']}"


def test_an_activity_from_the_full_form_is_announced(db, make_activity, everything_hook):
    activity = make_activity("Seminar on genomics")

    [body] = bodies("activity.created")
    assert body["data"]["id"] == activity.id and body["data"]["title"] == "Seminar on genomics"


def test_an_agreement_status_change_is_announced_with_both_statuses(
    client, db, signed_in, make_organisation, make_agreement, everything_hook
):
    me = signed_in(Role.MEMBER)
    agreement = make_agreement("MoU with Microsoft", parties=[make_organisation("Microsoft AB")])
    assert deliveries("agreement.status_changed") == []  # being made is not a change

    response = client.post(f"/agreements/{agreement.id}/status", data={"status": "negotiation"})

    assert response.status_code == 302
    [body] = bodies("agreement.status_changed")
    data = body["data"]
    assert (data["old_status"], data["new_status"]) == ("draft", "negotiation")
    assert data["title"] == "MoU with Microsoft" and data["kind"] == "mou"
    assert data["changed_by"]["id"] == me.id
    assert data["url"] == f"http://localhost/api/v1/agreements/{agreement.id}"


def test_the_daily_job_announces_an_expired_agreement_and_a_task_due_once(
    runner, db, make_user, make_organisation, make_agreement, everything_hook
):
    today = local_today()
    agreement = make_agreement(
        "Ended",
        parties=[make_organisation("Region Uppsala")],
        status=AgreementStatus.ACTIVE,
        signed_date=date(2024, 1, 1),
        start_date=date(2024, 1, 1),
        end_date=today - timedelta(days=3),
    )
    member = make_user(Role.MEMBER, name="Maja Medlem")
    overdue = task_services.create_task(
        title="Call back", due_date=today - timedelta(days=2), assignee=member, actor=None
    )
    due_today = task_services.create_task(title="Send minutes", due_date=today, actor=None)
    task_services.create_task(title="Later", due_date=today + timedelta(days=1), actor=None)
    done = task_services.create_task(title="Done", due_date=today, actor=None)
    task_services.complete_task(done, actor=None)
    db.session.commit()

    result = runner.invoke(args=["crm", "reminders"])

    assert result.exit_code == 0, result.output
    assert "Tasks newly due announced: 2." in result.output
    [expired] = bodies("agreement.status_changed")
    assert expired["data"]["id"] == agreement.id
    assert (expired["data"]["old_status"], expired["data"]["new_status"]) == ("active", "expired")
    assert expired["data"]["changed_by"] is None
    due = {body["data"]["id"]: body["data"] for body in bodies("task.due")}
    assert set(due) == {overdue.id, due_today.id}
    assert due[overdue.id]["overdue"] is True and due[due_today.id]["overdue"] is False
    assert due[overdue.id]["assignee"] == {"id": member.id, "name": "Maja Medlem"}
    assert due[overdue.id]["due_date"] == (today - timedelta(days=2)).isoformat()
    assert due[overdue.id]["url"] == f"http://localhost/api/v1/tasks/{overdue.id}"

    # Running the job again announces nothing again.
    again = runner.invoke(args=["crm", "reminders"])
    assert "Tasks newly due announced: 0." in again.output
    assert len(deliveries("task.due")) == 2
    assert len(deliveries("agreement.status_changed")) == 1

    # A task put off to a later day is announced again when that day comes (as is the one
    # due that day).
    tomorrow = today + timedelta(days=1)
    task_services.update_task(
        overdue, title=overdue.title, due_date=tomorrow, assignee=member, actor=None
    )
    db.session.commit()
    assert task_services.announce_due_tasks(today=tomorrow) == 2
    db.session.commit()
    assert len(deliveries("task.due")) == 4
    assert [body["data"]["due_date"] for body in bodies("task.due")][-2:] == [
        tomorrow.isoformat()
    ] * 2


@pytest.mark.parametrize("collection", ["enquiries", "activities", "agreements", "tasks"])
def test_the_api_addresses_in_the_events_are_the_apis(app, collection):
    """The events name their records' API addresses by path (crm/webhooks/events.py); each
    is a route of the REST API."""
    path = urlsplit(api_url(collection, 42)).path

    endpoint, values = app.url_map.bind("localhost").match(path, method="GET")

    assert endpoint.startswith("api_") and list(values.values()) == [42]


def test_only_active_webhooks_sent_the_event_get_a_delivery(
    db, make_webhook, make_user, make_enquiry
):
    from crm.enquiries import services as enquiry_services

    subscribed = make_webhook(HOOK, events=["enquiry.assigned"])
    make_webhook(HOOK, events=["enquiry.closed", "task.due"])
    make_webhook(HOOK, events=["enquiry.assigned"], active=False)
    also = make_webhook("http://127.0.0.1:10/other", events=ALL_EVENTS)
    enquiry = make_enquiry()

    enquiry_services.assign_enquiry(enquiry, make_user(Role.MEMBER), actor=None)
    db.session.commit()

    received = {delivery.webhook_id for delivery in deliveries("enquiry.received")}
    assigned = {delivery.webhook_id for delivery in deliveries("enquiry.assigned")}
    assert received == {also.id}
    assert assigned == {subscribed.id, also.id}
    ids = [delivery.uuid for delivery in deliveries()]
    assert len(ids) == len(set(ids))


def test_no_webhook_no_delivery_and_no_query_for_its_body(db, make_user, make_enquiry):
    make_enquiry()
    assert deliveries() == []


# ---------------------------------------------------------------- the admin pages


def test_only_admins_open_the_webhook_pages(client, login, make_webhook, db):
    webhook = make_webhook(HOOK)
    pages = ["/admin/webhooks/", "/admin/webhooks/new", f"/admin/webhooks/{webhook.id}"]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    for role in (Role.VIEWER, Role.MEMBER, Role.COORDINATOR):
        client.post("/logout")
        login(role)
        for url in pages:
            assert client.get(url).status_code == 403, (role, url)
        assert client.post(f"/admin/webhooks/{webhook.id}/ping").status_code == 403
    assert deliveries() == []


def test_an_admin_registers_a_webhook_and_sees_its_secret_once(client, db, signed_in):
    signed_in(Role.ADMIN)
    assert "/admin/webhooks/" in client.get("/dashboard/").get_data(as_text=True)
    page = client.get("/admin/webhooks/new").get_data(as_text=True)
    assert '<label for="url">' in page and 'for="events-0"' in page

    response = client.post(
        "/admin/webhooks/new",
        data={
            "url": " https://hooks.example.org/crm ",
            "description": "Team chat",
            "events": ["enquiry.received", "task.due"],
            "active": "y",
            # Not fields of the form: the secret is always the CRM's own.
            "secret": "whsec_chosen",
            "created_by_id": "999",
        },
    )

    assert response.status_code == 200
    [webhook] = db.session.scalars(sa.select(Webhook)).all()
    assert webhook.secret != "whsec_chosen" and webhook.created_by_id != 999
    assert webhook.url == "https://hooks.example.org/crm"
    assert webhook.events == ["enquiry.received", "task.due"]
    assert webhook.active and webhook.secret.startswith("whsec_")
    page = response.get_data(as_text=True)
    assert webhook.secret in page
    assert "it is not shown again" in page
    assert response.headers["Cache-Control"] == "no-store"
    # Never again: not on its page, not in the list, not in its history.
    for url in ("/admin/webhooks/", f"/admin/webhooks/{webhook.id}"):
        text = client.get(url).get_data(as_text=True)
        assert webhook.secret not in text
        assert "https://hooks.example.org/crm" in text
    entries = db.session.execute(sa.text("SELECT changes FROM audit_entries")).scalars().all()
    assert all(webhook.secret not in str(changes) for changes in entries)


def test_the_form_says_what_is_missing_on_its_fields(client, db, signed_in):
    signed_in(Role.ADMIN)

    response = client.post(
        "/admin/webhooks/new", data={"url": "", "description": "", "active": "y"}
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="url-error"' in page and "Enter the address to send the events to." in page
    assert 'id="events-error"' in page and "Choose at least one event." in page
    assert db.session.scalars(sa.select(Webhook)).all() == []


@pytest.mark.config(WEBHOOKS_ALLOW_PRIVATE=False)
@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://127.0.0.1/hooks", "127.0.0.1 is a private, local or reserved address"),
        ("https://10.1.2.3/hooks", "10.1.2.3 is a private, local or reserved address"),
        ("https://169.254.169.254/latest", "169.254.169.254 is a private"),
        ("https://[::1]:8443/hooks", "::1 is a private, local or reserved address"),
        ("https://[::ffff:127.0.0.1]/hooks", "is a private, local or reserved address"),
        ("https://localhost/hooks", "localhost is a private, local or reserved address"),
        ("http://hooks.example.org/crm", "The address must start with https://"),
        ("https://user:secret@hooks.example.org/crm", "Leave the user name and password out"),
        ("hooks.example.org/crm", "Enter the whole address"),
        ("https://no-such-host.invalid/crm", "could not be found"),
    ],
)
def test_an_address_the_crm_may_not_send_to_is_refused_with_a_clear_message(
    client, db, signed_in, url, message
):
    signed_in(Role.ADMIN)

    response = client.post(
        "/admin/webhooks/new",
        data={"url": url, "description": "", "events": ["enquiry.received"], "active": "y"},
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    error = re.search(r'<p class="error" id="url-error">(.*?)</p>', page, re.S)
    assert error is not None and message in error.group(1).replace("&#39;", "'"), page[-3000:]
    assert 'aria-invalid="true"' in page
    assert db.session.scalars(sa.select(Webhook)).all() == []


@pytest.mark.config(WEBHOOKS_ALLOW_PRIVATE=False)
def test_a_public_https_address_is_accepted_with_the_setting_off(db, monkeypatch):
    monkeypatch.setattr(addresses, "resolve_host", lambda host, port: ["93.184.216.34"])

    webhook = services.create_webhook(
        {"url": "https://hooks.example.org/crm", "events": ["task.due"], "active": True},
        actor=None,
    )

    assert webhook.url == "https://hooks.example.org/crm"


def test_an_admin_edits_switches_off_and_deletes_a_webhook(client, db, signed_in, make_webhook):
    signed_in(Role.ADMIN)
    webhook = make_webhook(HOOK, events=["enquiry.received"], description="Old")
    secret = webhook.secret

    page = client.get(f"/admin/webhooks/{webhook.id}/edit").get_data(as_text=True)
    assert '<input checked id="events-0" name="events" type="checkbox"' in page
    assert '<input id="events-1" name="events" type="checkbox"' in page  # none is "required"
    response = client.post(
        f"/admin/webhooks/{webhook.id}/edit",
        data={"url": HOOK, "description": "New", "events": ["enquiry.closed"]},
    )
    assert response.status_code == 302
    db.session.refresh(webhook)
    assert (webhook.description, webhook.events, webhook.active) == (
        "New",
        ["enquiry.closed"],
        False,
    )
    assert webhook.secret == secret
    detail = client.get(f"/admin/webhooks/{webhook.id}").get_data(as_text=True)
    assert "switched off" in detail and "Send a test event" not in detail

    page = client.get(f"/admin/webhooks/{webhook.id}/delete").get_data(as_text=True)
    assert f'href="/admin/webhooks/{webhook.id}"' in page  # the way back
    webhook_id = webhook.id
    assert db.session.scalars(sa.select(Webhook.id)).all() == [webhook_id]
    response = client.post(f"/admin/webhooks/{webhook_id}/delete")
    assert response.status_code == 302
    assert db.session.scalars(sa.select(Webhook.id)).all() == []
    assert client.get(f"/admin/webhooks/{webhook_id}").status_code == 404


def test_an_admin_makes_a_new_secret_after_a_confirmation(client, db, signed_in, make_webhook):
    signed_in(Role.ADMIN)
    webhook = make_webhook(HOOK)
    old = webhook.secret

    page = client.get(f"/admin/webhooks/{webhook.id}/secret").get_data(as_text=True)
    assert "the old secret stops working at once" in page
    db.session.refresh(webhook)
    assert webhook.secret == old  # asking is not doing

    response = client.post(f"/admin/webhooks/{webhook.id}/secret")

    db.session.refresh(webhook)
    assert webhook.secret != old and webhook.secret.startswith("whsec_")
    assert webhook.secret in response.get_data(as_text=True)
    assert old not in response.get_data(as_text=True)


def test_a_test_event_is_queued_and_the_deliveries_are_listed_as_text(
    client, db, signed_in, make_webhook
):
    admin = signed_in(Role.ADMIN)
    webhook = make_webhook(HOOK, events=["task.due"])

    response = client.post(f"/admin/webhooks/{webhook.id}/ping", follow_redirects=True)

    assert "A test event is queued" in response.get_data(as_text=True)
    [delivery] = deliveries()
    body = json.loads(delivery.payload)
    assert body["event"] == "ping"
    assert body["data"] == {"webhook_id": webhook.id, "sent_by": admin.id}

    delivery.status = DeliveryStatus.FAILED
    delivery.attempts = 8
    delivery.response_status = 500
    delivery.response_body = "<script>alert(1)</script>"
    delivery.last_error = "HTTP 500"
    db.session.commit()
    page = client.get(f"/admin/webhooks/{webhook.id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page
    assert "HTTP 500" in page and "Retry now" in page
    listing = client.get("/admin/webhooks/").get_data(as_text=True)
    assert "delivery-failed" in listing

    response = client.post(f"/admin/webhooks/deliveries/{delivery.id}/retry", follow_redirects=True)
    assert "queued to be sent again" in response.get_data(as_text=True)
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 0)
    # Only a failed one can be sent again.
    response = client.post(f"/admin/webhooks/deliveries/{delivery.id}/retry", follow_redirects=True)
    assert "Only a failed delivery can be sent again." in response.get_data(as_text=True)


def test_the_deliveries_are_paginated(client, db, signed_in, make_webhook):
    signed_in(Role.ADMIN)
    webhook = make_webhook(HOOK)
    for _number in range(30):
        services.send_test_event(webhook, actor=None)
    db.session.commit()

    page = client.get(f"/admin/webhooks/{webhook.id}").get_data(as_text=True)

    assert page.count("<code>ping</code>") < 30
    assert 'rel="next"' in page


def test_old_finished_deliveries_are_pruned_and_pending_ones_kept(db, runner, make_webhook):
    webhook = make_webhook(HOOK)
    old, pending, recent = (services.send_test_event(webhook, actor=None) for _ in range(3))
    long_ago = utcnow() - timedelta(days=91)
    old.status, old.created_at = DeliveryStatus.DELIVERED, long_ago
    pending.created_at = long_ago
    recent.status = DeliveryStatus.FAILED
    db.session.commit()

    result = runner.invoke(args=["crm", "retention"])

    assert result.exit_code == 0, result.output
    assert "Deleted 1 webhook deliveries older than 90 days." in result.output
    assert {delivery.id for delivery in deliveries()} == {pending.id, recent.id}
    assert services.prune_deliveries() == 0


# ---------------------------------------------------------------- the signature


def test_verify_signature_checks_the_secret_the_body_and_the_time():
    secret, body, now = "whsec_test", b'{"event":"ping"}', int(time.time())
    header = signature(secret, now, body)
    expected = hmac.new(secret.encode(), f"{now}.".encode() + body, hashlib.sha256).hexdigest()

    assert header == f"v1={expected}"
    assert verify_signature(secret, str(now), body, header)
    assert verify_signature(secret, now, body.decode(), header)
    assert verify_signature(secret, now, body, f"v0=abc, {header}")
    assert not verify_signature("whsec_other", now, body, header)
    assert not verify_signature(secret, now, body + b"x", header)
    assert not verify_signature(secret, now, body, "v1=" + "0" * 64)
    assert not verify_signature(secret, now, body, expected)  # without its scheme
    assert not verify_signature(secret, "not a time", body, header)
    assert not verify_signature(secret, now, body, "")
    # Too old, or from the future: a recorded request cannot be played again later.
    assert not verify_signature(secret, now, body, header, now=now + 301)
    assert not verify_signature(secret, now, body, header, now=now - 301)
    assert verify_signature(secret, now, body, header, tolerance=600, now=now + 301)


def test_the_readme_checks_a_signature_as_verify_signature_does():
    """The receiver's example in the README is the same check."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    start = readme.index("import hashlib, hmac, time\n")
    example = {}
    exec(readme[start : readme.index("# Flask:", start)], example)  # noqa: S102
    secret, body, now = "whsec_test", '{"event":"ping","data":{"é":1}}'.encode(), int(time.time())
    header = signature(secret, now, body)
    cases = [
        (secret, str(now), body, header),
        ("whsec_other", str(now), body, header),
        (secret, str(now), body + b" ", header),
        (secret, str(now - 301), body, signature(secret, now - 301, body)),
        (secret, str(now), body, f"v0=abc, {header}"),
        (secret, str(now), body, "v1=é"),
        (secret, "soon", body, header),
    ]

    results = [example["verify_signature"](*case) for case in cases]

    assert results == [verify_signature(*case) for case in cases]
    assert results == [True, False, False, False, True, False, False]


# ---------------------------------------------------------------- the address rules


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1",
        "0.0.0.0", "224.0.0.1", "255.255.255.255", "192.0.2.1", "::1", "::", "fe80::1%eth0",  # noqa: S104
        "fc00::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe",
        "2002:7f00:1::1", "not an address",
    ],
)  # fmt: skip
def test_private_local_and_reserved_addresses_are_refused(address):
    assert addresses.is_refused(address)


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"]
)
def test_public_addresses_are_allowed(address):
    assert not addresses.is_refused(address)
