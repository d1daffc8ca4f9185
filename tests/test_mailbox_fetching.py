"""`fetch-mail` against a real IMAP server (Dovecot on 127.0.0.1, see tests/mailserver.py):
each message filed exactly once, however often the fetch runs, fails or crashes."""

import os
import signal
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
import sqlalchemy as sa
from imapclient.exceptions import IMAPClientAbortError

from crm.core.page_cache import data_version_table
from crm.core.types import utcnow
from crm.mail.models import Email, EmailDirection, EmailState, MailboxState
from crm.mailbox import fetching
from tests.mailserver import free_port


def message(number, *, size=0, message_id=True, **headers):
    """A real RFC 5322 message from a company, as a mail server would deliver it."""
    mail = EmailMessage()
    mail["From"] = "Anna Andersson <anna@company.example>"
    mail["To"] = "office@example.org"
    mail["Subject"] = f"Question {number}"
    mail["Date"] = format_datetime(utcnow())
    if message_id:
        mail["Message-ID"] = f"<question-{number}@company.example>"
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(f"Hello, this is question {number}.\n" + "x" * size)
    return mail


def stored(db):
    """The Message-IDs of the incoming e-mails stored, in the order they were stored."""
    db.session.rollback()  # see what the command committed
    return db.session.scalars(
        sa.select(Email.message_id)
        .where(Email.direction == EmailDirection.INCOMING)
        .order_by(Email.id)
    ).all()


def ids(*numbers):
    return [f"<question-{number}@company.example>" for number in numbers]


def last_uid(db, folder="INBOX"):
    db.session.rollback()
    return db.session.get(MailboxState, folder).last_uid


# ---------------------------------------------------------------- reading new mail


def test_new_messages_are_filed_once_and_marked_read(runner, db, mailbox):
    uids = [mailbox.deliver(message(number)) for number in (1, 2, 3)]

    result = runner.invoke(args=["crm", "fetch-mail"])

    assert result.exit_code == 0, result.output
    assert "Read 3 messages:" in result.output
    assert "0 quarantined, 0 already stored." in result.output
    assert stored(db) == ids(1, 2, 3)
    assert last_uid(db) == uids[-1]
    assert mailbox.seen() == uids
    email = db.session.scalars(sa.select(Email).order_by(Email.id)).first()
    assert email.subject == "Question 1"
    assert email.from_address == "anna@company.example"


def test_running_again_files_nothing_new(runner, db, mailbox):
    mailbox.deliver(message(1))
    mailbox.deliver(message(2))
    assert runner.invoke(args=["crm", "fetch-mail"]).exit_code == 0

    again = runner.invoke(args=["crm", "fetch-mail"])

    assert again.exit_code == 0, again.output
    assert "Read 0 messages:" in again.output
    assert stored(db) == ids(1, 2)

    mailbox.deliver(message(3))
    third = runner.invoke(args=["crm", "fetch-mail"])
    assert "Read 1 message: " in third.output
    assert stored(db) == ids(1, 2, 3)


def test_the_same_message_delivered_twice_is_stored_once(db, mailbox):
    # CC'd to the office and forwarded too, or delivered again by the server.
    mailbox.deliver(message(1))
    mailbox.deliver(message(1))

    counts = fetching.fetch_new_mail()

    assert counts["read"] == 2
    assert counts["stored"] == 1
    assert counts["already_stored"] == 1
    assert stored(db) == ids(1)


def test_messages_are_read_oldest_first_across_batches(db, mailbox, monkeypatch):
    monkeypatch.setattr(fetching, "BATCH_SIZE", 2)
    uids = [mailbox.deliver(message(number)) for number in range(1, 6)]

    counts = fetching.fetch_new_mail()

    assert counts["read"] == 5
    assert stored(db) == ids(1, 2, 3, 4, 5)
    assert mailbox.seen() == uids


