"""A real OpenID Connect provider for the tests: the `oidc-provider-mock` process on 127.0.0.1.

`oidc_provider` (one per test run and xdist worker) starts it on a free port with the users
below and `--require-nonce true`, waits for its discovery document and stops it at the end.
Its authorisation page is a form with a `sub` field and an "Authorize" button; posting it
sends the browser back to the app's callback with a code, and the ID token then carries the
user's claims. Any client id and secret are accepted; an unknown `sub` signs in a user whose
only claim is `email` (= the sub, not verified).

`relay` puts a small HTTP server in front of that provider that passes everything through,
as the provider at its own address (the provider names itself after the Host header), and
can spoil one thing on the way: the ID token's signature, its issuer or its audience. That
is how the tests show the app itself refuses such tokens. `expired_oidc_provider` issues ID
tokens that expired ten minutes before they were made.

A provider for tests only: never point an app in production at it.
"""

import base64
import json
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

ASTRID = {
    "sub": "astrid-0001",
    "email": "Astrid.Lindqvist@example.org",
    "email_verified": True,
    "name": "Astrid Lindqvist",
}
BERTIL = {
    "sub": "bertil-0002",
    "email": "bertil.nyberg@example.org",
    "email_verified": True,
    "given_name": "Bertil",
    "family_name": "Nyberg",
}
UNVERIFIED = {
    "sub": "cecilia-0003",
    "email": "cecilia.holm@example.org",
    "email_verified": False,
    "name": "Cecilia Holm",
}
USERS = (ASTRID, BERTIL, UNVERIFIED)

CLIENT_ID = "crm-tests"
CLIENT_SECRET = "crm-tests-secret"  # noqa: S105  (the test provider accepts any)
STARTUP_SECONDS = 30


class Provider:
    """A running provider: its address, and what a person does on its pages."""

    def __init__(self, url):
        self.url = url

    @property
    def issuer(self):
        return self.url

    def settings(self, key="default", *, label=None, client_id=CLIENT_ID):
        """One entry of OIDC_PROVIDERS (as config.oidc_providers makes them) for this
        provider."""
        return {
            "key": key,
            "issuer": self.url,
            "client_id": client_id,
            "client_secret": CLIENT_SECRET,
            "label": label,
        }

    def put_user(self, sub, **claims):
        """Add or change a user the provider signs in, with these claims."""
        response = requests.put(f"{self.url}/users/{sub}", json=claims, timeout=10)
        assert response.status_code == 204, response.text

    def authorize(self, authorization_url, sub):
        """Open the authorisation page the app sent the person to, type `sub` and press
        "Authorize": the address the provider sends them back to (the app's callback)."""
        page = requests.get(authorization_url, timeout=10)
        assert page.status_code == 200, page.text
        assert 'name="sub"' in page.text and "Authorize" in page.text
        answer = requests.post(
            authorization_url, data={"sub": sub}, allow_redirects=False, timeout=10
        )
        assert answer.status_code == 302, answer.text
        return answer.headers["Location"]


@contextmanager
def running_provider(tmp_path, *options, users=USERS):
    """The provider process on a free port of 127.0.0.1, until the block ends."""
    log_path = tmp_path / "oidc-provider.log"
    for _attempt in range(3):
        port = _free_port()
        command = [
            sys.executable,
            "-m",
            "oidc_provider_mock",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--require-nonce",
            "true",
            *options,
        ]
        for user in users:
            command += ["--user-claims", json.dumps(user)]
        with log_path.open("ab") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        url = f"http://127.0.0.1:{port}"
        try:
            if _wait_for_discovery(url, process):
                yield Provider(url)
                return
        finally:
            _stop(process)
    pytest.fail(f"the OpenID Connect provider did not start; its log:\n{log_path.read_text()}")


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_discovery(url, process):
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False  # it exited: most likely the port was taken meanwhile
        try:
            response = requests.get(f"{url}/.well-known/openid-configuration", timeout=2)
            if response.ok and response.json().get("issuer") == url:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.1)
    return False


def _stop(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    with running_provider(tmp_path_factory.mktemp("oidc")) as provider:
        yield provider


@pytest.fixture(scope="session")
def expired_oidc_provider(tmp_path_factory):
    """A provider whose ID tokens expired ten minutes before they were issued (beyond the
    two minutes' leeway a client allows for clocks that differ)."""
    with running_provider(tmp_path_factory.mktemp("oidc"), "--token-max-age=-600") as provider:
        yield provider


def closed_port_url():
    """The address of a provider that is down: nothing listens there."""
    return f"http://127.0.0.1:{_free_port()}"


class Relay(Provider):
    """The provider, reached through a server of our own that can spoil its answers.

    `spoil` is None (pass everything through), "signature" (the ID token's claims changed
    after it was signed), "issuer" (the token endpoint asked as the provider's own address,
    so the ID token names another issuer than the discovery document) or "audience" (the
    code swapped for tokens as the client OTHER_CLIENT_ID, so the ID token is for that
    client).
    """

    OTHER_CLIENT_ID = "another-application"

    def __init__(self, upstream):
        self.upstream = upstream
        self.spoil = None
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        super().__init__(f"http://127.0.0.1:{self._server.server_port}")
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        is_token = request.path == "/oauth2/token"
        host = urlsplit(self.url).netloc
        if is_token and self.spoil == "issuer":
            host = urlsplit(self.upstream).netloc
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() not in {"host", "content-length", "connection"}
        }
        headers["Host"] = host
        if is_token and self.spoil == "audience":
            credentials = f"{self.OTHER_CLIENT_ID}:{CLIENT_SECRET}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(credentials).decode()
        answer = requests.request(
            request.method,
            self.upstream + request.full_path.rstrip("?"),
            headers=headers,
            data=request.get_data(),
            allow_redirects=False,
            timeout=10,
        )
        body = answer.content
        if is_token and self.spoil == "signature" and answer.ok:
            body = _with_changed_claims(body, email="mallory@example.org")
        response = Response(body, status=answer.status_code)
        for name, value in answer.headers.items():
            if name.lower() not in {"content-length", "content-encoding", "transfer-encoding"}:
                response.headers[name] = value
        return response(environ, start_response)


def _with_changed_claims(token_response, **claims):
    """The token endpoint's answer with claims of its ID token changed, its signature kept."""
    tokens = json.loads(token_response)
    header, payload, signature = tokens["id_token"].split(".")
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    decoded.update(claims)
    payload = base64.urlsafe_b64encode(json.dumps(decoded).encode()).rstrip(b"=").decode()
    tokens["id_token"] = f"{header}.{payload}.{signature}"
    return json.dumps(tokens).encode()


@pytest.fixture
def relay(oidc_provider):
    relay = Relay(oidc_provider.url)
    yield relay
    relay.close()


def with_client_id(authorization_url, client_id):
    """The authorisation URL the app made, asking for a code for another client instead."""
    parts = urlsplit(authorization_url)
    query = parse_qs(parts.query)
    query["client_id"] = [client_id]
    return urlunsplit(parts._replace(query=urlencode(query, doseq=True)))
