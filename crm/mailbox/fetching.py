"""Reading the office mailbox over IMAP (`flask crm fetch-mail`): each message filed once.

Like the outbox worker, the fetcher commits: one transaction per message, holding the
message's rows and the folder's new `MailboxState.last_uid` together. A crash before that
commit means the message is read again next time (and filed once: nothing of it was kept);
a crash after it means it is never read again. The message is marked \\Seen on the server
only after the commit; the CRM goes by UIDs, not by that flag, which is for people reading
the mailbox too. Messages are never deleted or moved on the server.

A message that cannot be filed never stops the queue: `file_message` quarantines bad mail
itself, and anything it still raises is rolled back and recorded here as a quarantined
e-mail with the reason (so a coordinator sees it, and it is not read again). Only trouble
with the mailbox or the database itself ends a round early; the next round goes on from the
last committed message.
"""

import hashlib
import logging
import re
import socket
import ssl
from datetime import timedelta
from email import policy
from email.parser import BytesHeaderParser
from email.utils import parseaddr

import sqlalchemy as sa
from flask import current_app
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from crm.core.types import utcnow
from crm.extensions import db
from crm.mail.models import Email, EmailDirection, EmailState, MailboxState
from crm.mailbox.routing import file_message

logger = logging.getLogger(__name__)

SEEN = rb"\Seen"
# Messages fetched in one IMAP round trip: at most this many, and at most this many bytes
# (or one message, however large) so a run of big messages is not all held in memory.
BATCH_SIZE = 50
BATCH_BYTES = 20 * 1024 * 1024
ALREADY_STORED = "already_stored"
SKIPPED = "skipped"
# How stale MailboxState.last_fetch_at may get while no new mail comes.
FETCH_STAMP_EVERY = timedelta(minutes=10)
# The database is unreachable or went away: the round stops and the message is read again
# later. Any other error while filing is the message's own and quarantines it.
DATABASE_TROUBLE = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.DisconnectionError)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BYTES_REPR = re.compile(r"^b(['\"])(.*)\1$")


class MailboxUnavailable(Exception):
    """The mailbox cannot be read now: the server is unreachable, refused the login, or the
    folder is missing. The message says which, without the password."""


def fetch_new_mail(*, stop=None):
    """File every message in IMAP_FOLDER above the last UID read, oldest first.

    Returns counts: {"read", "stored", "already_stored", "skipped", plus one per state of the
    newly stored e-mails: "filed", "unmatched", "discarded", "quarantined"}. Raises
    MailboxUnavailable when the mailbox cannot be reached or read (what was committed before
    stays). `stop()`, checked between messages, ends the round early (the worker's Ctrl-C).
    Commits, so call it with no unsaved changes in the session.
    """
    config = current_app.config
    if not config.get("IMAP_HOST"):
        raise MailboxUnavailable("Incoming mail is off: IMAP_HOST is not set.")
    folder = config.get("IMAP_FOLDER") or "INBOX"
    counts = dict.fromkeys(
        ["read", "stored", ALREADY_STORED, SKIPPED, *(state.value for state in EmailState)], 0
    )
    with _Mailbox(config) as mailbox:
        uid_validity = mailbox.open(folder)
        last_uid = _start(folder, uid_validity)
        uids = mailbox.uids_after(last_uid)
        for batch in mailbox.batches(uids, limit=config["MAIL_MAX_MESSAGE_BYTES"]):
            done = []
            try:
                for uid, raw, too_large in batch:
                    if stop is not None and stop():
                        break
                    outcome = _process(folder, uid, raw, too_large=too_large)
                    counts["read"] += 1
                    counts[outcome] += 1
                    if outcome not in (ALREADY_STORED, SKIPPED):
                        counts["stored"] += 1
                    done.append(uid)
            finally:
                mailbox.mark_seen(done)
            if stop is not None and stop():
                break
    return counts


def _start(folder, uid_validity):
    """The last UID read from the folder; 0 when it is new to the CRM or its UIDVALIDITY
    changed (the server renumbered it: read it all again; Message-IDs keep out repeats)."""
    now = utcnow()
    state = db.session.get(MailboxState, folder)
    if state is None:
        state = MailboxState(folder=folder, uid_validity=uid_validity, last_uid=0)
        db.session.add(state)
    elif state.uid_validity != uid_validity:
        logger.warning(
            "Mailbox folder %s has a new UIDVALIDITY (%s, was %s): reading it all again",
            folder,
            uid_validity,
            state.uid_validity,
        )
        state.uid_validity = uid_validity
        state.last_uid = 0
    # Every write retires the staff pages' cache (crm/core/page_cache.py), so a round that
    # finds nothing new writes nothing: last_fetch_at is moved on by the messages stored,
    # and otherwise at most every FETCH_STAMP_EVERY, to show the reader is alive.
    if state.last_fetch_at is None or now - state.last_fetch_at >= FETCH_STAMP_EVERY:
        state.last_fetch_at = now
    last_uid = state.last_uid
    db.session.commit()
    return last_uid


