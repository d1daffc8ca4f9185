"""A throw-away IMAP server for the tests: Debian's Dovecot, started on 127.0.0.1.

Each pytest process (each xdist worker) starts its own on a free port, with its config, user
and Maildir in a temporary folder of its own, and stops it at the end. Tests deliver real
RFC 5322 messages with IMAP APPEND, as a mail server would put them in the mailbox.

The tests that need it skip when Dovecot is not installed (`apt-get install dovecot-imapd`),
unless CRM_REQUIRE_IMAP is set (as in CI), where a missing server must fail the run instead.
"""

import imaplib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

DOVECOT = "/usr/sbin/dovecot"
HOST = "127.0.0.1"
USER = "office@example.org"
PASSWORD = "mailbox password"
# The account Dovecot runs its own processes as; the mail user borrows its uid (root's is
# refused).
SERVICE_ACCOUNT = "dovecot"

CONFIG = """\
protocols = imap
listen = {host}
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot-info.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {account}
default_login_user = dovenull
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {base}/users
}}
userdb {{
  driver = passwd-file
  args = {base}/users
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


def unavailable(reason):
    """Skip the test, or fail it where an IMAP server is required (CRM_REQUIRE_IMAP=1)."""
    if os.environ.get("CRM_REQUIRE_IMAP"):
        pytest.fail(f"{reason} (CRM_REQUIRE_IMAP is set)", pytrace=False)
    pytest.skip(reason)


def free_port():
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Dovecot:
    """One Dovecot process serving one user's Maildir over plain IMAP on a free port."""

    def __init__(self):
        self.port = free_port()
        self.user = USER
        self.password = PASSWORD
        self.process = None
        # Under /tmp with mode 0755: the service accounts must reach it (pytest's tmp_path
        # sits in a 0700 folder).
        self.base = Path(tempfile.mkdtemp(prefix="crm-dovecot-"))
        self.base.chmod(0o755)

    def start(self, timeout=15):
        account = pwd.getpwnam(SERVICE_ACCOUNT)
        home = self.base / "home"
        (home / "Maildir").mkdir(parents=True)
        for folder in (home, home / "Maildir"):
            os.chown(folder, account.pw_uid, account.pw_gid)
        (self.base / "users").write_text(
            f"{self.user}:{{PLAIN}}{self.password}:{account.pw_uid}:{account.pw_gid}::{home}::\n"
        )
        config = self.base / "dovecot.conf"
        config.write_text(
            CONFIG.format(host=HOST, base=self.base, port=self.port, account=SERVICE_ACCOUNT)
        )
        with open(self.base / "stderr.log", "wb") as stderr:
            self.process = subprocess.Popen(  # noqa: S603 (fixed arguments)
                [DOVECOT, "-F", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=stderr
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Dovecot exited at start: {self._errors()}")
            try:
                with self.connect():
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Dovecot did not answer within {timeout} s: {self._errors()}")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        shutil.rmtree(self.base, ignore_errors=True)

    def _errors(self):
        text = ""
        for name in ("stderr.log", "dovecot.log"):
            logged = self.base / name
            if logged.exists():
                text += logged.read_text(errors="replace")
        return text.strip()[-2000:] or "no log"

    def connect(self):
        """A signed-in imaplib client (the tests' own, separate from the CRM's)."""
        client = imaplib.IMAP4(HOST, self.port, timeout=10)
        try:
            client.login(self.user, self.password)
        except Exception:
            client.logout()
            raise
        return client

    def config(self, **overrides):
        """The app settings that point the CRM at this server."""
        return {
            "IMAP_HOST": HOST,
            "IMAP_PORT": self.port,
            "IMAP_USER": self.user,
            "IMAP_PASSWORD": self.password,
            "IMAP_SSL": False,
            "IMAP_FOLDER": "INBOX",
            "IMAP_TIMEOUT": 10,
            **overrides,
        }


class Mailbox:
    """The test's view of the office mailbox on the server: deliver, look, reset."""

    def __init__(self, server):
        self.server = server

    def deliver(self, message, folder="INBOX"):
        """APPEND a message (an EmailMessage or raw bytes) as new, unread mail; returns its
        UID."""
        raw = message if isinstance(message, bytes) else message.as_bytes()
        with self.server.connect() as client:
            status, data = client.append(folder, None, None, raw)
            assert status == "OK", data
            # Dovecot answers [APPENDUID <uidvalidity> <uid>].
            return int(data[0].split(b"]")[0].split()[-1])

    def seen(self, folder="INBOX"):
        """The UIDs marked \\Seen in the folder."""
        return self._search(folder, "SEEN")

    def uids(self, folder="INBOX"):
        return self._search(folder, "ALL")

    def _search(self, folder, criterion):
        with self.server.connect() as client:
            client.select(_quoted(folder), readonly=True)
            status, data = client.uid("SEARCH", criterion)
            assert status == "OK", data
            return [int(uid) for uid in data[0].split()]

    def create_folder(self, folder):
        with self.server.connect() as client:
            client.create(_quoted(folder))

    def delete_folder(self, folder):
        with self.server.connect() as client:
            client.delete(_quoted(folder))

    def empty(self):
        """Delete every folder but INBOX and every message in it, so each test starts clean."""
        with self.server.connect() as client:
            status, listed = client.list()
            for line in listed if status == "OK" else []:
                # (\HasNoChildren) "." Archive, or "Two words" when quoting is needed
                name = _LISTED.match(line.decode()).group("name")
                if name.startswith('"'):
                    name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
                if name.upper() != "INBOX":
                    status, data = client.delete(_quoted(name))
                    assert status == "OK", data
            _status, count = client.select("INBOX")
            if int(count[0]):
                client.store("1:*", "+FLAGS.SILENT", r"(\Deleted)")
                client.expunge()


_LISTED = re.compile(r'^\((?P<flags>[^)]*)\) (?P<delimiter>"[^"]*"|NIL) (?P<name>.+)$')


def _quoted(folder):
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture(scope="session")
def imap_server():
    """This process's Dovecot, started at first use and stopped at the end of the run."""
    if not os.access(DOVECOT, os.X_OK):
        unavailable(f"the IMAP tests need Dovecot at {DOVECOT} (apt-get install dovecot-imapd)")
    try:
        pwd.getpwnam(SERVICE_ACCOUNT)
    except KeyError:
        unavailable(f"the IMAP tests need the {SERVICE_ACCOUNT!r} account Dovecot installs")
    server = Dovecot()
    try:
        server.start()
    except Exception as error:
        server.stop()
        unavailable(f"Dovecot did not start: {error}")
    yield server
    server.stop()


@pytest.fixture
def mailbox(app, imap_server):
    """The office mailbox, emptied, with the app set to read it (IMAP_SSL off: local)."""
    box = Mailbox(imap_server)
    box.empty()
    app.config.update(imap_server.config())
    return box
