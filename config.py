"""Configuration classes, read from the environment (SPEC §5)."""

import os
import secrets
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


def _bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _list(value):
    return [part.strip().lower() for part in (value or "").split(",") if part.strip()]


def oidc_providers(environ=os.environ):
    """The OpenID Connect providers staff may sign in with, from the environment.

    OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET and OIDC_LABEL configure one; each further
    provider uses the same four names with a suffix of its own, e.g. OIDC_ISSUER_KI,
    OIDC_CLIENT_ID_KI, OIDC_CLIENT_SECRET_KI and OIDC_LABEL_KI. The key ("default", or the
    suffix in lower case) names the provider in the sign-in URL and on linked accounts.
    """
    providers = []
    suffixes = [""] + sorted(
        name.removeprefix("OIDC_ISSUER_") for name in environ if name.startswith("OIDC_ISSUER_")
    )
    for suffix in suffixes:
        tail = f"_{suffix}" if suffix else ""
        issuer = (environ.get(f"OIDC_ISSUER{tail}") or "").strip()
        if not issuer:
            continue
        key = suffix.lower() or "default"
        providers.append(
            {
                "key": key,
                "issuer": issuer.rstrip("/"),
                "client_id": environ.get(f"OIDC_CLIENT_ID{tail}", ""),
                "client_secret": environ.get(f"OIDC_CLIENT_SECRET{tail}", ""),
                "label": environ.get(f"OIDC_LABEL{tail}") or None,
            }
        )
    return providers


def default_sqlite_url():
    return f"sqlite:///{INSTANCE_DIR / 'crm.sqlite3'}"


def development_secret_key(key_file):
    """A random key kept in instance/, so sessions survive a restart of `make run`."""
    key_file = Path(key_file)
    key_file.parent.mkdir(parents=True, exist_ok=True)
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


