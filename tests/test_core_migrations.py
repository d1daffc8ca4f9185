"""The migrations build the schema the models describe, on SQLite and on PostgreSQL, and
keep what the data needs when they change it."""

import os
import uuid
import warnings

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from crm.extensions import db
from crm.search import index
from crm.search.models import entry_id, include_name
from tests.conftest import build_app


@pytest.fixture
def empty_database_url(tmp_path):
    """A database with no tables at all, of the same kind the suite runs on."""
    server_url = os.environ.get("TEST_DATABASE_URL")
    if not server_url:
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    name = f"crm_migrations_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(
        server_url.replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(admin.url).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_upgrade_builds_the_schema_the_models_describe(empty_database_url):
    app = build_app(empty_database_url)
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_name": include_name}
            )
            with warnings.catch_warnings():
                # SQLite's reflection skips an index on an expression (lower(email)); it is
                # looked for by name below instead. PostgreSQL's compares it like the rest.
                warnings.filterwarnings(
                    "ignore", "Skipped unsupported reflection of expression-based index"
                )
                differences = compare_metadata(context, db.metadata)
            tables = set(sa.inspect(connection).get_table_names())
            indexes = _index_names(connection)
        db.engine.dispose()
    assert differences == []
    assert {"organisations", "contacts", "agreements", "activities", "enquiries"} <= tables
    assert "alembic_version" in tables
    assert "ix_contacts_email_lower" in indexes


def _index_names(connection):
    if connection.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'index'"
    else:
        query = "SELECT indexname FROM pg_indexes"
    return set(connection.scalars(sa.text(query)))


def test_upgrading_renumbers_the_index_and_still_finds_every_record(
    empty_database_url, make_organisation, make_contact
):
    """Revision 5a7c9e1b3d20 gives each index entry the id that says its record; entries
    numbered the earlier way (1, 2, 3, ...) are found after the upgrade as before it."""
    app = build_app(empty_database_url)
    with app.app_context():
        # The records are made by today's code on today's schema, which then goes back to the
        # revision before the renumbering: today's code writes columns (the history's
        # api_token_name) that schema does not have yet.
        upgrade()
        organisation = make_organisation("Sahlgrenska Science Park")
        contact = make_contact("Åsa", "Öberg", organisation=organisation)
        db.session.commit()
        downgrade(revision="9f0e4256e4f1")
        # As the earlier code numbered them: one after the other.
        db.session.execute(sa.text("UPDATE search_entries SET id = 1 WHERE kind = 'contact'"))
        db.session.execute(sa.text("UPDATE search_entries SET id = 2 WHERE kind = 'organisation'"))
        db.session.commit()
        assert set(db.session.scalars(sa.text("SELECT id FROM search_entries"))) == {1, 2}

        upgrade()

        assert set(db.session.scalars(sa.text("SELECT id FROM search_entries"))) == {
            entry_id("organisation", organisation.id),
            entry_id("contact", contact.id),
        }

        assert index.matching_ids("organisation", "sahlgrenska") == [organisation.id]
        assert index.matching_ids("contact", "asa oberg") == [contact.id]
        assert index.kind_counts(index.query_words("sahlgrenska")) == {"organisation": 1}
        db.session.remove()
        db.engine.dispose()
