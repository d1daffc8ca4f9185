"""The webhook worker against a real HTTP receiver: a change writes its delivery in its own
transaction; the worker sends it once, signed, through an outage of the receiver, retries
what is not accepted, and gives up after the last attempt; `crm send-webhooks`."""

import ipaddress
import json
import socket
import ssl
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from crm.auth.models import Role
from crm.core.database import claim_due
from crm.core.types import utcnow
from crm.enquiries import services as enquiry_services
from crm.extensions import db as _db
from crm.webhooks import delivery as worker
from crm.webhooks.models import DeliveryStatus, WebhookDelivery
from crm.webhooks.signing import verify_signature
from tests.webhook_receiver import deliveries

# The receiver is on 127.0.0.1, as on an intranet.
pytestmark = pytest.mark.config(WEBHOOKS_ALLOW_PRIVATE=True)


@pytest.fixture
def assigned(client, db, login, make_user, make_enquiry):
    """assigned() assigns a new enquiry to a new member through the real page, as a
    coordinator, and returns the enquiry."""
    login(Role.COORDINATOR)

    def assign():
        enquiry = make_enquiry()
        member = make_user(Role.MEMBER)
        response = client.post(
            f"/enquiries/{enquiry.id}/assign", data={"assign-assignee_id": member.id}
        )
        assert response.status_code == 302
        return enquiry

    return assign


def signed_correctly(request, secret):
    headers = request.headers
    return verify_signature(
        secret, headers["Webhook-Timestamp"], request.body, headers["Webhook-Signature"]
    )


# ---------------------------------------------------------------- written with the change


def test_a_change_writes_its_delivery_and_the_worker_sends_it_signed(
    db, receiver, make_webhook, assigned
):
    webhook = make_webhook(receiver.url, events=["enquiry.assigned"])
    enquiry = assigned()

    [delivery] = deliveries()
    assert (delivery.event, delivery.status, delivery.attempts) == (
        "enquiry.assigned",
        DeliveryStatus.PENDING,
        0,
    )
    assert receiver.requests == []  # nothing is sent by the request itself

    counts = worker.send_due_deliveries()

    assert counts == {"delivered": 1, "retried": 0, "failed": 0}
    [request] = receiver.requests
    assert request.path == "/hooks/crm"
    assert signed_correctly(request, webhook.secret)
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith("GMS-CRM-Webhooks/")
    assert request.headers["Webhook-Id"] == delivery.uuid
    assert request.headers["Webhook-Event"] == "enquiry.assigned"
    assert request.body == delivery.payload.encode()
    body = request.json
    assert body["id"] == delivery.uuid and body["event"] == "enquiry.assigned"
    assert body["data"]["id"] == enquiry.id
    assert body["data"]["reference"] == enquiry.reference
    assert body["data"]["url"] == f"http://localhost/api/v1/enquiries/{enquiry.id}"
    [delivery] = deliveries()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert (delivery.attempts, delivery.response_status, delivery.response_body) == (1, 200, "ok")
    assert delivery.delivered_at is not None and delivery.last_error is None


def test_a_signature_does_not_verify_with_another_secret_or_body(
    db, receiver, make_webhook, assigned
):
    webhook = make_webhook(receiver.url)
    assigned()
    worker.send_due_deliveries()

    [request] = receiver.requests
    headers = request.headers
    timestamp, header = headers["Webhook-Timestamp"], headers["Webhook-Signature"]
    assert header.startswith("v1=")
    assert verify_signature(webhook.secret, timestamp, request.body, header)
    assert not verify_signature("whsec_other", timestamp, request.body, header)
    assert not verify_signature(webhook.secret, timestamp, request.body + b" ", header)
    assert not verify_signature(webhook.secret, int(timestamp) + 1, request.body, header)


def test_a_rolled_back_change_writes_no_delivery(db, make_webhook, make_enquiry, make_user):
    make_webhook("http://127.0.0.1:9/hooks", events=["enquiry.assigned", "enquiry.closed"])
    enquiry = make_enquiry()
    member = make_user(Role.MEMBER)

    enquiry_services.assign_enquiry(enquiry, member, actor=None)
    assert [type(item) for item in db.session.new] == [WebhookDelivery]
    db.session.rollback()

    assert deliveries() == []


