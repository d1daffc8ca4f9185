"""Connection settings that SQLite needs on every connection."""

import sqlite3

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

_configured = False


def configure_engine_events():
    global _configured
    if _configured:
        return
    event.listen(Engine, "connect", _set_sqlite_pragmas)
    _configured = True


def _set_sqlite_pragmas(dbapi_connection, connection_record):
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