def test_an_unread_flag_is_not_what_counts(runner, db, mailbox):
    # Someone reading the office mailbox marks mail read; the CRM still files it, by UID.
    uid = mailbox.deliver(message(1))
    with mailbox.server.connect() as client:
        client.select("INBOX")
        client.uid("STORE", str(uid), "+FLAGS", r"(\Seen)")

    runner.invoke(args=["crm", "fetch-mail"])

    assert stored(db) == ids(1)


def test_a_round_without_new_mail_writes_nothing(db, mailbox):
    # Every write retires the page cache: a reader looking every minute must not.
    mailbox.deliver(message(1))
    fetching.fetch_new_mail()
    version = db.session.scalar(sa.select(data_version_table.c.version))
    stamped = db.session.get(MailboxState, "INBOX").last_fetch_at
    db.session.rollback()

    assert fetching.fetch_new_mail()["read"] == 0

    assert db.session.scalar(sa.select(data_version_table.c.version)) == version
    assert db.session.get(MailboxState, "INBOX").last_fetch_at == stamped


# ---------------------------------------------------------------- crashes


def test_a_crash_after_reading_and_before_committing_files_the_message_once(
    db, mailbox, monkeypatch
):
    uids = [mailbox.deliver(message(number)) for number in (1, 2, 3)]
    real = fetching.file_message

    def dies_after_filing_the_second(raw):
        email = real(raw)
        if email.message_id == ids(2)[0]:
            raise KeyboardInterrupt("the process is killed before the commit")
        return email

    monkeypatch.setattr(fetching, "file_message", dies_after_filing_the_second)
    with pytest.raises(KeyboardInterrupt):
        fetching.fetch_new_mail()
    db.session.rollback()  # what a dead process leaves: nothing uncommitted

    assert stored(db) == ids(1)
    assert last_uid(db) == uids[0]
    assert mailbox.seen() == uids[:1]

    monkeypatch.setattr(fetching, "file_message", real)
    counts = fetching.fetch_new_mail()

    assert counts["read"] == 2
    assert stored(db) == ids(1, 2, 3)
    assert mailbox.seen() == uids


def test_a_failed_commit_reads_the_message_again_next_time(db, mailbox, monkeypatch):
    uids = [mailbox.deliver(message(number)) for number in (1, 2)]
    real_commit = db.session.commit
    commits = []

    def commit():
        commits.append(None)
        # The first commit records the folder's state, the second the first message.
        if len(commits) == 3:
            raise sa.exc.OperationalError("COMMIT", {}, Exception("server closed the connection"))
        real_commit()

    monkeypatch.setattr(db.session, "commit", commit)
    with pytest.raises(sa.exc.OperationalError):
        fetching.fetch_new_mail()
    monkeypatch.undo()

    assert stored(db) == ids(1)
    assert mailbox.seen() == uids[:1]

    counts = fetching.fetch_new_mail()

    assert counts["read"] == 1
    assert stored(db) == ids(1, 2)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Email)) == 2
    assert mailbox.seen() == uids


def test_a_crash_after_committing_never_reads_the_message_again(db, mailbox, monkeypatch):
    # Committed, then the process died before the \Seen flag was set: the UID counts.
    uids = [mailbox.deliver(message(number)) for number in (1, 2)]

    def dies(_mailbox, _uids):
        raise KeyboardInterrupt("killed after the commit")

    monkeypatch.setattr(fetching._Mailbox, "mark_seen", dies)
    with pytest.raises(KeyboardInterrupt):
        fetching.fetch_new_mail()
    monkeypatch.undo()
    assert mailbox.seen() == []

    counts = fetching.fetch_new_mail()

    assert counts["read"] == 0
    assert stored(db) == ids(1, 2)
    assert last_uid(db) == uids[-1]


