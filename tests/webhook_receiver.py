"""A real HTTP receiver for webhook deliveries, on 127.0.0.1, and webhook fixtures.

The tests that deliver run with WEBHOOKS_ALLOW_PRIVATE on, as an intranet would: the
receiver is on the loopback address, which the CRM otherwise refuses to send to.
"""

import json
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from crm.extensions import db as _db


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)


class Receiver:
    """An HTTP server that records every POST and answers with the statuses queued in
    `answers` ((status, body, headers) each), then 200 "ok". It can be stopped and started
    again on the same port, as a receiver's outage."""

    def __init__(self):
        self.port = _free_port()
        self.requests = []
        self.answers = []
        self.delay = 0
        self._server = None
        self._lock = threading.Lock()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hooks/crm"

    def start(self, tls=None):
        """Listen (again); `tls`: an ssl.SSLContext to serve https with."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.requests.append(Received(self.path, dict(self.headers), body))
                    answer = receiver.answers.pop(0) if receiver.answers else (200, "ok", {})
                if receiver.delay:
                    threading.Event().wait(receiver.delay)
                status, text, headers = answer
                payload = text.encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def receiver():
    receiver = Receiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture
def make_webhook(db):
    """make_webhook(url, events=[...], active=True, actor=None) → a committed Webhook, made
    through the service (its secret is `webhook.secret`)."""

    # Imported here: conftest imports this module before any app is made.
    from crm.webhooks import services as webhook_services

    def make(url, *, events=("enquiry.assigned",), active=True, actor=None, description=""):
        webhook = webhook_services.create_webhook(
            {"url": url, "description": description, "events": list(events), "active": active},
            actor=actor,
        )
        db.session.commit()
        return webhook

    return make


def deliveries(event=None):
    """Every delivery, oldest first (of `event` only, when given), read afresh."""
    from crm.webhooks.models import WebhookDelivery

    _db.session.expire_all()
    select = sa.select(WebhookDelivery).order_by(WebhookDelivery.id)
    if event is not None:
        select = select.where(WebhookDelivery.event == event)
    return _db.session.scalars(select).all()
