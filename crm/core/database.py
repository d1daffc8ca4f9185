"""Connection settings that SQLite needs on every connection; no NUL characters in text."""

import os
import sqlite3
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

_configured = False


def configure_engine_events():
    global _configured
    if _configured:
        return
    event.listen(Engine, "connect", _set_sqlite_pragmas)
    event.listen(Engine, "before_cursor_execute", _drop_nul_characters, retval=True)
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