class Config:
    CRM_ENV = "base"
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or default_sqlite_url()
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # The address people reach the app at, such as https://crm.example.org (a path is allowed
    # when the app is served under one). Every link in e-mails and feeds is built from it,
    # never from a request's Host header; in production it is required, and the app answers
    # only for its host (other Host headers get 400).
    PUBLIC_URL = os.environ.get("PUBLIC_URL")

    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USE_TLS = _bool("MAIL_USE_TLS")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "crm@localhost")
    # Seconds the outbox worker waits for the mail server before counting a failed try.
    MAIL_TIMEOUT = int(os.environ.get("MAIL_TIMEOUT", "30"))
    # The address companies reply to (Reply-To of every reply sent from an enquiry): a mailbox
    # that really receives mail, usually the office mailbox below. Unset: the sender address.
    MAIL_REPLY_ADDRESS = os.environ.get("MAIL_REPLY_ADDRESS")

    # The office mailbox the CRM reads (`flask crm fetch-mail`). Without IMAP_HOST incoming
    # mail is off and the pages say so; everything else works.
    IMAP_HOST = os.environ.get("IMAP_HOST")
    IMAP_PORT = int(os.environ.get("IMAP_PORT", "0")) or None  # None: 993 with SSL, else 143
    IMAP_USER = os.environ.get("IMAP_USER")
    IMAP_PASSWORD = os.environ.get("IMAP_PASSWORD")
    IMAP_SSL = _bool("IMAP_SSL", default=True)
    IMAP_FOLDER = os.environ.get("IMAP_FOLDER", "INBOX")
    # Seconds to wait for the IMAP server; `fetch-mail --loop` looks for new mail this often.
    IMAP_TIMEOUT = int(os.environ.get("IMAP_TIMEOUT", "30"))
    MAIL_FETCH_INTERVAL = int(os.environ.get("MAIL_FETCH_INTERVAL", "60"))
    # Incoming messages larger than this are quarantined unread (bytes).
    MAIL_MAX_MESSAGE_BYTES = int(os.environ.get("MAIL_MAX_MESSAGE_BYTES", str(25 * 1024 * 1024)))

    BABEL_DEFAULT_LOCALE = "sv"
    BABEL_DEFAULT_TIMEZONE = "Europe/Stockholm"
    LANGUAGES = ("sv", "en")

    # Uploads and forms: anything larger is refused with 413.
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    MAX_FORM_MEMORY_SIZE = 1024 * 1024
    # Uploaded documents: kept under random names, served only through a view. DOCUMENT_STORE
    # says where (crm/documents/storage.py): "folder", UPLOAD_FOLDER on this server's disk,
    # outside static/; or "database", in the database, which every app server on it shares.
    # Unset: "database" on PostgreSQL, "folder" on SQLite.
    DOCUMENT_STORE = (os.environ.get("DOCUMENT_STORE") or "").strip().lower() or None
    UPLOAD_FOLDER = os.environ.get("UPLOAD_FOLDER") or str(INSTANCE_DIR / "uploads")
    MAX_UPLOAD_BYTES = int(os.environ.get("MAX_UPLOAD_BYTES", str(10 * 1024 * 1024)))

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = 8 * 60 * 60
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session

    # How many reverse proxies stand in front of the app (0, the default: none). With 1 or
    # more, the client address, scheme and host are taken from the X-Forwarded-For, -Proto and
    # -Host headers those proxies set, so rate limits count visitors rather than the proxy and
    # links in e-mails carry the public address. Never more than there really are: a visitor
    # could then write their own X-Forwarded-For and dodge the limits.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))

    # Where the rate limits count: "memory://" counts in each process, so with several
    # processes or app servers use one Redis for all, e.g. redis://127.0.0.1:6379/0 (the
    # prefix keeps apart several CRMs, or test runs, on one Redis).
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "crm")
    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = False
    LOGIN_RATE_LIMIT = "10 per minute"
    # How passwords are hashed (werkzeug's method string). scrypt's cost is the point: a
    # stolen table of hashes takes that long per guess. Only the tests use a cheap one.
    PASSWORD_HASH_METHOD = "scrypt"  # noqa: S105  (a method, not a password)
    # Wrong passwords in a row an account may have before checks on it pause: for
    # LOGIN_THROTTLE_MINUTES after the next one, twice that after the one after, and so on, at
    # most LOGIN_THROTTLE_MAX_MINUTES (crm/auth/services.py says why not a hard lock).
    LOGIN_MAX_FAILURES = 5
    LOGIN_THROTTLE_MINUTES = 1
    LOGIN_THROTTLE_MAX_MINUTES = 15
    # "Keep me signed in" lasts this long (Flask-Login's default is a year).
    REMEMBER_COOKIE_DURATION = timedelta(days=30)
    # Exports, erasure, legal holds and user administration ask for the password again when
    # the last one was typed longer ago than this (crm/auth/decorators.py).
    RECENT_LOGIN_SECONDS = 15 * 60

    HSTS = False

    # An API token's "last used" time is brought up to date only when it is older than this
    # (seconds): every write raises the data version and empties the page cache, so a busy
    # token must not write on each of its requests.
    API_TOKEN_USE_RESOLUTION_SECONDS = int(
        os.environ.get("API_TOKEN_USE_RESOLUTION_SECONDS", "300")
    )

    # Invitation and password-reset links: how long they work (each works once).
    INVITATION_HOURS = 72
    RESET_HOURS = 1
    # Requests for a reset link per client address (the answer never says whether the
    # address is known, so this is what stops the form being used to send mail to someone).
    PASSWORD_FORGOT_RATE_LIMIT = "5 per hour"  # noqa: S105  (a rate, not a password)
    # Roles that must use two-factor sign-in (TOTP): they are sent to enrol at their next
    # sign-in. Comma-separated role values; production requires it of admins by default.
    MFA_REQUIRED_ROLES = _list(os.environ.get("MFA_REQUIRED_ROLES", ""))
    # Single sign-on (see oidc_providers). OIDC_AUTO_CREATE_ROLE: a role given to someone the
    # provider vouches for who has no user yet (never admin); unset: such people are refused.
    OIDC_PROVIDERS = oidc_providers()
    OIDC_AUTO_CREATE_ROLE = (os.environ.get("OIDC_AUTO_CREATE_ROLE") or "").strip().lower() or None
    # "off": users who have signed in with single sign-on may no longer use a password.
    PASSWORD_LOGIN = (os.environ.get("PASSWORD_LOGIN") or "on").strip().lower()

    # Rendered staff pages are kept per user until the data changes, at most this long
    # (crm/core/page_cache.py); 0 turns the cache off.
    PAGE_CACHE_SECONDS = int(os.environ.get("PAGE_CACHE_SECONDS", "60"))
    # The overview's figures of the last four quarters are computed at most this often
    # (crm/reports/snapshots.py); the page says when they were computed.
    FIGURES_REFRESH_MINUTES = int(os.environ.get("FIGURES_REFRESH_MINUTES", "15"))
    # A list counts its rows up to this many, then says "10,000+" (crm/core/listing.py).
    LIST_COUNT_LIMIT = int(os.environ.get("LIST_COUNT_LIMIT", "10000"))
    # The most each process keeps, in bytes of HTML; the least recently used pages go first.
    PAGE_CACHE_BYTES = int(os.environ.get("PAGE_CACHE_BYTES", str(32 * 1024 * 1024)))

    # The public contact form: per-IP rate limit, and the least time a person needs to fill it
    # in (faster submissions are bots and are stored as nothing).
    CONTACT_RATE_LIMIT = "10 per hour"
    # Requests per API token (crm/api/auth.py), in RATELIMIT_STORAGE_URI like every limit.
    API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "300 per minute")
    CONTACT_MIN_FILL_SECONDS = 3
    # Receipts the form sends to one address in any 24 hours. Anyone can type someone else's
    # address into the form, so without a cap the office's mail server could be made to send
    # them receipt after receipt. Enquiries over the cap are still stored and the coordinators
    # still told; only the receipt is left out (0: no receipts at all).
    CONTACT_RECEIPTS_PER_ADDRESS_PER_DAY = 3
    # The outbox worker: tries per message before it is marked failed, and the first retry delay
    # (doubled after each failure). While the mail server cannot be reached at all, messages
    # are not tried and never fail: they wait, at most OUTBOX_MAX_RETRY_SECONDS between looks.
    OUTBOX_MAX_ATTEMPTS = 6
    OUTBOX_RETRY_SECONDS = 60
    OUTBOX_MAX_RETRY_SECONDS = 60 * 60
    # How long a worker holds a message it is sending; if the worker dies, another one sends
    # the message after this. Keep it well above MAIL_TIMEOUT.
    OUTBOX_CLAIM_SECONDS = int(os.environ.get("OUTBOX_CLAIM_SECONDS", "600"))

    # Webhooks (crm/webhooks/). Deliveries go only to https:// addresses on the internet;
    # WEBHOOKS_ALLOW_PRIVATE=on allows private, loopback and link-local addresses and http://
    # too, for an intranet whose receivers have such addresses (and for the tests).
    WEBHOOKS_ALLOW_PRIVATE = _bool("WEBHOOKS_ALLOW_PRIVATE")
    # The certificate authorities receivers' certificates are checked against: a PEM file,
    # e.g. an office's own CA for receivers on its intranet. Unset: the system's.
    WEBHOOKS_CA_FILE = os.environ.get("WEBHOOKS_CA_FILE") or None
    # Seconds to wait for a receiver to accept the connection, and then for its answer.
    WEBHOOKS_CONNECT_TIMEOUT = 5
    WEBHOOKS_READ_TIMEOUT = 10
    # Attempts per delivery before it is marked failed, and the waits after each failed one
    # (1 min, 5 min, 30 min, 2 h, 6 h, 12 h; the last repeats): the eighth and last attempt
    # comes about 33 hours after the first.
    WEBHOOKS_MAX_ATTEMPTS = 8
    WEBHOOKS_RETRY_DELAYS = (60, 300, 1800, 7200, 21600, 43200)
    # How long a worker holds a delivery it is sending (well above the two timeouts).
    WEBHOOKS_CLAIM_SECONDS = 120
    # Delivered and failed deliveries are deleted after this many days (`crm retention`).
    WEBHOOKS_KEEP_DAYS = 90