def test_a_refused_change_writes_no_delivery(
    client, db, login, make_webhook, make_enquiry, make_user
):
    make_webhook("http://127.0.0.1:9/hooks", events=["enquiry.assigned"])
    login(Role.COORDINATOR)
    enquiry = make_enquiry()
    viewer = make_user(Role.VIEWER)

    response = client.post(
        f"/enquiries/{enquiry.id}/assign", data={"assign-assignee_id": viewer.id}
    )

    assert response.status_code == 200  # the page again, with the error
    assert deliveries() == []


def test_the_delivery_is_committed_with_the_change_or_not_at_all(
    db, make_webhook, make_enquiry, make_user
):
    """Another connection sees neither the assignment nor its delivery before the commit,
    and both after it."""
    make_webhook("http://127.0.0.1:9/hooks", events=["enquiry.assigned"])
    enquiry = make_enquiry()
    member = make_user(Role.MEMBER)

    def seen_elsewhere():
        with _db.engine.connect() as other:
            assignee = other.scalar(
                sa.text("SELECT assignee_id FROM enquiries WHERE id = :id"), {"id": enquiry.id}
            )
            count = other.scalar(sa.text("SELECT count(*) FROM webhook_deliveries"))
        return assignee, count

    enquiry_services.assign_enquiry(enquiry, member, actor=None)
    db.session.flush()
    assert seen_elsewhere() == (None, 0)
    db.session.commit()
    assert seen_elsewhere() == (member.id, 1)


# ---------------------------------------------------------------- an outage of the receiver


def test_after_an_outage_the_delivery_is_sent_exactly_once(db, receiver, make_webhook, assigned):
    webhook = make_webhook(receiver.url)
    receiver.stop()  # the port is closed: connections are refused
    assigned()
    started = utcnow()

    counts = worker.send_due_deliveries()

    assert counts == {"delivered": 0, "retried": 1, "failed": 0}
    [delivery] = deliveries()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.attempts == 1
    assert delivery.last_error.startswith("Could not connect")
    assert delivery.response_status is None
    assert delivery.next_attempt_at >= started + timedelta(seconds=60)
    # Not due again yet: a second round now leaves it alone.
    assert worker.send_due_deliveries() == {"delivered": 0, "retried": 0, "failed": 0}

    receiver.start()
    later = utcnow() + timedelta(minutes=2)
    counts = worker.send_due_deliveries(now=later)

    assert counts == {"delivered": 1, "retried": 0, "failed": 0}
    [request] = receiver.requests
    assert verify_signature(
        webhook.secret,
        request.headers["Webhook-Timestamp"],
        request.body,
        request.headers["Webhook-Signature"],
        now=later.timestamp(),
    )
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert delivery.last_error is None
    # Further rounds, however late, send nothing more.
    assert worker.send_due_deliveries(now=later + timedelta(days=3))["delivered"] == 0
    assert len(receiver.requests) == 1


def test_an_answer_outside_the_200s_is_retried_and_kept_as_text(
    db, receiver, make_webhook, assigned
):
    make_webhook(receiver.url)
    receiver.answers.append((500, "<b>Internal error</b>", {}))
    assigned()

    assert worker.send_due_deliveries()["retried"] == 1
    [delivery] = deliveries()
    assert (delivery.response_status, delivery.response_body) == (500, "<b>Internal error</b>")
    assert delivery.last_error == "HTTP 500"

    assert worker.send_due_deliveries(now=utcnow() + timedelta(minutes=2))["delivered"] == 1
    assert len(receiver.requests) == 2
    # Both attempts carried the same event, body and id.
    first, second = receiver.requests
    assert first.body == second.body
    assert first.headers["Webhook-Id"] == second.headers["Webhook-Id"]


