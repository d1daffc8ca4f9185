"""Fault-test fixtures: an SMTP server that counts every message it accepts, and enquiries
sent through the real public form."""

import asyncio
import email
import os
import socket
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from crm.auth.models import Role
from crm.enquiries import intake
from crm.extensions import mail
from crm.public.contact_forms import issue_form_token

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[2]

VALID = {
    "name": "Anna Andersson",
    "email": "anna@kvarnbo.example",
    "phone": "+46 70-123 45 67",
    "organisation_name": "Kvarnbo Genomik AB",
    "organisation_type": "company",
    "topic": "clinical_studies",
    "message": "We would like to discuss a clinical study on hereditary cancer.",
    "acknowledgement": "y",
}


def free_port():
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class CountingHandler:
    """Accepts every message; keeps (outbox id, Message-ID, recipients) for each one.

    Like a real mail server, it takes responsibility for a message (here: records it) as
    soon as the data has arrived, and only then replies "250"; `delay` seconds pass in
    between, like a slow server. A client that goes away in that window never hears the
    reply, but the message has been taken. `hold` = (n, seconds) holds the n-th message
    longer, so a test can act while the server has it and the client has had no reply.
    """

    def __init__(self, delay=0.0, hold=(0, 0.0)):
        self.delay = delay
        self.hold = hold
        self.lock = threading.Lock()
        self.accepted = []

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.original_content)
        with self.lock:
            self.accepted.append(
                (
                    int(parsed["X-CRM-Outbox-Id"]),
                    parsed["Message-ID"],
                    tuple(envelope.rcpt_tos),
                )
            )
            number = len(self.accepted)
        held, seconds = self.hold
        delay = seconds if number == held else self.delay
        if delay:
            await asyncio.sleep(delay)
        return "250 Message accepted for delivery"

    def copies(self):
        """{outbox id: how many times the server accepted it}."""
        with self.lock:
            return Counter(outbox_id for outbox_id, _mid, _rcpt in self.accepted)


class SMTPServer:
    """A local SMTP server on a fixed free port that a test can start, stop and start again."""

    def __init__(self, delay=0.0, hold=(0, 0.0)):
        self.handler = CountingHandler(delay, hold)
        self.port = free_port()
        self.controller = None

    def start(self):
        self.controller = Controller(self.handler, hostname=HOST, port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def start_worker(database_url, port, log, *, lease=3):
    """`flask --app wsgi crm send-mail --loop`, as deployed, against the test's database."""
    env = {
        **os.environ,
        "CRM_ENV": "development",
        "SECRET_KEY": "fault-test-" + "x" * 32,
        "DATABASE_URL": database_url,
        "MAIL_SERVER": HOST,
        "MAIL_PORT": str(port),
        "MAIL_DEFAULT_SENDER": "crm@example.org",
        "MAIL_TIMEOUT": "5",
        "OUTBOX_CLAIM_SECONDS": str(lease),
    }
    env.pop("TEST_DATABASE_URL", None)
    return subprocess.Popen(  # noqa: S603 (this Python, fixed arguments)
        [sys.executable, "-m", "flask", "--app", "wsgi", "crm", "send-mail", "--loop"]
        + ["--interval", "0.2"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


@pytest.fixture
def smtp(app):
    """A stopped SMTP server the app sends to for real (MAIL_SUPPRESS_SEND off)."""
    server = SMTPServer()
    app.config.update(
        MAIL_SERVER=HOST,
        MAIL_PORT=server.port,
        MAIL_USE_TLS=False,
        MAIL_USE_SSL=False,
        MAIL_SUPPRESS_SEND=False,
        MAIL_TIMEOUT=5,
    )
    mail.init_app(app)
    yield server
    server.stop()


@pytest.fixture
def coordinator(make_user):
    """One coordinator, so each enquiry queues a receipt and one notice."""
    return make_user(Role.COORDINATOR, email="coordinator@example.org")


@pytest.fixture
def form_fields(app, db):
    """form_fields(language="en") → the hidden fields of a freshly shown form (a new token)."""
    consent = {}

    def make(language="en"):
        if language not in consent:
            consent[language] = intake.current_consent_text(language).id
            db.session.commit()
        return {
            "form_token": issue_form_token(language),
            "consent_text_id": str(consent[language]),
        }

    return make


def count(db, model):
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))
