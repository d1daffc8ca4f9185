"""A cache of rendered pages, per user, that any change to the data clears.

Staff pages are read far more often than the data changes. Each app process keeps the HTML
of the pages it rendered, keyed by the signed-in user (and their session), the language and
the URL. A cached page is served only while

- the database's data version is the one it was rendered at: every transaction that writes
  anything raises that version (one row, `data_version`, updated just before the commit, so
  every process sees a change the moment it is committed); and
- it is younger than PAGE_CACHE_SECONDS, for what changes with the clock alone ("3 days
  ago", what is due today).

Signing in, the role checks and object-level checks are not bypassed, although the cache is
consulted before the login check (so a hit costs one query): a page is only ever served back
to the login it was rendered for (the session's user id carries the user's session version),
and every change to a user (signing out, a new password, a new role, deactivation) is a
change to the data, which retires every page kept. Writes must therefore go through a
SQLAlchemy session (as every write in this app does), whose commit raises the version.
Pages that show a flashed message, and anything but a 200 HTML answer to a GET, are never
cached. PAGE_CACHE_SECONDS = 0 turns the cache off.
"""

import hashlib
import threading
import time
from collections import OrderedDict

import sqlalchemy as sa
from flask import current_app, g, message_flashed, request, session
from flask_login import current_user
from sqlalchemy.orm import Session

from crm.extensions import db

# The pages worth keeping: read often, the same for a user until the data changes. Forms,
# downloads, exports and anything with a one-time token (the public form) are left out.
CACHEABLE_ENDPOINTS = frozenset(
    {
        "public.index",
        "privacy.notice",
        "dashboard.index",
        "organisations.index",
        "organisations.detail",
        "contacts.index",
        "contacts.detail",
        "activities.index",
        "activities.detail",
        "agreements.index",
        "agreements.detail",
        "enquiries.index",
        "enquiries.detail",
        "tasks.index",
        "search.index",
        "reports.index",
        "reports.organisation",
    }
)
MAX_PAGE_BYTES = 512 * 1024

data_version_table = sa.Table(
    "data_version",
    db.metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("version", sa.BigInteger, nullable=False),
)


class _Pages:
    """A small thread-safe LRU of (data version, stored at, body) by key, bounded in bytes.

    Bounded by the bytes of the bodies it holds, not by a count of pages: every distinct
    query string is a page of its own, so a visitor (or a crawler) asking for endless
    variants must not be able to fill the process's memory.
    """

    def __init__(self):
        self._entries = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key, entry, max_bytes):
        size = len(entry[2])
        if size > max_bytes:
            return
        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._bytes -= len(previous[2])
            self._entries[key] = entry
            self._bytes += size
            while self._bytes > max_bytes:
                _key, (_version, _at, body) = self._entries.popitem(last=False)
                self._bytes -= len(body)

    @property
    def size_bytes(self):
        return self._bytes

    def clear(self):
        with self._lock:
            self._entries.clear()
            self._bytes = 0


_pages = _Pages()


def clear():
    _pages.clear()


def size_bytes():
    """The bytes of the pages this process keeps now."""
    return _pages.size_bytes


_VERSION_SQL = "SELECT version FROM data_version WHERE id = 1"


class _VersionReader:
    """Reads the data version on a DB-API connection of its own, one per thread.

    This runs for every cached page, so it skips everything a query through SQLAlchemy
    costs (pool checkout and pre-ping, events, result objects): one plain statement on a
    connection in autocommit, so that each read sees the latest commit. A failed read closes
    the connection and counts as a cache miss; the next read opens a new one, and the page
    is rendered as usual meanwhile (where the app's engine deals with the database).
    """

    def __init__(self):
        self._local = threading.local()

    def read(self, engine):
        url = engine.url
        if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
            # A private in-memory database (the tests): only the engine's own connection
            # reaches it.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                return conn.exec_driver_sql(_VERSION_SQL).scalar() or 0
        connections = getattr(self._local, "connections", None)
        if connections is None:
            connections = self._local.connections = {}
        key = url.render_as_string(hide_password=False)
        connection = connections.get(key)
        try:
            if connection is None:
                connection = connections[key] = _autocommit_connection(engine)
            cursor = connection.cursor()
            try:
                cursor.execute(_VERSION_SQL)
                # fetchall, not fetchone: SQLite ends the statement (and its read snapshot)
                # only when the rows are exhausted.
                rows = cursor.fetchall()
            finally:
                cursor.close()
        except Exception:  # noqa: BLE001  (any driver's error: the read is only an optimisation)
            connections.pop(key, None)
            _close_quietly(connection)
            return None
        return rows[0][0] if rows else 0


def _autocommit_connection(engine):
    dialect = engine.dialect
    args, kwargs = dialect.create_connect_args(engine.url)
    connection = dialect.loaded_dbapi.connect(*args, **kwargs)
    if dialect.name == "sqlite":
        connection.isolation_level = None  # autocommit
        connection.execute("PRAGMA busy_timeout=5000")
    else:
        connection.autocommit = True
    return connection


