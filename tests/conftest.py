"""Fixtures: a real app on a real database (SQLite, or PostgreSQL via TEST_DATABASE_URL)."""

import copy
import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import has_app_context
from flask.testing import FlaskClient

from config import TestingConfig
from crm import create_app
from crm.auth import services as user_services
from crm.auth.models import Role
from crm.core import page_cache
from crm.core.sessions import VerifiedCookieSessionInterface
from crm.extensions import db as _db
from crm.extensions import limiter
from tests import factories
from tests.mailserver import imap_server, mailbox  # noqa: F401 (fixtures: a real IMAP server)

# Fixtures: a real OpenID Connect provider process, and a relay that spoils its tokens.
from tests.oidc_provider import expired_oidc_provider, oidc_provider, relay  # noqa: F401

# Fixtures: a real HTTP receiver of webhook deliveries, and webhooks made by the service.
from tests.webhook_receiver import make_webhook, receiver  # noqa: F401

TEST_PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory, worker_id):
    """The run's database. Under pytest-xdist (`-n 2`) each worker has its own: a SQLite file
    in its own temporary folder, or on PostgreSQL the named database plus the worker's id
    (test_gw0, test_gw1), created when missing."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    if worker_id == "master":
        return url
    server = sa.engine.make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"{server.database}_{worker_id}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.scalar(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        )
        if not exists:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def worker_id(request):
    """pytest-xdist's worker id ("gw0", ...), or "master" in a run without workers."""
    return getattr(request.config, "workerinput", {}).get("workerid", "master")


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


class _AppCache:
    """The last app built, reused by the next test that asks for the same settings.

    Building an app (its URL map) and compiling its templates cost more than most tests, and
    the app is the same for every test without a `config` marker. What a test may change is
    put back before the next one: the settings, the extensions' state (a test may re-run
    `mail.init_app`), the rate limiter's configuration and counters (Flask-Limiter keeps both
    on the one `limiter` object, configured by the last app built), the session cookie cache
    and the page cache. A test that changes the app itself (adds a route: Flask allows that
    only before the first request) asks for a fresh app with `@pytest.mark.fresh_app`.
    """

    def __init__(self):
        self.key = None
        self.app = None

    def get(self, database_url, settings, *, fresh):
        key = (database_url, repr(sorted(settings.items())))
        if fresh or key != self.key:
            app = build_app(database_url, **settings)
            app.crm_saved_state = (
                copy.deepcopy(dict(app.config)),
                dict(app.extensions),
                dict(vars(limiter)),
                len(app.url_map._rules),
            )
            self.key, self.app = (None, None) if fresh else (key, app)
        else:
            app = self.app
        config, extensions, limiter_state, _rules = app.crm_saved_state
        app.config.clear()
        app.config.update(copy.deepcopy(config))
        app.extensions.clear()
        app.extensions.update(extensions)
        vars(limiter).update(limiter_state)
        if limiter.enabled:
            limiter.reset()  # the counters (its storage exists only when enabled)
        app.session_interface = VerifiedCookieSessionInterface()
        page_cache.clear()
        return app

    def done(self, app):
        if len(app.url_map._rules) != app.crm_saved_state[3]:
            self.key, self.app = None, None  # a route was added: never hand this app on


_apps = _AppCache()


@pytest.fixture
def app(request, _schema, tmp_path):
    """The test's app. `@pytest.mark.config(KEY=value)` overrides settings for one test."""
    marker = request.node.get_closest_marker("config")
    settings = marker.kwargs if marker else {}
    app = _apps.get(
        _schema, settings, fresh=request.node.get_closest_marker("fresh_app") is not None
    )
    if "UPLOAD_FOLDER" not in settings:
        # Uploaded files (demo documents too) go to the test's own folder, never instance/.
        app.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")
    with app.app_context():
        yield app
        _db.session.remove()
        _empty_tables()
        _db.engine.dispose()
    _apps.done(app)


# Every sequence of the schema back to 1, so ids (and the enquiry references made from them)
# start afresh in each test, as on SQLite.
_RESTART_SEQUENCES = sa.text(
    "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, 1, false) "
    "FROM pg_sequences WHERE schemaname = current_schema()"
)


def _empty_tables():
    # DELETE rather than PostgreSQL's TRUNCATE: a test leaves a handful of rows, and TRUNCATE
    # makes new files for every table (~0.3 s a test, more on a busy disk).
    with _db.engine.begin() as connection:
        for table in reversed(_db.metadata.sorted_tables):
            connection.execute(table.delete())
        if connection.dialect.name == "postgresql":
            connection.execute(_RESTART_SEQUENCES)


@pytest.fixture
def upload_folder(app):
    """The test's own upload folder, where the app fixture points UPLOAD_FOLDER."""
    return Path(app.config["UPLOAD_FOLDER"])


@pytest.fixture(params=["folder", "database"])
def document_store(request, app):
    """Runs the test with each document store (crm/documents/storage.py): a module that
    stores files says `pytestmark = pytest.mark.usefixtures("document_store")`, and a test
    for one store only `@pytest.mark.parametrize("document_store", ["folder"], indirect=True)`.
    """
    app.config["DOCUMENT_STORE"] = request.param
    return request.param


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


@pytest.fixture
def make_organisation(db):
    """make_organisation(name, kind=..., deleted=False, actor=None, **fields); see factories."""
    return factories.make_organisation


@pytest.fixture
def make_contact(db):
    """make_contact(first_name, last_name, organisation=..., affiliations=..., legal_basis=...,
    deleted=False, **fields)."""
    return factories.make_contact


@pytest.fixture
def make_activity(db):
    """make_activity(title, kind=..., start_date=..., organisations=..., deleted=False,
    **fields)."""
    return factories.make_activity


@pytest.fixture
def make_agreement(db):
    """make_agreement(title, parties=..., kind=..., status=..., owner=..., deleted=False,
    **fields such as signed_date, start_date, end_date, covers_members); see factories."""
    return factories.make_agreement


@pytest.fixture
def make_document(db):
    """make_document(title, owner=..., is_public=False, filename=..., deleted=False): a small
    PDF stored through the documents service."""
    return factories.make_document


@pytest.fixture
def make_enquiry(db):
    """make_enquiry(name=..., email=..., topic=..., age=..., closed_ago=..., **fields): sent
    through the public form."""
    return factories.make_enquiry


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


@pytest.fixture
def signed_in(client, login):
    """signed_in(role_or_user) signs in, switches the pages to English and returns the user."""

    def sign_in(role_or_user):
        user = login(role_or_user)
        client.post("/language/en?next=/")
        return user

    return sign_in


@pytest.fixture
def api_client(app, make_user):
    """api_client(role_or_user, scope="write") → an ApiClient (tests/api_client.py) whose
    requests carry a new personal token of that user; no session cookie is ever sent."""
    from crm.auth.models import ApiScope, User
    from tests.api_client import ApiClient, token_for

    def make(role_or_user=Role.MEMBER, scope=ApiScope.WRITE):
        user = role_or_user if isinstance(role_or_user, User) else make_user(role_or_user)
        token, raw = token_for(user, scope)
        return ApiClient(app.test_client(use_cookies=False), user, raw, token)

    return make