class DevelopmentConfig(Config):
    CRM_ENV = "development"
    DEBUG = True
    PUBLIC_URL = os.environ.get("PUBLIC_URL") or "http://127.0.0.1:5000"
    # Where the generated key is kept when SECRET_KEY is not set.
    SECRET_KEY_FILE = INSTANCE_DIR / "secret_key"
    # Development mail goes nowhere unless a server is configured.
    MAIL_SUPPRESS_SEND = not os.environ.get("MAIL_SERVER")


class TestingConfig(Config):
    CRM_ENV = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key-not-for-production"  # noqa: S105
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL") or "sqlite://"
    PUBLIC_URL = "http://localhost"
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    CONTACT_MIN_FILL_SECONDS = 0
    # One round instead of scrypt: most of the suite's sign-ins and new users would otherwise
    # spend ~140 ms each hashing. tests/test_core_config.py checks no other config does this.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1"  # noqa: S105  (a method, not a password)
    # Tests see every page rendered afresh; tests/test_core_page_cache.py turns it on.
    PAGE_CACHE_SECONDS = 0
    # Figures as of the moment of each view, unless a test asks for the kept snapshot.
    FIGURES_REFRESH_MINUTES = 0
    MAIL_SUPPRESS_SEND = True
    MAIL_DEFAULT_SENDER = "crm@example.org"
    MAIL_REPLY_ADDRESS = "office@example.org"
    # The tests that read a mailbox start their own IMAP server and set these themselves.
    IMAP_HOST = None
    IMAP_USER = None
    IMAP_PASSWORD = None


class ProductionConfig(Config):
    CRM_ENV = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-session"
    HSTS = True
    MFA_REQUIRED_ROLES = _list(os.environ.get("MFA_REQUIRED_ROLES", "admin"))


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env():
    name = os.environ.get("CRM_ENV", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"CRM_ENV must be one of {', '.join(CONFIGS)}, not {name!r}") from None