def test_a_connection_lost_mid_round_keeps_what_was_committed(db, mailbox, monkeypatch):
    monkeypatch.setattr(fetching, "BATCH_SIZE", 1)
    uids = [mailbox.deliver(message(number)) for number in (1, 2)]
    real = fetching._Mailbox._download
    downloads = []

    def drops_on_the_second(self, *args):
        downloads.append(None)
        if len(downloads) == 2:
            raise IMAPClientAbortError("socket error: EOF")
        return real(self, *args)

    monkeypatch.setattr(fetching._Mailbox, "_download", drops_on_the_second)
    with pytest.raises(fetching.MailboxUnavailable, match="connection to the mailbox .* failed"):
        fetching.fetch_new_mail()
    monkeypatch.undo()

    assert stored(db) == ids(1)
    assert fetching.fetch_new_mail()["read"] == 1
    assert stored(db) == ids(1, 2)
    assert mailbox.seen() == uids


# ---------------------------------------------------------------- UIDVALIDITY


def test_a_changed_uidvalidity_reads_the_folder_again_without_storing_twice(app, db, mailbox):
    app.config["IMAP_FOLDER"] = "Archive"
    mailbox.create_folder("Archive")
    mailbox.deliver(message(1), folder="Archive")
    mailbox.deliver(message(2), folder="Archive")
    fetching.fetch_new_mail()
    db.session.rollback()
    before = db.session.get(MailboxState, "Archive").uid_validity
    assert last_uid(db, "Archive") == 2

    # The server renumbers the folder (here: it is deleted and made again); UIDs start at 1.
    mailbox.delete_folder("Archive")
    mailbox.create_folder("Archive")
    assert mailbox.deliver(message(3), folder="Archive") == 1
    mailbox.deliver(message(1), folder="Archive")

    counts = fetching.fetch_new_mail()

    assert counts == {**counts, "read": 2, "stored": 1, "already_stored": 1}
    assert stored(db) == ids(1, 2, 3)
    state = db.session.get(MailboxState, "Archive")
    assert state.uid_validity != before
    assert state.last_uid == 2


# ---------------------------------------------------------------- bad mail


@pytest.mark.config(MAIL_MAX_MESSAGE_BYTES=5000)
def test_a_message_over_the_size_limit_is_quarantined_unread_and_the_fetch_goes_on(
    runner, db, mailbox
):
    uids = [
        mailbox.deliver(message(1)),
        mailbox.deliver(message(2, size=20_000)),
        mailbox.deliver(message(3)),
    ]

    result = runner.invoke(args=["crm", "fetch-mail"])

    assert result.exit_code == 0, result.output
    assert "1 quarantined" in result.output
    assert stored(db) == ids(1, 2, 3)
    big = db.session.scalar(sa.select(Email).where(Email.message_id == ids(2)[0]))
    assert big.state == EmailState.QUARANTINED
    assert "larger than the limit of 5000 bytes" in big.quarantine_reason
    assert big.subject == "Question 2"
    assert big.from_address == "anna@company.example"
    assert big.size_bytes > 20_000
    assert mailbox.seen() == uids

    assert "Read 0 messages" in runner.invoke(args=["crm", "fetch-mail"]).output


def test_a_message_that_fails_to_file_is_quarantined_and_the_next_one_is_filed(
    runner, db, mailbox, monkeypatch
):
    uids = [mailbox.deliver(message(number)) for number in (1, 2, 3)]
    real = fetching.file_message

    def breaks_on_the_second(raw):
        if b"question-2@" in raw:
            real(raw)  # half-stored, then the error: the half must be rolled back
            raise ValueError("unexpected structure")
        return real(raw)

    monkeypatch.setattr(fetching, "file_message", breaks_on_the_second)

    result = runner.invoke(args=["crm", "fetch-mail"])

    assert result.exit_code == 0, result.output
    assert "1 quarantined" in result.output
    assert stored(db) == ids(1, 2, 3)
    broken = db.session.scalar(sa.select(Email).where(Email.message_id == ids(2)[0]))
    assert broken.state == EmailState.QUARANTINED
    assert broken.quarantine_reason == (
        "The message could not be filed: ValueError: unexpected structure"
    )
    assert mailbox.seen() == uids

    # Not tried again: a coordinator sees it among the quarantined mail.
    assert "Read 0 messages" in runner.invoke(args=["crm", "fetch-mail"]).output