def _process(folder, uid, raw, *, too_large):
    """File one message and move the folder's last UID past it, in one commit.

    Returns the state of the newly stored e-mail; ALREADY_STORED when it was stored before
    (seen earlier, or read by another fetcher meanwhile); SKIPPED when not even a quarantined
    row could be stored for it.
    """
    state = db.session.get(MailboxState, folder, with_for_update=True)
    if state.last_uid >= uid:
        db.session.commit()
        return ALREADY_STORED  # another fetcher got here first (the row lock serialises)
    newest_before = db.session.scalar(sa.select(sa.func.max(Email.id))) or 0
    try:
        if too_large:
            email = _quarantine(
                raw,
                "The message is larger than the limit of "
                f"{current_app.config['MAIL_MAX_MESSAGE_BYTES']} bytes "
                "(MAIL_MAX_MESSAGE_BYTES); only its headers were read.",
                size=too_large,
            )
        else:
            email = file_message(raw)
        _advance(state, uid)
        db.session.commit()
    except DATABASE_TROUBLE:
        db.session.rollback()
        raise
    except Exception as error:
        db.session.rollback()
        logger.exception("Mailbox message UID %s in %s could not be filed", uid, folder)
        return _record_failure(folder, uid, raw, error)
    return _outcome(email, newest_before, uid, folder)


def _record_failure(folder, uid, raw, error):
    """Keep a message that could not be filed as quarantined, with the reason; if even that
    fails, move past it (logged) rather than stop the queue on it for ever."""
    state = db.session.get(MailboxState, folder, with_for_update=True)
    if state.last_uid >= uid:
        db.session.commit()
        return ALREADY_STORED
    newest_before = db.session.scalar(sa.select(sa.func.max(Email.id))) or 0
    try:
        email = _quarantine(raw, f"The message could not be filed: {type(error).__name__}: {error}")
        _advance(state, uid)
        db.session.commit()
    except DATABASE_TROUBLE:
        db.session.rollback()
        raise
    except Exception:
        db.session.rollback()
        logger.exception(
            "Mailbox message UID %s in %s skipped: not even its quarantine could be stored; "
            "it stays in the mailbox",
            uid,
            folder,
        )
        state = db.session.get(MailboxState, folder, with_for_update=True)
        _advance(state, uid)
        db.session.commit()
        return SKIPPED
    return _outcome(email, newest_before, uid, folder)


def _advance(state, uid):
    state.last_uid = max(state.last_uid, uid)
    state.last_fetch_at = utcnow()


def _outcome(email, newest_before, uid, folder):
    if email.id <= newest_before:
        return ALREADY_STORED
    if email.state == EmailState.QUARANTINED:
        logger.warning(
            "Mailbox message UID %s in %s quarantined: %s", uid, folder, email.quarantine_reason
        )
    return email.state.value


def _quarantine(raw, reason, *, size=None):
    """Store the message as quarantined with the reason, from what its headers say; returns
    the stored row (the one already there when its Message-ID was stored before)."""
    try:
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
    except Exception:  # headers we cannot read are simply not used
        headers = {}
    message_id = _header(headers, "Message-ID").strip()
    if not (message_id.startswith("<") and message_id.endswith(">")) or len(message_id) > 998:
        message_id = f"<{hashlib.sha256(raw).hexdigest()}@crm.invalid>"
    stored = db.session.scalar(sa.select(Email).where(Email.message_id == message_id))
    if stored is not None:
        return stored
    name, address = parseaddr(_header(headers, "From"))
    email = Email(
        message_id=message_id,
        direction=EmailDirection.INCOMING,
        state=EmailState.QUARANTINED,
        quarantine_reason=_one_line(reason)[:500],
        subject=_header(headers, "Subject")[:998],
        from_address=address.lower()[:254] if "@" in address else "",
        from_name=name[:200],
        size_bytes=size if size is not None else len(raw),
    )
    db.session.add(email)
    db.session.flush()
    return email


def _header(headers, name):
    try:
        value = headers.get(name)
    except Exception:  # a header that cannot be decoded counts as missing
        return ""
    return _one_line(str(value or ""))


def _one_line(text):
    # Control characters out: PostgreSQL refuses NUL in text, and none belongs on a page.
    return " ".join(_CONTROL.sub(" ", text).split())