def test_a_redirect_is_not_followed(db, receiver, make_webhook, assigned):
    make_webhook(receiver.url)
    receiver.answers.append((302, "", {"Location": "http://169.254.169.254/latest/meta-data/"}))
    assigned()

    assert worker.send_due_deliveries()["retried"] == 1

    [delivery] = deliveries()
    assert delivery.response_status == 302
    assert "redirects are not followed" in delivery.last_error
    assert len(receiver.requests) == 1


def test_only_the_start_of_a_long_answer_is_kept(db, receiver, make_webhook, assigned):
    make_webhook(receiver.url)
    receiver.answers.append((200, "x" * 100_000, {}))
    assigned()

    worker.send_due_deliveries()

    [delivery] = deliveries()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.response_body == "x" * 2048


def test_it_gives_up_after_the_last_attempt_and_an_admin_can_send_it_again(
    app, client, db, login, receiver, make_webhook, assigned
):
    app.config["WEBHOOKS_MAX_ATTEMPTS"] = 3
    webhook = make_webhook(receiver.url)
    receiver.answers.extend([(503, "busy", {})] * 3)
    assigned()
    now = utcnow()
    waits = []

    outcomes = []
    for _attempt in range(3):
        counts = worker.send_due_deliveries(now=now)
        outcomes.append(counts)
        [delivery] = deliveries()
        waits.append(round((delivery.next_attempt_at - now).total_seconds()))
        now = delivery.next_attempt_at

    assert [counts["retried"] for counts in outcomes] == [1, 1, 0]
    assert outcomes[-1]["failed"] == 1
    assert waits[:2] == [60, 300]  # the first two delays of WEBHOOKS_RETRY_DELAYS
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 3)
    assert worker.send_due_deliveries(now=now + timedelta(days=30))["delivered"] == 0
    assert len(receiver.requests) == 3

    # The admin sends it again from the webhook's page.
    client.post("/logout")
    login(Role.ADMIN)
    response = client.post(f"/admin/webhooks/deliveries/{delivery.id}/retry")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/webhooks/{webhook.id}")
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 0)

    assert worker.send_due_deliveries()["delivered"] == 1
    assert len(receiver.requests) == 4


def test_a_switched_off_webhook_is_not_sent_what_was_waiting(db, receiver, make_webhook, assigned):
    webhook = make_webhook(receiver.url)
    assigned()
    webhook.active = False
    db.session.commit()

    assert worker.send_due_deliveries() == {"delivered": 0, "retried": 0, "failed": 1}

    [delivery] = deliveries()
    assert delivery.status == DeliveryStatus.FAILED
    assert "switched off" in delivery.last_error
    assert receiver.requests == []


def test_a_deleted_webhook_takes_its_deliveries_with_it(db, make_webhook, assigned):
    from crm.webhooks import services

    webhook = make_webhook("http://127.0.0.1:9/hooks")
    assigned()
    assert len(deliveries()) == 1

    services.delete_webhook(webhook, actor=None)
    db.session.commit()

    assert deliveries() == []
    assert worker.send_due_deliveries() == {"delivered": 0, "retried": 0, "failed": 0}


def test_an_unreachable_endpoint_is_tried_once_a_round(db, make_webhook, make_enquiry, make_user):
    """Its other deliveries wait for the next round instead of each waiting for the timeout."""
    closed_port = _closed_port()
    make_webhook(f"http://127.0.0.1:{closed_port}/hooks")
    for _number in range(3):
        enquiry_services.assign_enquiry(make_enquiry(), make_user(Role.MEMBER), actor=None)
    db.session.commit()

    counts = worker.send_due_deliveries()

    assert counts == {"delivered": 0, "retried": 3, "failed": 0}
    assert sorted(delivery.attempts for delivery in deliveries()) == [0, 0, 1]
    assert all(delivery.status == DeliveryStatus.PENDING for delivery in deliveries())


def _closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ---------------------------------------------------------------- two workers


