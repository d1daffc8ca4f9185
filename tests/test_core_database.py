"""Every database connection is set up as the app relies on."""

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from config import DevelopmentConfig
from crm.organisations.models import Contact, Membership, Organisation, OrganisationKind


@pytest.fixture
def sqlite_only(db):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite connection settings; this run is on PostgreSQL")


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(db, sqlite_only):
    # A fresh connection from the pool, not one a previous test configured.
    db.engine.dispose()
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000


def test_default_database_is_sqlite_under_instance(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    from config import default_sqlite_url

    url = default_sqlite_url()
    assert url.startswith("sqlite:///")
    assert url.endswith("/instance/crm.sqlite3")
    assert DevelopmentConfig.SQLALCHEMY_DATABASE_URI.startswith(("sqlite:///", "postgresql"))


def test_a_contact_cannot_point_at_an_organisation_that_does_not_exist(db):
    db.session.add(Contact(last_name="Nobody", organisation_id=999_999))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Contact.id))) == 0


def test_an_organisation_cannot_be_a_member_of_itself(db):
    association = Organisation(kind=OrganisationKind.INDUSTRY_ASSOCIATION, name="Lif")
    db.session.add(association)
    db.session.flush()
    db.session.add(Membership(member_id=association.id, association_id=association.id))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_organisation_numbers_are_unique_when_set(db):
    db.session.add_all(
        [
            Organisation(kind=OrganisationKind.COMPANY, name="A", org_number="556677-8899"),
            Organisation(kind=OrganisationKind.COMPANY, name="B", org_number="556677-8899"),
        ]
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    # Many organisations may have no number at all.
    db.session.add_all(
        [Organisation(kind=OrganisationKind.COMPANY, name=name) for name in ("C", "D")]
    )
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(Organisation.id))) == 2
