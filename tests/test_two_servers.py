"""Two app servers on one PostgreSQL, as an office that outgrows one machine runs them.

Two real gunicorn processes, each on a port of its own and each with its own empty
UPLOAD_FOLDER (so a shared disk cannot fake anything), share the test's PostgreSQL database,
one Redis for the rate limits (RATELIMIT_STORAGE_URI, under a key prefix of this run's own)
and one SECRET_KEY, with the page cache on. Over plain HTTP, as a browser behind a load
balancer would be sent to either: a document uploaded through one downloads through the
other; sign-ins refused by the rate limit on one are refused on the other; and a page cached
by one is not served once the other has changed its data.

Runs on PostgreSQL only (TEST_DATABASE_URL), with the machine's Redis at 127.0.0.1:6379; it
skips without Redis, except where CRM_REQUIRE_TWO_SERVERS or CRM_REQUIRE_BROWSER is set (CI),
where it fails.
"""

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from crm.auth.models import Role
from crm.documents.models import Document, StoredFile
from tests.conftest import TEST_PASSWORD
from tests.factories import PDF_BYTES

pytestmark = pytest.mark.slow

PROJECT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
REDIS_PORT = 6379
# Database 15, and a prefix of the run's own: parallel runs and other users of the machine's
# Redis keep apart.
REDIS_DB = 15
LOGIN_LIMIT = 10  # LOGIN_RATE_LIMIT: "10 per minute" per client address


def _unavailable(reason):
    if os.environ.get("CRM_REQUIRE_TWO_SERVERS") or os.environ.get("CRM_REQUIRE_BROWSER"):
        pytest.fail(f"{reason} (CRM_REQUIRE_TWO_SERVERS or CRM_REQUIRE_BROWSER is set)")
    pytest.skip(reason)


def _redis():
    import redis

    client = redis.Redis(host=HOST, port=REDIS_PORT, db=REDIS_DB, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        _unavailable(f"no Redis at {HOST}:{REDIS_PORT} ({error})")
    return client


def _free_port():
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Server:
    """One gunicorn process serving wsgi:app."""

    def __init__(self, name, environment, folder):
        self.name = name
        self.port = _free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.upload_folder = folder / "uploads"
        self.log = folder / "server.log"
        env = {
            **environment,
            "UPLOAD_FOLDER": str(self.upload_folder),
            "PUBLIC_URL": self.url,
        }
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603  (our own command line)
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--bind",
                    f"{HOST}:{self.port}",
                    "--workers",
                    "1",
                    "--threads",
                    "2",
                    "wsgi:app",
                ],
                cwd=PROJECT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_until_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                # gunicorn listens before its worker has loaded the app: the first answer
                # may take a while.
                if requests.get(f"{self.url}/healthz", timeout=10).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):
                pass
            time.sleep(0.2)
        self.stop()
        pytest.fail(f"server {self.name} did not start:\n{self.log.read_text()[-3000:]}")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="module")
def rate_limits(_schema):
    """(Redis client, key prefix) of this run's rate limits; its keys go at the end."""
    if not _schema.startswith("postgresql"):
        pytest.skip("two app servers share a PostgreSQL database (set TEST_DATABASE_URL)")
    client = _redis()
    prefix = f"crm-test-{uuid.uuid4().hex[:12]}"
    yield client, prefix
    _forget_counts(client, prefix)
    client.close()


def _forget_counts(client, prefix):
    for key in client.scan_iter(match=f"*{prefix}*"):
        client.delete(key)


@pytest.fixture(autouse=True)
def fresh_counts(rate_limits):
    """Each test starts with no sign-ins counted (each signs in, one uses up the limit)."""
    _forget_counts(*rate_limits)


@pytest.fixture(scope="module")
def servers(_schema, rate_limits, tmp_path_factory):
    """Servers A and B, started together and always stopped."""
    _client, prefix = rate_limits
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TEST_", "DOCUMENT_STORE", "RATELIMIT_", "PAGE_CACHE"))
    }
    environment.update(
        {
            "CRM_ENV": "development",
            "SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
            "DATABASE_URL": _schema,
            "RATELIMIT_STORAGE_URI": f"redis://{HOST}:{REDIS_PORT}/{REDIS_DB}",
            "RATELIMIT_KEY_PREFIX": prefix,
            "PAGE_CACHE_SECONDS": "60",
        }
    )
    started = []
    try:
        for name in ("A", "B"):
            started.append(Server(name, environment, tmp_path_factory.mktemp(f"server_{name}")))
        for server in started:
            server.wait_until_ready()
        yield started
    finally:
        for server in started:
            server.stop()