def test_two_workers_at_once_send_each_delivery_once(
    app, db, receiver, make_webhook, make_enquiry, make_user
):
    make_webhook(receiver.url)
    for _number in range(4):
        enquiry_services.assign_enquiry(make_enquiry(), make_user(Role.MEMBER), actor=None)
    db.session.commit()
    receiver.delay = 0.2  # each answer takes a while, so the two workers overlap
    results = []
    failures = []

    def run():
        with app.app_context():
            try:
                results.append(worker.send_due_deliveries())
            except Exception as error:  # noqa: BLE001  (reported below)
                failures.append(error)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert failures == []
    ids = [request.headers["Webhook-Id"] for request in receiver.requests]
    assert len(ids) == 4 and len(set(ids)) == 4
    assert sum(result["delivered"] for result in results) == 4
    assert all(delivery.status == DeliveryStatus.DELIVERED for delivery in deliveries())


def test_a_claimed_delivery_is_left_to_its_worker(db, make_webhook, assigned):
    make_webhook("http://127.0.0.1:9/hooks")
    assigned()
    [delivery] = deliveries()
    now = utcnow()

    lease = now + timedelta(minutes=2)
    pending = DeliveryStatus.PENDING
    assert claim_due(WebhookDelivery, delivery.id, pending=pending, due_by=now, lease_until=lease)
    assert not claim_due(
        WebhookDelivery, delivery.id, pending=pending, due_by=now, lease_until=lease
    )
    assert worker.send_due_deliveries(now=now + timedelta(minutes=1))["retried"] == 0


# ---------------------------------------------------------------- the address, checked again


@pytest.mark.parametrize(
    ("address", "error"),
    [
        ("http://127.0.0.1:{port}/hooks", "The address must start with https://"),
        ("https://127.0.0.1:{port}/hooks", "Refused: 127.0.0.1 resolves to 127.0.0.1"),
        ("https://[::1]:{port}/hooks", "Refused: ::1 resolves to ::1"),
        ("https://localhost:{port}/hooks", "Refused: localhost resolves to "),
    ],
)
def test_with_the_setting_off_a_private_address_is_not_sent_to(
    app, db, receiver, make_webhook, assigned, address, error
):
    """Registered while the setting was on; with it off the delivery is refused, recorded
    with the reason, and never sent."""
    make_webhook(address.format(port=receiver.port))
    assigned()
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = False

    assert worker.send_due_deliveries() == {"delivered": 0, "retried": 0, "failed": 1}

    [delivery] = deliveries()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error.startswith(error)
    assert delivery.attempts == 1
    assert receiver.requests == []


def test_a_name_that_resolves_to_a_private_address_is_not_sent_to(
    app, db, make_webhook, assigned, monkeypatch
):
    """The name resolved to a public address when it was registered; at the delivery it
    resolves to the metadata service's (DNS rebinding), and nothing is sent."""
    answers = {"hooks.example.org": "93.184.216.34"}
    monkeypatch.setattr(socket, "getaddrinfo", _fake_resolver(answers))
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = False
    make_webhook("https://hooks.example.org/crm")
    assigned()
    answers["hooks.example.org"] = "169.254.169.254"
    connections = []
    monkeypatch.setattr(worker, "_post", lambda *args: connections.append(args) or (200, "ok"))

    assert worker.send_due_deliveries()["failed"] == 1

    [delivery] = deliveries()
    assert delivery.status == DeliveryStatus.FAILED
    assert "169.254.169.254" in delivery.last_error and "Refused" in delivery.last_error
    assert connections == []


def test_the_delivery_connects_to_the_address_it_checked(
    db, receiver, make_webhook, assigned, monkeypatch
):
    """The name is resolved once, for the check, and not again to connect; the request
    names the URL's host."""
    asked = []
    monkeypatch.setattr(
        socket, "getaddrinfo", _fake_resolver({"hooks.example.org": "127.0.0.1"}, asked)
    )
    make_webhook(f"http://hooks.example.org:{receiver.port}/crm?team=7")
    assigned()

    assert worker.send_due_deliveries()["delivered"] == 1

    assert asked == ["hooks.example.org"]
    [request] = receiver.requests
    assert request.path == "/crm?team=7"
    assert request.headers["Host"] == f"hooks.example.org:{receiver.port}"


