"""Small helpers shared by the test modules (the fixtures are in conftest.py)."""

import re
from contextlib import contextmanager

import sqlalchemy as sa

from tests.conftest import TEST_PASSWORD


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


def analyze(db):
    """Commit what a test inserted, and have the database gather its planner statistics of
    it, as the daily job keeps them: the query plans read afterwards are those of a register
    of some size, not of a nearly empty database."""
    db.session.commit()
    db.session.execute(sa.text("ANALYZE"))
    db.session.commit()


@contextmanager
def sqlite_plans(db, starting_with="SELECT", containing=""):
    """`with sqlite_plans(db) as plans:` collects, for each statement sent while inside that
    starts with `starting_with` and contains `containing` (its whitespace taken as single
    spaces), SQLite's query plan (its lines), read once the block ends."""
    sent = []
    plans = []

    def listener(conn, cursor, statement, parameters, *args):
        text = " ".join(statement.split())
        if text.startswith(starting_with) and containing in text:
            sent.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        yield plans
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)
    connection = db.session.connection()
    for statement, parameters in sent:
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        plans.append([row[-1] for row in rows])


def sign_in_with_form_token(client, user, password=TEST_PASSWORD):
    """Sign in through the login form as a browser does with CSRF on: the token read off the
    page."""
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post(
        "/login", data={"email": user.email, "password": password, "csrf_token": token}
    )
    assert response.status_code == 302


def board_column(html, status):
    """The HTML of one column of a board."""
    match = re.search(
        rf'<section class="board-column" data-status="{status}".*?</section>', html, re.S
    )
    assert match, f"no column {status}"
    return match.group(0)


def board_cards(html, status, records):
    """The names on the cards of one column, as their links to /<records>/<id> read."""
    return re.findall(rf'<a href="/{records}/\d+">([^<]*)</a>', board_column(html, status))


def board_queries(client, db, url):
    """(How many statements the board at `url` sends, its HTML)."""
    with count_queries(db) as statements:
        html = client.get(url).get_data(as_text=True)
    return len(statements), html