class _Mailbox:
    """The IMAP connection: every failure of the server or the network is raised as
    MailboxUnavailable with a message an operator can act on."""

    def __init__(self, config):
        self.host = config["IMAP_HOST"]
        self.secure = bool(config.get("IMAP_SSL", True))
        self.port = config.get("IMAP_PORT") or (993 if self.secure else 143)
        self.user = config.get("IMAP_USER") or ""
        self.password = config.get("IMAP_PASSWORD") or ""
        self.timeout = config.get("IMAP_TIMEOUT") or 30
        self.client = None

    @property
    def where(self):
        return f"{self.host}:{self.port} ({'SSL' if self.secure else 'no SSL'})"

    def __enter__(self):
        try:
            self.client = IMAPClient(
                self.host,
                port=self.port,
                ssl=self.secure,
                ssl_context=ssl.create_default_context() if self.secure else None,
                timeout=self.timeout,
            )
        except (OSError, IMAPClientError) as error:
            raise MailboxUnavailable(
                f"Cannot reach the mailbox at {self.where}: {_describe(error)}"
            ) from error
        try:
            self.client.login(self.user, self.password)
        except LoginError as error:
            self._close()
            raise MailboxUnavailable(
                f"The mailbox at {self.where} refused the login of {self.user!r}: "
                f"{_describe(error)}"
            ) from error
        except (OSError, IMAPClientError) as error:
            self._close()
            raise MailboxUnavailable(
                f"Cannot sign in to the mailbox at {self.where}: {_describe(error)}"
            ) from error
        return self

    def __exit__(self, kind, error, traceback):
        if self.client is None:
            return False
        if isinstance(error, OSError | IMAPClientError):
            self._close()
            raise MailboxUnavailable(
                f"The connection to the mailbox at {self.where} failed: {_describe(error)}"
            ) from error
        try:
            self.client.logout()
        except (OSError, IMAPClientError):
            self._close()
        return False

    def _close(self):
        try:
            self.client.shutdown()
        except (OSError, IMAPClientError, AttributeError):
            pass

    def open(self, folder):
        """Select the folder for reading and flagging; returns its UIDVALIDITY."""
        try:
            selected = self.client.select_folder(folder)
        except IMAPClientError as error:
            raise MailboxUnavailable(
                f"Cannot open the folder {folder!r} of the mailbox at {self.where}: "
                f"{_describe(error)}"
            ) from error
        return int(selected[b"UIDVALIDITY"])

    def uids_after(self, last_uid):
        # "N:*" always matches the newest message, even when its UID is below N: filter.
        found = self.client.search(["UID", f"{last_uid + 1}:*"])
        return sorted(uid for uid in found if uid > last_uid)

    def batches(self, uids, *, limit):
        """Yield lists of (uid, raw bytes, size when over the limit else None), oldest first.

        The sizes are asked first, so a message over MAIL_MAX_MESSAGE_BYTES is never
        downloaded: only its headers are, to quarantine it by name.
        """
        for start in range(0, len(uids), BATCH_SIZE):
            chunk = uids[start : start + BATCH_SIZE]
            sizes = {
                uid: data.get(b"RFC822.SIZE", 0)
                for uid, data in self.client.fetch(chunk, ["RFC822.SIZE"]).items()
            }
            group, group_bytes = [], 0
            for uid in chunk:
                if uid not in sizes:
                    logger.warning("Mailbox message UID %s vanished before it was read", uid)
                    continue
                size = sizes[uid] if sizes[uid] <= limit else 0
                if group and (group_bytes + size > BATCH_BYTES):
                    yield self._download(group, sizes, limit)
                    group, group_bytes = [], 0
                group.append(uid)
                group_bytes += size
            if group:
                yield self._download(group, sizes, limit)

    def _download(self, uids, sizes, limit):
        small = [uid for uid in uids if sizes[uid] <= limit]
        large = [uid for uid in uids if sizes[uid] > limit]
        # PEEK: reading a message must not mark it \Seen before it is committed.
        fetched = self.client.fetch(small, ["BODY.PEEK[]"]) if small else {}
        headers = self.client.fetch(large, ["BODY.PEEK[HEADER]"]) if large else {}
        found = []
        for uid in uids:
            if uid in fetched and fetched[uid].get(b"BODY[]") is not None:
                found.append((uid, bytes(fetched[uid][b"BODY[]"]), None))
            elif uid in headers and headers[uid].get(b"BODY[HEADER]") is not None:
                found.append((uid, bytes(headers[uid][b"BODY[HEADER]"]), sizes[uid]))
            else:
                logger.warning("Mailbox message UID %s vanished before it was read", uid)
        return found

    def mark_seen(self, uids):
        """Flag messages already committed as read, for people using the mailbox. Failing to
        is harmless (the CRM goes by UIDs), so it is logged, not raised."""
        if not uids:
            return
        try:
            self.client.add_flags(uids, [SEEN], silent=True)
        except (OSError, IMAPClientError) as error:
            logger.warning("Could not mark mailbox messages %s as read: %s", uids, error)


def _describe(error):
    if isinstance(error, socket.timeout | TimeoutError):
        return "no answer in time (IMAP_TIMEOUT)"
    if isinstance(error, OSError):
        return str(error) or type(error).__name__
    text = error.args[0] if error.args else error
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    # imapclient words a refused login as the repr of the server's bytes: b'[...] ...'.
    text = _BYTES_REPR.sub(r"\2", str(text).strip())
    return text or type(error).__name__
