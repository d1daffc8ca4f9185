"""Connection settings that SQLite needs on every connection, how SQLite transactions
begin, and no NUL characters in text."""

import os
import sqlite3
from pathlib import Path

import sqlalchemy as sa
from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

# Requests that only read. Every other request is one that writes (a form, an upload).
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_configured = False


def configure_engine_events():
    global _configured
    if _configured:
        return
    event.listen(Engine, "connect", _set_sqlite_pragmas)
    event.listen(Engine, "before_cursor_execute", _drop_nul_characters, retval=True)
    event.listen(Engine, "begin", _begin_sqlite_transaction)
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
# first (a "deferred" one) and then writes, after another writer committed in between, gets
# SQLITE_BUSY_SNAPSHOT at once, without waiting: its snapshot is stale and waiting would not
# help. That is how the first enquiries sent at once, racing to store the privacy notice's
# version 1, were refused with 503 (issue 20).
#
# So a request that writes (any method but GET, HEAD and OPTIONS) begins its transaction
# with BEGIN IMMEDIATE: it takes the write lock at its first statement, waiting for it up to
# the busy timeout, and can then read and write without meeting a stale snapshot. Write
# requests are short (a burst of statements, then a redirect), so they queue for the lock
# for milliseconds. Everything else keeps the sqlite3 driver's own transaction control:
# each read sees the latest commit and holds no lock, and a transaction begins (deferred)
# just before its first write, so its busy handler waits as well. That suits what reads a
# lot and writes now and then, where holding the write lock from the first read would
# queue every other writer behind it: the GET pages (some store something once, such as the
# form's first consent text), the CLI and the workers (the outbox worker reads a message and
# then talks to the mail server for up to MAIL_TIMEOUT before marking it sent).
#
# A savepoint needs an enclosing transaction: with the driver's own control, a SAVEPOINT
# sent outside one would start a transaction of its own, which its RELEASE commits and the
# outer ROLLBACK then cannot undo. So a savepoint with no transaction open begins one first,
# IMMEDIATE, as a savepoint is there to guard a write.
#
# The bound on the wait is the busy timeout (5 s): far above what a queue of write requests
# takes (each holds the lock for a few milliseconds, so 16 at once wait ~50 ms), it only
# turns an overloaded database into 503 after 5 s rather than an endless queue.


def _begin_sqlite_transaction(connection):
    if _drives_its_own_transactions(connection) and _in_write_request():
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _begin_sqlite_transaction_for_savepoint(connection, _name):
    if (
        _drives_its_own_transactions(connection)
        and not connection.connection.driver_connection.in_transaction
    ):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _drives_its_own_transactions(connection):
    """SQLite through sqlite3, not in AUTOCOMMIT (which must not begin anything)."""
    if connection.dialect.name != "sqlite":
        return False
    driver_connection = connection.connection.driver_connection
    return (
        isinstance(driver_connection, sqlite3.Connection)
        and driver_connection.isolation_level is not None
    )


def _in_write_request():
    return has_request_context() and request.method not in READ_METHODS


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