def _close_quietly(connection):
    if connection is None:
        return
    try:
        connection.close()
    except Exception:  # noqa: BLE001, S110  (closing a broken connection)
        pass


_version_reader = _VersionReader()


def current_data_version():
    """The data version now; None when it cannot be read (then nothing is served or kept)."""
    return _version_reader.read(db.engine)


_BUMP = (
    data_version_table.update()
    .where(data_version_table.c.id == 1)
    .values(version=data_version_table.c.version + 1)
)


def bump_data_version(session):
    """Raise the data version inside the session's transaction (called just before commit)."""
    result = session.execute(_BUMP)
    if result.rowcount == 0:
        # A fresh database (or tests that emptied every table): start the count.
        try:
            with session.begin_nested():
                session.execute(data_version_table.insert().values(id=1, version=1))
        except sa.exc.IntegrityError:
            session.execute(_BUMP)


def _mark_written(session):
    session.info["crm_wrote"] = True


def _on_flush(session, _flush_context):
    _mark_written(session)


def _on_execute(state):
    if state.is_insert or state.is_update or state.is_delete:
        _mark_written(state.session)


def _before_commit(session):
    # Flush first: commit flushes what is pending only after this hook has run.
    session.flush()
    if session.info.pop("crm_wrote", False):
        bump_data_version(session)
        session.info.pop("crm_wrote", None)


def _after_rollback(session):
    session.info.pop("crm_wrote", None)


def _on_soft_rollback(session, _previous_transaction):
    _after_rollback(session)


# Every session, the app's and the jobs' alike, raises the version when it writes.
sa.event.listen(Session, "after_flush", _on_flush)
sa.event.listen(Session, "do_orm_execute", _on_execute)
sa.event.listen(Session, "before_commit", _before_commit)
sa.event.listen(Session, "after_soft_rollback", _on_soft_rollback)


def _key():
    """Who is asking, in which language, for what: only the inputs, read from the request.

    The user is the session's login id, which carries the user's session version (so a
    signed-out or changed session never matches), and every input the language is chosen
    from is part of the key, so neither the user nor the language has to be loaded to find
    a page.
    """
    parts = (
        session.get("_user_id") or "anonymous",
        session.get("csrf_token", ""),
        session.get("lang") or "",
        request.headers.get("Accept-Language", ""),
        request.full_path,
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _enabled():
    return (
        current_app.config.get("PAGE_CACHE_SECONDS", 0) > 0
        and request.method == "GET"
        and request.endpoint in CACHEABLE_ENDPOINTS
        # ?lang= changes the session's language; let the page be rendered to do that.
        and "lang" not in request.args
        and not session.get("_flashes")
        # A "keep me signed in" cookie without a session signs the user in on this request.
        and (
            "_user_id" in session
            or current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
            not in request.cookies
        )
    )


def serve_cached_page():
    """before_request, ahead of the login check: the cached page, if it is still current.

    A page is only kept for the login it was rendered for, and every change to a user (a
    sign-out, a new password, a new role, deactivation) raises the data version; so an
    unchanged version proves the login is still as valid as when the page was rendered.
    """
    if not _enabled():
        return None
    version = current_data_version()
    if version is None:
        return None
    g.page_cache_version = version
    entry = _pages.get(_key())
    if entry is None:
        return None
    version, stored_at, body = entry
    if version != g.page_cache_version:
        return None
    if time.monotonic() - stored_at > current_app.config["PAGE_CACHE_SECONDS"]:
        return None
    response = current_app.response_class(body, mimetype="text/html")
    response.headers["X-Page-Cache"] = "hit"
    if "_user_id" in session:
        # As crm.core.security sets for every signed-in page, without loading the user.
        response.headers["Cache-Control"] = "no-store"
    return response


def keep_page(response):
    """after_request: keep a freshly rendered page for the next request like this one."""
    version = g.pop("page_cache_version", None)
    if (
        version is None
        or response.headers.get("X-Page-Cache") == "hit"
        or response.status_code != 200
        or response.mimetype != "text/html"
        or response.direct_passthrough
        or session.get("_flashes")
        or g.get("page_cache_skip")
        # Kept only for the login that saw it (or for anonymous visitors of public pages).
        or (current_user.get_id() if current_user.is_authenticated else None)
        != session.get("_user_id")
    ):
        return response
    body = response.get_data()
    if len(body) <= MAX_PAGE_BYTES:
        _pages.put(
            _key(), (version, time.monotonic(), body), current_app.config["PAGE_CACHE_BYTES"]
        )
    return response


def _flashed(sender, message, category, **_extra):
    # A page that flashed a message shows it once; it must not be served again.
    g.page_cache_skip = True


def register(app):
    """Serve and keep pages; call before the login check is registered (see above)."""
    app.before_request(serve_cached_page)
    app.after_request(keep_page)
    message_flashed.connect(_flashed, app, weak=False)
