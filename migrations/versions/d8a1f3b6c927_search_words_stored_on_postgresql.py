"""search index: the words stored beside the body on PostgreSQL (a generated tsvector column)

Revision ID: d8a1f3b6c927
Revises: c5044d35e010
Create Date: 2026-12-06 16:40:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd8a1f3b6c927'
down_revision = 'c5044d35e010'
branch_labels = None
depends_on = None


def upgrade():
    # SQLite's FTS5 table keeps its own words; nothing changes there.
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_search_entries_body_fts")
    op.execute(
        "ALTER TABLE search_entries ADD COLUMN body_vector tsvector"
        " GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, body)) STORED"
    )
    op.execute(
        "CREATE INDEX ix_search_entries_body_vector ON search_entries USING gin (body_vector)"
    )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_search_entries_body_vector")
    op.execute("ALTER TABLE search_entries DROP COLUMN body_vector")
    op.execute(
        "CREATE INDEX ix_search_entries_body_fts ON search_entries"
        " USING gin (to_tsvector('simple'::regconfig, body))"
    )