def test_a_message_without_headers_or_message_id_is_still_stored_once(db, mailbox, monkeypatch):
    def broken(raw):
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

    monkeypatch.setattr(fetching, "file_message", broken)
    mailbox.deliver(b"\xff\xfe not a message at all\r\n")
    mailbox.deliver(message(1, message_id=False))

    counts = fetching.fetch_new_mail()

    assert counts["quarantined"] == 2
    emails = db.session.scalars(sa.select(Email).order_by(Email.id)).all()
    assert [email.message_id.endswith("@crm.invalid>") for email in emails] == [True, True]
    assert emails[1].subject == "Question 1"


def test_control_characters_in_a_quarantined_message_are_dropped(db, mailbox):
    # PostgreSQL refuses NUL in text: storing the quarantine must not fail on it.
    raw = b"Subject: bad\x00news\x07\r\nFrom: Eve\x00 <eve@example.net>\r\n\r\nbody\r\n"

    email = fetching._quarantine(raw, "The reason\x00, with a NUL")
    db.session.commit()

    assert email.subject == "bad news"
    assert email.from_address == "eve@example.net"
    assert email.quarantine_reason == "The reason , with a NUL"


def test_a_message_that_cannot_even_be_quarantined_is_skipped_and_the_next_one_filed(
    runner, db, mailbox, monkeypatch
):
    uids = [mailbox.deliver(message(number)) for number in (1, 2)]
    real = fetching.file_message

    def breaks_on_the_first(raw):
        if b"question-1@" in raw:
            raise ValueError("unexpected structure")
        return real(raw)

    def cannot_quarantine(raw, reason, **kwargs):
        raise RuntimeError("no way to store this")

    monkeypatch.setattr(fetching, "file_message", breaks_on_the_first)
    monkeypatch.setattr(fetching, "_quarantine", cannot_quarantine)

    result = runner.invoke(args=["crm", "fetch-mail"])

    assert result.exit_code == 0, result.output
    assert "1 skipped (see the log)" in result.output
    assert stored(db) == ids(2)
    assert last_uid(db) == uids[-1]


# ---------------------------------------------------------------- the server down or refusing


def test_an_unreachable_server_is_a_clear_error_and_exit_code_1(app, runner, db, mailbox):
    app.config["IMAP_PORT"] = free_port()  # nothing listens there

    result = runner.invoke(args=["crm", "fetch-mail"])

    assert result.exit_code == 1
    assert "Error: Cannot reach the mailbox at 127.0.0.1:" in result.output
    assert "Connection refused" in result.output
    assert "Traceback" not in result.output


def test_a_refused_login_is_a_clear_error_without_the_password(app, runner, db, mailbox):
    app.config["IMAP_PASSWORD"] = "wrong secret"

    result = runner.invoke(args=["crm", "fetch-mail"])

    assert result.exit_code == 1
    assert (
        "refused the login of 'office@example.org': [AUTHENTICATIONFAILED] Authentication failed."
    ) in result.output
    assert "wrong secret" not in result.output


def test_a_missing_folder_is_a_clear_error(app, runner, db, mailbox):
    app.config["IMAP_FOLDER"] = "No such folder"

    result = runner.invoke(args=["crm", "fetch-mail"])

    assert result.exit_code == 1
    assert "Cannot open the folder 'No such folder'" in result.output


def test_ssl_against_a_plain_server_fails_clearly(app, runner, db, mailbox):
    app.config["IMAP_SSL"] = True

    result = runner.invoke(args=["crm", "fetch-mail"])

    assert result.exit_code == 1
    assert "(SSL)" in result.output
    assert "Traceback" not in result.output


