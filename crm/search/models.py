"""The full-text search index: one row per searchable record, with its folded words.

The table itself is ordinary, so `db.create_all`, migrations and the tests' emptying of
tables treat it like any other. The full-text part depends on the database:

- SQLite: an FTS5 table `search_fts` over this table's `body` (external content), kept in
  step by triggers, so inserting or deleting a row here is all the code ever does;
- PostgreSQL: a stored generated column `body_vector` (`to_tsvector('simple', body)`) with a
  GIN index. Stored, so that checking a row against a query reads its words instead of
  parsing the body again: a list that walks its own order and checks each row, or a bitmap
  scan's recheck of tens of thousands of matches, would otherwise parse every body. The
  column exists on PostgreSQL only, so it is made by DDL here and by the migration, not
  mapped; nothing writes it.

`body` holds the record's words already folded (lower case, no accents) and split into
letters and digits, so both databases see the same words and agree on what matches.
"""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from crm.extensions import db

# The text search configuration: no stemming or stop words, the words are folded already.
TS_CONFIG = sa.literal_column("'simple'::regconfig")


# An entry's id says whose words it holds: the record's id and its kind's code in the low
# KIND_BITS bits. SQLite's full-text index hands back only entry ids (its rowids); read this
# way, they give the matching records of a kind without a lookup in this table for each
# match, which for a frequent word is tens of thousands of lookups per query.
KIND_CODES = {"organisation": 1, "contact": 2, "agreement": 3, "activity": 4, "enquiry": 5}
KIND_BITS = 3
KIND_MASK = (1 << KIND_BITS) - 1


def entry_id(kind, record_id):
    return (record_id << KIND_BITS) | KIND_CODES[kind]


class SearchEntry(db.Model):
    __tablename__ = "search_entries"
    __table_args__ = (sa.UniqueConstraint("kind", "record_id"),)

    # Always entry_id(kind, record_id), never drawn from a sequence.
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    # organisation, contact, agreement, activity or enquiry.
    kind: Mapped[str] = mapped_column(sa.String(20))
    record_id: Mapped[int]
    body: Mapped[str] = mapped_column(sa.Text, default="")


def body_vector():
    """The PostgreSQL column of the body's words, which the GIN index is built on."""
    return sa.literal_column("search_entries.body_vector", TSVECTOR)


# The PostgreSQL side (see the module's docstring).
POSTGRESQL_CREATE = [
    """ALTER TABLE search_entries ADD COLUMN body_vector tsvector
        GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, body)) STORED""",
    "CREATE INDEX ix_search_entries_body_vector ON search_entries USING gin (body_vector)",
]
for statement in POSTGRESQL_CREATE:
    sa.event.listen(
        SearchEntry.__table__, "after_create", sa.DDL(statement).execute_if(dialect="postgresql")
    )


# The SQLite side: an FTS5 table reading its text from search_entries, and triggers that
# keep it in step with every insert, update and delete there. It also indexes the words'
# first two and three letters, so a short word being typed ("com" at the end of an address)
# is one list of entries rather than those of every word beginning so, merged per query
# (22 ms to 0.7 ms for an address among 320,000 entries).
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
    """Alembic autogenerate: SQLite's FTS5 table and its shadow tables, and PostgreSQL's
    column of words and its index, are not models."""
    if type_ == "table" and name.startswith("search_fts"):
        return False
    return name not in {"body_vector", "ix_search_entries_body_vector"}