def test_a_name_that_does_not_resolve_is_retried(db, make_webhook, assigned, monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", _fake_resolver({}))
    make_webhook("http://hooks.example.org/crm")
    assigned()

    assert worker.send_due_deliveries()["retried"] == 1

    [delivery] = deliveries()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_error == "The host hooks.example.org could not be resolved"


_real_getaddrinfo = socket.getaddrinfo


def _certificate(tmp_path, name):
    """A self-signed certificate for `name` and its key, as PEM files: (cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = utcnow()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "receiver.pem", tmp_path / "receiver.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_over_https_the_certificate_must_be_the_urls_host(
    app, db, receiver, make_webhook, assigned, monkeypatch, tmp_path
):
    """The request goes to the checked address, yet the receiver's certificate is checked
    against the URL's host: one for another name is refused, and nothing is delivered."""
    cert_file, key_file = _certificate(tmp_path, "hooks.example.org")
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert_file, key_file)
    receiver.stop()
    receiver.start(tls=tls)
    app.config["WEBHOOKS_CA_FILE"] = str(cert_file)
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        _fake_resolver({"hooks.example.org": "127.0.0.1", "other.example.org": "127.0.0.1"}),
    )
    good = make_webhook(f"https://hooks.example.org:{receiver.port}/crm")
    make_webhook(f"https://other.example.org:{receiver.port}/crm")
    assigned()

    counts = worker.send_due_deliveries()

    assert counts == {"delivered": 1, "retried": 1, "failed": 0}
    delivered = {delivery.webhook_id: delivery for delivery in deliveries()}
    assert delivered[good.id].status == DeliveryStatus.DELIVERED
    [refused] = [delivery for delivery in deliveries() if delivery.webhook_id != good.id]
    assert refused.status == DeliveryStatus.PENDING
    assert refused.last_error.startswith("TLS error")
    assert "other.example.org" in refused.last_error
    [request] = receiver.requests
    assert request.headers["Host"] == f"hooks.example.org:{receiver.port}"


def _fake_resolver(answers, asked=None):
    """socket.getaddrinfo answering names from `answers` (name → IPv4 address) only, noting
    each name asked in `asked`; addresses are resolved as ever."""

    def getaddrinfo(host, port, *args, **kwargs):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            return _real_getaddrinfo(host, port, *args, **kwargs)
        if asked is not None:
            asked.append(host)
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]

    return getaddrinfo


# ---------------------------------------------------------------- the command


def test_send_webhooks_sends_what_is_due(runner, db, receiver, make_webhook, assigned):
    make_webhook(receiver.url)
    assigned()

    result = runner.invoke(args=["crm", "send-webhooks"])

    assert result.exit_code == 0, result.output
    assert "Webhooks delivered 1, to retry later 0, failed 0." in result.output
    assert len(receiver.requests) == 1
    again = runner.invoke(args=["crm", "send-webhooks"])
    assert "Webhooks delivered 0," in again.output
    assert len(receiver.requests) == 1


def test_send_webhooks_loop_runs_until_interrupted(
    runner, db, receiver, make_webhook, assigned, monkeypatch
):
    make_webhook(receiver.url)
    assigned()
    naps = []

    def sleep(seconds):
        naps.append(seconds)
        if len(naps) == 2:
            raise KeyboardInterrupt  # Ctrl-C while waiting for the next round
        assigned()  # a new event while the worker sleeps

    monkeypatch.setattr("crm.cli.time.sleep", sleep)

    result = runner.invoke(args=["crm", "send-webhooks", "--loop", "--interval", "0.5"])

    assert result.exit_code == 0, result.output
    assert naps == [0.5, 0.5]
    assert len(receiver.requests) == 2
    assert result.output.count("Webhooks delivered 1,") == 2
    assert "Webhook worker stopped." in result.output


def test_the_body_is_the_stored_json(db, receiver, make_webhook, assigned):
    make_webhook(receiver.url)
    assigned()
    worker.send_due_deliveries()

    [delivery] = _db.session.scalars(sa.select(WebhookDelivery)).all()
    assert json.loads(delivery.payload) == receiver.requests[0].json
