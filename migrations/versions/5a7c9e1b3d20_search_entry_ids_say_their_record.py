"""search entry ids say their record: record id and kind's code

Revision ID: 5a7c9e1b3d20
Revises: 9f0e4256e4f1
Create Date: 2026-12-06 19:30:00

Each index entry's id becomes (record_id << 3) | the kind's code, so that SQLite's full-text
index, which hands back entry ids alone, gives the matching records without a lookup in
search_entries per match (crm/search/models.py, entry_id). The ids are set in two steps, via
their negatives, so no new id meets an old one that has not moved yet. On SQLite the
full-text table is dropped first and built again afterwards from the renumbered entries: its
triggers would otherwise rewrite each entry's words twice. The table built again also
indexes the words' first two and three letters (prefix='2 3'), for words being typed.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "5a7c9e1b3d20"
down_revision = "9f0e4256e4f1"
branch_labels = None
depends_on = None

# As of this revision (crm/search/models.py keeps them now).
KIND_CODE = (
    "CASE kind WHEN 'organisation' THEN 1 WHEN 'contact' THEN 2 WHEN 'agreement' THEN 3"
    " WHEN 'activity' THEN 4 WHEN 'enquiry' THEN 5 END"
)
SQLITE_CREATE = [
    """CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(
        body, content='search_entries', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2', prefix='2 3')""",
    """CREATE TRIGGER IF NOT EXISTS search_entries_ai AFTER INSERT ON search_entries BEGIN
        INSERT INTO search_fts(rowid, body) VALUES (new.id, new.body);
    END""",
    """CREATE TRIGGER IF NOT EXISTS search_entries_ad AFTER DELETE ON search_entries BEGIN
        INSERT INTO search_fts(search_fts, rowid, body) VALUES ('delete', old.id, old.body);
    END""",
    """CREATE TRIGGER IF NOT EXISTS search_entries_au AFTER UPDATE ON search_entries BEGIN
        INSERT INTO search_fts(search_fts, rowid, body) VALUES ('delete', old.id, old.body);
        INSERT INTO search_fts(rowid, body) VALUES (new.id, new.body);
    END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS search_entries_ai",
    "DROP TRIGGER IF EXISTS search_entries_ad",
    "DROP TRIGGER IF EXISTS search_entries_au",
    "DROP TABLE IF EXISTS search_fts",
]


def upgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for statement in SQLITE_DROP:
            op.execute(statement)
    op.execute(f"UPDATE search_entries SET id = -((record_id * 8) + {KIND_CODE})")
    op.execute("UPDATE search_entries SET id = -id")
    if sqlite:
        for statement in SQLITE_CREATE:
            op.execute(statement)
        op.execute("INSERT INTO search_fts(search_fts) VALUES ('rebuild')")


def downgrade():
    # The earlier code draws new entry ids from the table's sequence (SQLite: the largest
    # id plus one), which must start past the ids given here.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "SELECT setval(pg_get_serial_sequence('search_entries', 'id'),"
            " (SELECT COALESCE(MAX(id), 0) + 1 FROM search_entries), false)"
        )
