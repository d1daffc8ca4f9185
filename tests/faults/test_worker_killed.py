"""A mail worker killed (SIGKILL) in the middle of a batch: no message lost, none doubled
beyond what SMTP itself allows.

What "exactly once" means with the outbox's claim protocol (crm/mail/sending.py): before each
SMTP send the worker commits a claim (the row's next attempt moves a lease into the future),
and after the server's "250" it commits SENT. So:

* a message whose SENT was committed is never sent again;
* a message claimed by a worker that died is sent again by another worker once the claim
  expires (OUTBOX_CLAIM_SECONDS), so it is never lost;
* the one message in flight when the worker died may have been accepted by the server
  already (the crash fell between the server taking the data and our commit). No SMTP client
  can rule that out; such a copy carries the same Message-ID (crm-outbox-<id>.<created>@...),
  so mail servers and clients that drop duplicates by Message-ID drop it. At most one message
  per crashed worker is affected.

The test kills the worker while the server is holding a message in DATA and then lets the
server accept it anyway (the worst case), so that message arrives twice with one Message-ID;
every other message arrives exactly once.
"""

import signal
import subprocess
import time

import pytest
import sqlalchemy as sa

from crm.mail.models import OutboxMessage, OutboxStatus
from crm.mail.services import queue_message
from tests.faults.conftest import SMTPServer, start_worker

MESSAGES = 20
KILL_AT = 6  # kill the worker while the server holds this message in DATA
DELAY = 0.1  # seconds the server takes to accept each message (message KILL_AT: HOLD)
# How long the server holds message KILL_AT: the window in which the test must see it there
# and kill the worker. Long, so that a busy machine (the suite runs on every core) cannot make
# the test miss it; the held reply does not slow the rest of the test down.
HOLD = 60.0
# Seconds a dead worker's claim holds its message. Longer than the second worker takes to
# start and send the other messages even on a loaded machine (starting the app alone took
# 3.8 s there), so the message in flight is resent after all the others, as it should be.
LEASE = 10

pytestmark = pytest.mark.slow


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def outbox(db):
    db.session.expire_all()
    return db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_worker_killed_mid_batch_loses_nothing_and_doubles_at_most_the_one_in_flight(
    app, db, database_url, tmp_path
):
    server = SMTPServer(delay=DELAY, hold=(KILL_AT, HOLD))
    server.start()
    for number in range(MESSAGES):
        queue_message(
            kind="test",
            recipient=f"person{number}@example.com",
            subject=f"Message {number}",
            body_text="Body",
        )
    db.session.commit()
    ids = [message.id for message in outbox(db)]
    log_path = tmp_path / "worker.log"
    workers = []
    try:
        with log_path.open("w") as log:
            first = start_worker(database_url, server.port, log, lease=LEASE)
            workers.append(first)
            # The server has taken message KILL_AT and is about to reply "250".
            wait_for(lambda: len(server.handler.accepted) >= KILL_AT, 60, "the first messages")
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            assert first.returncode == -signal.SIGKILL
            killed_at = time.monotonic()

            copies_at_kill = server.handler.copies()
            assert len(copies_at_kill) == KILL_AT  # no further message was started
            in_flight_id = server.handler.accepted[KILL_AT - 1][0]
            sent_rows = {m.id for m in outbox(db) if m.status == OutboxStatus.SENT}
            assert in_flight_id not in sent_rows  # the dead worker never recorded it
            assert sent_rows == set(copies_at_kill) - {in_flight_id}

            second = start_worker(database_url, server.port, log, lease=LEASE)
            workers.append(second)
            wait_for(
                lambda: all(m.status == OutboxStatus.SENT for m in outbox(db)),
                60 + MESSAGES * DELAY,
                "the second worker to drain the outbox",
            )
            resent_after = time.monotonic() - killed_at
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    worker.kill()
        server.stop()

    log_text = log_path.read_text()
    copies = server.handler.copies()
    # Nothing lost: every message reached the server.
    assert set(copies) == set(ids), log_text
    # Nothing doubled but the message in flight at the crash, with the same Message-ID both
    # times; the dead worker's claim held it back for the lease, no longer.
    doubled = {mid: n for mid, n in copies.items() if n > 1}
    assert doubled == {in_flight_id: 2}, log_text
    message_ids = {m_id for o_id, m_id, _r in server.handler.accepted if o_id == in_flight_id}
    assert len(message_ids) == 1
    assert server.handler.accepted[-1][0] == in_flight_id  # after all the others
    assert resent_after >= LEASE - 1
    rows = outbox(db)
    assert all(m.status == OutboxStatus.SENT and m.attempts == 0 for m in rows)