def test_the_port_follows_ssl_unless_given(app):
    settings = {"IMAP_HOST": "imap.example.org", "IMAP_PORT": None}
    assert fetching._Mailbox({**settings, "IMAP_SSL": True}).port == 993
    assert fetching._Mailbox({**settings, "IMAP_SSL": False}).port == 143
    assert fetching._Mailbox({**settings, "IMAP_SSL": False, "IMAP_PORT": 1143}).port == 1143


def test_without_imap_host_incoming_mail_is_off(runner):
    result = runner.invoke(args=["crm", "fetch-mail", "--loop"])

    assert result.exit_code == 0
    assert "Incoming mail is off: IMAP_HOST is not set." in result.output


# ---------------------------------------------------------------- the loop


def test_the_loop_survives_an_outage_and_waits_longer_while_it_lasts(
    app, runner, db, mailbox, monkeypatch
):
    port = app.config["IMAP_PORT"]
    app.config["IMAP_PORT"] = free_port()  # the server is down at first
    naps = []

    def sleep(seconds):
        naps.append(seconds)
        if len(naps) == 2:
            app.config["IMAP_PORT"] = port  # back up, with new mail
            mailbox.deliver(message(1))
        if len(naps) == 4:
            raise KeyboardInterrupt  # Ctrl-C while waiting for the next round

    monkeypatch.setattr("crm.cli.time.sleep", sleep)

    result = runner.invoke(args=["crm", "fetch-mail", "--loop", "--interval", "0.5"])

    assert result.exit_code == 0, result.output
    assert naps == [1.0, 2.0, 0.5, 0.5]
    assert result.output.count("Error: Cannot reach the mailbox") == 2
    assert "Trying again in 2 seconds." in result.output
    assert result.output.count("Read 1 message:") == 1
    assert "Mail reader stopped." in result.output
    assert stored(db) == ids(1)


def test_the_loop_survives_a_failed_round_of_the_database(runner, db, mailbox, monkeypatch):
    mailbox.deliver(message(1))
    real = fetching.fetch_new_mail
    rounds = []

    def flaky(**kwargs):
        rounds.append(None)
        if len(rounds) == 1:
            raise sa.exc.OperationalError("SELECT", {}, Exception("database restarting"))
        return real(**kwargs)

    def sleep(seconds):
        if len(rounds) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(fetching, "fetch_new_mail", flaky)
    monkeypatch.setattr("crm.cli.time.sleep", sleep)

    result = runner.invoke(args=["crm", "fetch-mail", "--loop"])

    assert result.exit_code == 0, result.output
    assert "Read 1 message:" in result.output
    assert stored(db) == ids(1)


def test_the_loop_interval_defaults_to_the_setting(app, runner, mailbox, monkeypatch):
    app.config["MAIL_FETCH_INTERVAL"] = 7
    naps = []

    def sleep(seconds):
        naps.append(seconds)
        raise KeyboardInterrupt

    monkeypatch.setattr("crm.cli.time.sleep", sleep)

    result = runner.invoke(args=["crm", "fetch-mail", "--loop"])

    assert result.exit_code == 0, result.output
    assert "every 7 seconds" in result.output
    assert naps == [7.0]


def test_stopping_the_loop_finishes_the_message_being_filed(runner, db, mailbox, monkeypatch):
    uids = [mailbox.deliver(message(number)) for number in (1, 2)]
    real = fetching.file_message

    def stopped_while_filing(raw):
        os.kill(os.getpid(), signal.SIGTERM)  # e.g. systemctl stop, mid-message
        return real(raw)

    monkeypatch.setattr(fetching, "file_message", stopped_while_filing)

    result = runner.invoke(args=["crm", "fetch-mail", "--loop"])

    assert result.exit_code == 0, result.output
    assert "Read 1 message:" in result.output
    assert "Mail reader stopped." in result.output
    assert stored(db) == ids(1)
    assert mailbox.seen() == uids[:1]
