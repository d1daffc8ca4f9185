"""Small helpers shared by the test modules (the fixtures are in conftest.py)."""

from contextlib import contextmanager

import sqlalchemy as sa


@contextmanager
def count_queries(db):
    """`with count_queries(db) as statements:` collects the SQL sent while inside."""
    statements = []

    def listener(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)
