"""Every database connection is set up as the app relies on."""

import os
import stat

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from config import DevelopmentConfig
from crm import create_app
from crm.extensions import db as _db
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
    # A bare model on purpose: the database's foreign key is under test, not the service.
    db.session.add(Contact(last_name="Nobody", organisation_id=999_999))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Contact.id))) == 0


def test_an_organisation_cannot_be_a_member_of_itself(db):
    # Bare models on purpose: the database's check is under test (add_membership refuses it).
    association = Organisation(kind=OrganisationKind.INDUSTRY_ASSOCIATION, name="Lif")
    db.session.add(association)
    db.session.flush()
    db.session.add(Membership(member_id=association.id, association_id=association.id))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_organisation_numbers_are_unique_when_set(db):
    # Bare models on purpose: the database's unique index is under test, not the service.
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


@pytest.fixture
def usual_umask():
    """The umask most servers run with, which leaves new files readable by everyone."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_a_new_sqlite_database_is_readable_by_its_owner_only(tmp_path, usual_umask):
    path = tmp_path / "instance" / "crm.sqlite3"
    config = type(
        "Config",
        (DevelopmentConfig,),
        {"SECRET_KEY": "x" * 40, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"},
    )
    app = create_app(config)
    with app.app_context():
        with _db.engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x)")
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        written = sorted(file.name for file in path.parent.iterdir())
        modes = {file.name: stat.S_IMODE(file.stat().st_mode) for file in path.parent.iterdir()}
        _db.engine.dispose()

    # The write-ahead log holds the newest rows until a checkpoint: it must be private too.
    assert written == ["crm.sqlite3", "crm.sqlite3-shm", "crm.sqlite3-wal"]
    assert set(modes.values()) == {0o600}
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_released_savepoint_is_undone_when_its_transaction_rolls_back(db):
    # On SQLite a SAVEPOINT sent outside a transaction would start one of its own, which its
    # RELEASE commits; crm/core/database.py begins the enclosing transaction first.
    with db.session.begin_nested():
        db.session.add(Organisation(kind=OrganisationKind.COMPANY, name="Kept for a moment"))
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Organisation.id))) == 0
