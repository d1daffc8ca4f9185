"""Fixtures: a real app on a real database (SQLite, or PostgreSQL via TEST_DATABASE_URL)."""

import os

import pytest
import sqlalchemy as sa
from flask import has_app_context
from flask.testing import FlaskClient

from config import TestingConfig
from crm import create_app
from crm.auth import services as user_services
from crm.auth.models import Role
from crm.extensions import db as _db

TEST_PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


class IsolatedClient(FlaskClient):
    """Each request in its own app context, as in production.

    The `app` fixture keeps an app context open for the whole test; Flask reuses it for
    requests, so `g` (Flask-Login's current user, Flask-Babel's locale) and the database
    session would otherwise carry over from one request, and one client, to the next.
    Afterwards the test's own session is expired, so it reads what the request wrote.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        if has_app_context():
            _db.session.expire_all()
        return response


def build_app(database_url, **overrides):
    config = type(
        "TestConfig",
        (TestingConfig,),
        {"SQLALCHEMY_DATABASE_URI": database_url, **overrides},
    )
    app = create_app(config)
    app.test_client_class = IsolatedClient
    return app


@pytest.fixture(scope="session")
def _schema(database_url):
    """Create the tables once per run; each test then starts from empty tables."""
    app = build_app(database_url)
    with app.app_context():
        _db.drop_all()
        _db.create_all()
        _db.engine.dispose()
    return database_url


@pytest.fixture
def app(request, _schema, tmp_path):
    """A fresh app per test. `@pytest.mark.config(KEY=value)` overrides settings for one test."""
    marker = request.node.get_closest_marker("config")
    # Uploaded files (demo documents too) go to the test's own folder, never instance/.
    overrides = {"UPLOAD_FOLDER": str(tmp_path / "uploads")}
    overrides.update(marker.kwargs if marker else {})
    app = build_app(_schema, **overrides)
    with app.app_context():
        yield app
        _db.session.remove()
        _empty_tables()
        _db.engine.dispose()


def _empty_tables():
    tables = _db.metadata.sorted_tables
    with _db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in tables)
            connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                connection.execute(table.delete())


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(db):
    """make_user(role="member", email=..., name=..., password=...) → a committed User."""
    counter = iter(range(1, 10_000))

    def make(role=Role.MEMBER, *, email=None, name=None, password=TEST_PASSWORD, active=True):
        number = next(counter)
        role = Role(role)
        user = user_services.create_user(
            email=email or f"{role.value}{number}@example.org",
            name=name or f"Test {role.value.title()} {number}",
            role=role,
            password=password,
        )
        user.active = active
        db.session.commit()
        return user

    return make


class AuthActions:
    """Sign in and out through the real forms, as a person would."""

    def __init__(self, client, make_user):
        self._client = client
        self._make_user = make_user

    def login(self, role_or_user=Role.MEMBER, password=TEST_PASSWORD):
        user = role_or_user
        if isinstance(role_or_user, str | Role):
            user = self._make_user(role_or_user)
        response = self._client.post(
            "/login", data={"email": user.email, "password": password}, follow_redirects=False
        )
        assert response.status_code == 302, "sign-in failed in a test helper"
        return user

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client, make_user):
    return AuthActions(client, make_user)


@pytest.fixture
def login(auth):
    """login(role) signs a new user with that role in and returns them."""
    return auth.login