class _Forms(HTMLParser):
    """The fields a browser would send with each form of a page."""

    def __init__(self):
        super().__init__()
        self.forms = []
        self._fields = None
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._fields = {}
            self.forms.append(self._fields)
        if self._fields is None:
            return
        fields = self._fields
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button", "file"):
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            fields.setdefault(name, []).append(attrs.get("value") or "")
        elif tag == "select" and name:
            self._select = name
            fields.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in attrs:
            fields[self._select].append(attrs.get("value") or "")
        elif tag == "textarea" and name:
            self._textarea = name
            fields[name] = [""]

    def handle_data(self, data):
        if self._fields is not None and self._textarea:
            self._fields[self._textarea][0] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._fields = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def form_fields(html, field):
    """The fields of the page's form that has a field named `field`."""
    parser = _Forms()
    parser.feed(html)
    [fields] = [fields for fields in parser.forms if field in fields]
    return fields


def csrf_token(html):
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def sign_in(browser, server, user):
    page = browser.get(f"{server.url}/login")
    response = browser.post(
        f"{server.url}/login",
        data={"csrf_token": csrf_token(page.text), "email": user.email, "password": TEST_PASSWORD},
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text[:500]
    # As a browser does: the page it is sent to shows (and so clears) any message.
    assert browser.get(server.url + response.headers["Location"]).status_code == 200


def english_browser():
    browser = requests.Session()
    browser.headers["Accept-Language"] = "en"
    return browser


def test_a_document_uploaded_through_one_server_downloads_through_the_other(
    db, servers, make_user, make_organisation
):
    a, b = servers
    organisation = make_organisation("Kvarnbo Medtech AB")
    member = make_user(Role.MEMBER)
    content = PDF_BYTES + os.urandom(1_500_000)  # more than one slice of the database store
    # One browser, its cookies sent to either server, as behind a load balancer.
    browser = english_browser()
    sign_in(browser, a, member)

    form = browser.get(f"{a.url}/documents/new?organisation_id={organisation.id}")
    uploaded = browser.post(
        f"{a.url}/documents/new?organisation_id={organisation.id}",
        data={"csrf_token": csrf_token(form.text), "title": "Signed offer", "description": ""},
        files={"file": ("offer.pdf", content, "application/pdf")},
        allow_redirects=False,
    )

    assert uploaded.status_code == 302, uploaded.text[:500]
    document = db.session.scalars(sa.select(Document)).one()
    assert document.title == "Signed offer"
    download = browser.get(f"{b.url}/documents/{document.id}/download")
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["Content-Disposition"] == "attachment; filename=offer.pdf"
    # Neither server has it on its own disk: it is in the database both read.
    assert db.session.get(StoredFile, document.stored_name).size_bytes == len(content)
    for server in servers:
        assert not server.upload_folder.exists() or not any(server.upload_folder.iterdir())


def test_sign_ins_refused_on_one_server_are_refused_on_the_other(servers):
    a, b = servers
    browser = english_browser()

    answers = []
    for number in range(LOGIN_LIMIT):
        page = browser.get(f"{a.url}/login")
        response = browser.post(
            f"{a.url}/login",
            data={
                "csrf_token": csrf_token(page.text),
                "email": f"nobody{number}@example.org",
                "password": "wrong password",
            },
        )
        answers.append(response.status_code)
    assert answers == [200] * LOGIN_LIMIT
    assert "Wrong e-mail or password" in response.text

    page = browser.get(f"{b.url}/login")
    refused = browser.post(
        f"{b.url}/login",
        data={
            "csrf_token": csrf_token(page.text),
            "email": "nobody@example.org",
            "password": "wrong password",
        },
    )

    assert refused.status_code == 429
    assert "Too many requests" in refused.text


def test_a_page_cached_by_one_server_is_not_served_once_the_other_changed_it(
    servers, make_user, make_organisation
):
    a, b = servers
    organisation = make_organisation("Lund Lab AB")
    coordinator = make_user(Role.COORDINATOR)
    browser = english_browser()
    sign_in(browser, a, coordinator)
    page_url = f"/organisations/{organisation.id}"

    first = browser.get(a.url + page_url)
    cached = browser.get(a.url + page_url)
    assert first.status_code == cached.status_code == 200
    assert "X-Page-Cache" not in first.headers
    assert cached.headers.get("X-Page-Cache") == "hit"
    assert "Lund Lab AB" in cached.text

    edit_url = f"{page_url}/edit"
    fields = form_fields(browser.get(b.url + edit_url).text, "name")
    assert fields["name"] == ["Lund Lab AB"]
    fields["name"] = ["Lund Photonics AB"]
    saved = browser.post(b.url + edit_url, data=fields, allow_redirects=False)
    assert saved.status_code == 302, saved.text[:1000]

    after = browser.get(a.url + page_url)
    assert after.status_code == 200
    assert after.headers.get("X-Page-Cache") != "hit"
    assert "<h1>Lund Photonics AB</h1>" in after.text
    assert "<h1>Lund Lab AB</h1>" not in after.text
