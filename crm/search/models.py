"""The full-text search index: one row per searchable record, with its folded words.

The table itself is ordinary, so `db.create_all`, migrations and the tests' emptying of
tables treat it like any other. The full-text part depends on the database:

- SQLite: an FTS5 table `search_fts` over this table's `body` (external content), kept in
  step by triggers, so inserting or deleting a row here is all the code ever does;
- PostgreSQL: a GIN index on `to_tsvector('simple', body)`.

`body` holds the record's words already folded (lower case, no accents) and split into
letters and digits, so both databases see the same words and agree on what matches.
"""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crm.extensions import db

# The text search configuration: no stemming or stop words, the words are folded already.
TS_CONFIG = sa.literal_column("'simple'::regconfig")


class SearchEntry(db.Model):
    __tablename__ = "search_entries"
    __table_args__ = (
        sa.UniqueConstraint("kind", "record_id"),
        # The configuration is rendered inline, not as a bound parameter, so the planner
        # can match the queries' expression (body_vector) to the index.
        sa.Index(
            "ix_search_entries_body_fts",
            sa.func.to_tsvector(TS_CONFIG, sa.literal_column("body")),
            postgresql_using="gin",
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # organisation, contact, agreement, activity or enquiry.
    kind: Mapped[str] = mapped_column(sa.String(20))
    record_id: Mapped[int]
    body: Mapped[str] = mapped_column(sa.Text, default="")


def body_vector():
    """The expression the PostgreSQL GIN index is built on; queries must use the same."""
    return sa.func.to_tsvector(TS_CONFIG, SearchEntry.body)


# The SQLite side: an FTS5 table reading its text from search_entries, and triggers that
# keep it in step with every insert, update and delete there.
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
SQLITE_DROP = ["DROP TABLE IF EXISTS search_fts"]

for statement in SQLITE_CREATE:
    sa.event.listen(
        SearchEntry.__table__, "after_create", sa.DDL(statement).execute_if(dialect="sqlite")
    )
for statement in SQLITE_DROP:
    sa.event.listen(
        SearchEntry.__table__, "before_drop", sa.DDL(statement).execute_if(dialect="sqlite")
    )


def include_name(name, type_, _parent_names):
    """Alembic autogenerate: SQLite's FTS5 table and its shadow tables are not models."""
    return not (type_ == "table" and name.startswith("search_fts"))
