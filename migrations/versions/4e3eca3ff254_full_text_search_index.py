"""full-text search index

Revision ID: 4e3eca3ff254
Revises: f3324fb82fd2
Create Date: 2026-11-26 00:40:00

The index table, its full-text part (an FTS5 table and triggers on SQLite, a GIN index on
PostgreSQL), and the index rows of the records already in the database. The app keeps the
rows in step from then on (crm/search/index.py).
"""

import re

import sqlalchemy as sa
from alembic import op

from crm.core.text import fold, website_domain

# revision identifiers, used by Alembic.
revision = "4e3eca3ff254"
down_revision = "f3324fb82fd2"
branch_labels = None
depends_on = None

SQLITE_CREATE = [
    """CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(
        body, content='search_entries', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2')""",
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

# The texts each kind is found by, as of this revision (crm/search/index.py keeps them now).
SOURCES = {
    "organisation": "SELECT id, name, org_number, city, website FROM organisations"
    " WHERE deleted_at IS NULL",
    "contact": "SELECT id, first_name, last_name, email, title, phone FROM contacts"
    " WHERE deleted_at IS NULL",
    "agreement": "SELECT id, title, our_signatory, description FROM agreements"
    " WHERE deleted_at IS NULL",
    "activity": "SELECT id, title, place, public_summary, description FROM activities"
    " WHERE deleted_at IS NULL",
    "enquiry": "SELECT id, reference, name, email, organisation_name, message FROM enquiries"
    " WHERE deleted_at IS NULL",
}
_WORD = re.compile(r"[^\W_]+")


def _texts(kind, row):
    if kind == "organisation":
        number = row.org_number or ""
        return [row.name, number, number.replace("-", ""), row.city, website_domain(row.website)]
    if kind == "contact":
        return [row.first_name, row.last_name, row.email, row.title, row.phone]
    if kind == "agreement":
        return [row.title, row.our_signatory, (row.description or "")[:1000]]
    if kind == "activity":
        return [
            row.title,
            row.place,
            (row.public_summary or "")[:500],
            (row.description or "")[:1000],
        ]
    return [row.reference, row.name, row.email, row.organisation_name, (row.message or "")[:500]]


def upgrade():
    search_entries = op.create_table(
        "search_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_entries")),
        sa.UniqueConstraint("kind", "record_id", name=op.f("uq_search_entries_kind_record_id")),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_search_entries_body_fts ON search_entries"
            " USING gin (to_tsvector('simple'::regconfig, body))"
        )
    elif bind.dialect.name == "sqlite":
        for statement in SQLITE_CREATE:
            op.execute(statement)

    for kind, query in SOURCES.items():
        rows = [
            {
                "kind": kind,
                "record_id": row.id,
                "body": " ".join(
                    _WORD.findall(fold(" ".join(str(text) for text in _texts(kind, row) if text)))
                ),
            }
            for row in bind.execute(sa.text(query))
        ]
        if rows:
            op.bulk_insert(search_entries, rows)


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS search_fts")
    elif bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_search_entries_body_fts")
    op.drop_table("search_entries")
