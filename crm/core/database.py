"""Connection settings that SQLite needs on every connection, SQLite savepoints inside a
transaction, no NUL characters in text, and the work queues' rows (the outbox, the webhook
deliveries) taken by one worker at a time."""

import os
import sqlite3
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from crm.core.types import utcnow

_configured = False


def configure_engine_events():
    global _configured
    if _configured:
        return
    event.listen(Engine, "connect", _set_sqlite_pragmas)
    event.listen(Engine, "before_cursor_execute", _drop_nul_characters, retval=True)
    event.listen(Engine, "savepoint", _begin_sqlite_transaction_for_savepoint)
    _configured = True


def create_private_sqlite_file(uri):
    """Create a SQLite database file (and its folder) readable by its owner only.

    sqlite3 would create it with the process's umask, usually world-readable, and the file
    holds everything: people's names and addresses, enquiries, password hashes. SQLite gives
    its -wal and -shm files the database file's permissions. An existing file is left as its
    operator set it.
    """
    url = sa.engine.make_url(uri)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return
    if url.database.startswith("file:") or url.query.get("mode") == "memory":
        return
    path = Path(url.database)
    if path.exists():
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def _set_sqlite_pragmas(dbapi_connection, _connection_record):
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    # WAL lets readers work while a writer commits; the busy timeout makes a
    # second writer wait instead of failing at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# ---------------------------------------------------------------- SQLite transactions
#
# SQLite has one writer at a time; the busy timeout above makes a second writer wait for the
# first. It waits only when its transaction starts by writing. A transaction that has read
# first and then writes, after another writer committed in between, gets
# SQLITE_BUSY_SNAPSHOT ("database is locked") at once, without waiting: its snapshot is
# stale, and waiting would not help.
#
# The sqlite3 driver's own transaction control (kept on purpose) avoids that: reads run
# outside a transaction, each seeing the latest commit and holding no lock, and it begins
# the transaction just before the first INSERT, UPDATE or DELETE, which then waits for the
# lock. The write lock is so held only from a transaction's first write to its commit: the
# intake renders its e-mails before its first insert, so it holds the lock for a burst of
# inserts. (Beginning every write request with BEGIN IMMEDIATE instead would take the lock at
# its first read: measured with bench/ on SQLite, 16 connections, form POSTs went from p99
# ~195 ms to ~800 ms, as every request then queued for the whole of its work.)
#
# The hole is SAVEPOINT: sent outside a transaction, it starts one of its own, deferred, in
# which what the block reads comes before what it writes; and its RELEASE commits, so an
# outer ROLLBACK cannot undo it. That is how the first enquiries sent at once, each storing
# the privacy notice's version 1 in a savepoint, were refused with 503 (issue 20). So a
# savepoint with no transaction open begins one first, IMMEDIATE (a savepoint is there to
# guard a write): it waits for the lock, and the savepoint nests in a real transaction.
#
# The bound on any wait is the busy timeout (5 s), far above what a queue of writers takes
# (each holds the lock for a few milliseconds); it only decides when an overloaded database
# answers 503 rather than queueing for ever. Python 3.16 is to drop the driver's control as
# the default: pass autocommit=sqlite3.LEGACY_TRANSACTION_CONTROL then, or revisit this.


def _begin_sqlite_transaction_for_savepoint(connection, _name):
    if connection.dialect.name != "sqlite":
        return
    driver_connection = connection.connection.driver_connection
    if (
        isinstance(driver_connection, sqlite3.Connection)
        # Not in AUTOCOMMIT, where nothing must begin.
        and driver_connection.isolation_level is not None
        and not driver_connection.in_transaction
    ):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _drop_nul_characters(conn, cursor, statement, parameters, context, _executemany):
    """PostgreSQL refuses NUL in text (a form or a search with %00 would end in a 500), and no
    text needs it: drop it from every parameter, on every database alike."""
    if _has_nul(parameters):
        parameters = _without_nul(parameters)
    return statement, parameters


def _has_nul(value):
    """Parameters come as a dict, a sequence, or a sequence of those (executemany)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    return False


def _without_nul(value):
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {key: _without_nul(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_without_nul(item) for item in value)
    return value


def refresh_planner_statistics(session):
    """Fresh statistics for SQLite's query planner, which no daemon keeps up to date.

    Without them SQLite may read a list through the soft-delete index instead of the
    list's own index, which at a hundred thousand rows is the difference between 2 ms and
    200 ms. PostgreSQL's autovacuum does this by itself. The analysis is bounded, so it is
    cheap enough for the daily job.
    """
    if session.get_bind().dialect.name != "sqlite":
        return
    session.execute(sa.text("PRAGMA analysis_limit=1000"))
    session.execute(sa.text("ANALYZE"))


_UPSERT_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def upsert_insert(table, dialect):
    """An INSERT into `table` that takes ON CONFLICT DO UPDATE: the dialect's own, on the two
    databases the app runs on."""
    return _UPSERT_INSERTS[dialect.name](table)


def claim_due(model, row_id, *, pending, due_by, lease_until):
    """Take a due row of a work queue (the outbox, the webhook deliveries) for this worker:
    its next_attempt_at moves to `lease_until`, so no other worker takes it meanwhile. False
    when another worker took or finished it first.

    The conditional UPDATE is atomic on both databases: a second worker's UPDATE waits for
    ours to commit and then no longer matches.
    """
    from crm.extensions import db

    result = db.session.execute(
        sa.update(model)
        .where(model.id == row_id, model.status == pending, model.next_attempt_at <= due_by)
        .values(next_attempt_at=lease_until)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def claimed_due_rows(model, *, pending, order_by, limit, clock, lease):
    """The due rows of a work queue (status `pending`, next_attempt_at passed), up to `limit`
    in `order_by`'s order, each yielded once this worker has claimed it (claim_due) and read
    it again; a row another worker took, or one deleted meanwhile, is skipped.

    Commits after reading the due ids and after each claim, so the caller has no unsaved
    changes when it starts, and commits its work on each row before taking the next.
    """
    from crm.extensions import db

    started = clock()
    due = db.session.scalars(
        sa.select(model.id)
        .where(model.status == pending, model.next_attempt_at <= started)
        .order_by(*order_by)
        .limit(limit)
    ).all()
    db.session.commit()
    for row_id in due:
        if not claim_due(
            model, row_id, pending=pending, due_by=started, lease_until=clock() + lease
        ):
            continue  # another worker has it, or it was done meanwhile
        row = db.session.get(model, row_id)
        if row is not None:
            yield row


class NotRetryable(ValueError):
    """Only a failed row of a work queue can be queued again."""


def queue_again(row, *, failed, pending):
    """A failed row of a work queue made pending again, due now, its attempts counted afresh
    (an admin's "send again"); NotRetryable when it has not failed. Flushes, never commits."""
    from crm.extensions import db

    if row.status != failed:
        raise NotRetryable(row.id)
    row.status = pending
    row.attempts = 0
    row.next_attempt_at = utcnow()
    db.session.flush()
    return row


def commit_or_undo(undo):
    """Commit; when that fails, roll back and call `undo()` before the error goes on: what
    the request did outside the database (a file it wrote) goes with the rows that named it."""
    from crm.extensions import db

    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        undo()
        raise
