"""The `flask crm ...` commands operators and cron jobs use."""

import logging
import signal
import time

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import force_locale

from crm import demo_data as demo
from crm.activities.task_services import announce_due_tasks, send_task_reminders
from crm.agreements.reminders import run_agreement_reminders
from crm.auth import api_tokens, tokens
from crm.auth import services as user_services
from crm.auth.models import ApiScope, Role, TokenPurpose
from crm.core.database import refresh_planner_statistics
from crm.core.forms import FieldError
from crm.documents import services as document_services
from crm.documents import storage as document_storage
from crm.extensions import db
from crm.mail import sending as mail_sending
from crm.mailbox import fetching as mail_fetching
from crm.privacy.services import apply_retention
from crm.search.index import rebuild_index
from crm.webhooks import delivery as webhook_delivery
from crm.webhooks import services as webhook_services

crm_cli = AppGroup("crm", help="CRM administration commands.")


@crm_cli.command("create-user")
@click.argument("email")
@click.option(
    "--role",
    required=True,
    type=click.Choice([role.value for role in Role]),
    help="What the user may do.",
)
@click.option(
    "--name", default=None, help="Full name (defaults to the part of the e-mail before @)."
)
@click.option("--password", default=None, help="Prompted for (hidden, twice) when not given.")
@click.option("--language", type=click.Choice(["sv", "en"]), default="sv", show_default=True)
@click.option(
    "--invite",
    is_flag=True,
    help="Set no password: e-mail the user an invitation to choose their own instead.",
)
def create_user(email, role, name, password, language, invite):
    """Create a staff user who signs in with EMAIL."""
    if invite and password is not None:
        raise click.UsageError("Give either --password or --invite, not both.")
    if password is None and not invite:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        # The command line speaks English, like the rest of its output.
        with force_locale("en"):
            user = user_services.create_user(
                email=email, name=name, role=role, password=password, language=language
            )
            link = tokens.send_invitation(user, actor=None) if invite else None
    except user_services.UserError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Created {user.role.value} {user.email}.")
    if invite:
        _echo_link("Invitation", user, link, TokenPurpose.INVITATION, show=False)


@crm_cli.command("reset-password")
@click.argument("email")
@click.option(
    "--show-link",
    is_flag=True,
    help="Print the link even when the e-mail is really sent.",
)
def reset_password(email, show_link):
    """E-mail the user with EMAIL a link to choose a new password (it works once, for
    RESET_HOURS). The link is also printed when mail is not sent (MAIL_SUPPRESS_SEND: in
    development without MAIL_SERVER, as with `make run`), or with --show-link."""
    user = user_services.get_user_by_email(email)
    if user is None:
        raise click.ClickException(f"No user has the e-mail address {email.strip()}.")
    if not user.active:
        raise click.ClickException(
            f"{user.email} is deactivated: activate the user before sending a link."
        )
    try:
        with force_locale("en"):
            link = tokens.send_password_reset(user, actor=None)
    except user_services.UserError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    _echo_link("Password reset", user, link, TokenPurpose.RESET, show=show_link)


@crm_cli.command("create-token")
@click.argument("email")
@click.option(
    "--scope",
    required=True,
    type=click.Choice([scope.value for scope in ApiScope]),
    help="read: the token may only read; write: read and change what the user may.",
)
@click.option(
    "--days",
    type=int,
    default=None,
    help=f"Days the token works (1 to {api_tokens.MAX_DAYS}); without it, it never expires.",
)
@click.option(
    "--name",
    default="Command line",
    show_default=True,
    help="What the token is for; lists and the history show it.",
)
def create_token(email, scope, days, name):
    """Make a personal API token for the user with EMAIL and print it, alone on standard
    output, so a script can capture it; a note about it goes to standard error. The token
    is shown only this once."""
    user = user_services.get_user_by_email(email)
    if user is None:
        raise click.ClickException(f"No user has the e-mail address {email.strip()}.")
    if not user.active:
        raise click.ClickException(
            f"{user.email} is deactivated: activate the user before making a token."
        )
    try:
        with force_locale("en"):
            token, raw = api_tokens.create_api_token(
                user, name=name, scope=scope, days=days, actor=None
            )
    except FieldError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()
    if token.expires_at is None:
        expiry = "it never expires"
    else:
        expiry = f"it expires {token.expires_at:%Y-%m-%d %H:%M} UTC"
    click.echo(raw)
    click.echo(
        f'API token "{token.name}" ({token.scope.value}) for {user.email}; {expiry}. '
        "It is not shown again.",
        err=True,
    )


def _echo_link(what, user, link, purpose, *, show):
    hours = tokens.lifetime_hours(purpose)
    click.echo(f"{what} e-mail to {user.email} queued; its link works once, for {hours} h.")
    if show or mail_is_suppressed():
        if not show:
            click.echo("Mail is not sent here (MAIL_SUPPRESS_SEND), so here is the link:")
        click.echo(link)


def mail_is_suppressed():
    """True where e-mails are only written to the log (development without MAIL_SERVER, and
    the tests): Flask-Mail's MAIL_SUPPRESS_SEND, as the outbox worker reads it."""
    return bool(current_app.extensions["mail"].suppress)


@crm_cli.command("demo-data")
def demo_data():
    """Load the demo data set (idempotent: running it again changes nothing)."""
    if current_app.config["CRM_ENV"] == "production":
        # Its users all share one published password: on a real site, anyone could sign in.
        raise click.ClickException(
            "The demo data is not loaded in production: its users have a published password."
        )
    created = demo.load()
    db.session.commit()
    if created:
        click.echo(f"Demo data loaded: {created} records created or corrected.")
    else:
        click.echo("Demo data already present; nothing changed.")
    click.echo(f"Demo logins (password for all: {demo.DEMO_PASSWORD}):")
    for email, _name, role in demo.DEMO_USERS:
        click.echo(f"  {role:<12} {email}")


@crm_cli.command("reminders")
def reminders():
    """E-mail each assignee their open tasks due today or overdue (once per task and day),
    and the owner and coordinators an agreement's notice and end dates; expire ended agreements;
    announce tasks that have become due (webhooks' task.due, once per task and due date)."""
    counts = send_task_reminders()
    db.session.commit()
    click.echo(f"Task reminders: {counts['tasks']} tasks in {counts['users']} e-mails queued.")
    # After the e-mails, in a transaction of its own: what it announces (webhooks) is
    # written with it, and a failure here does not take the reminders back.
    due = announce_due_tasks()
    db.session.commit()
    click.echo(f"Tasks newly due announced: {due}.")
    counts = run_agreement_reminders()
    db.session.commit()
    click.echo(
        f"Agreement reminders: {counts['reminders']} reminders in {counts['emails']} e-mails "
        f"queued; {counts['expired']} agreements expired."
    )
    # The daily job is also when SQLite's planner statistics are brought up to date.
    refresh_planner_statistics(db.session)
    db.session.commit()


@crm_cli.command("retention")
def retention():
    """Anonymise enquiries closed more than retention_months ago (default 24), with their
    outbox messages, deleting their e-mails; delete e-mails on no enquiry (logged, unmatched,
    discarded, quarantined) older than email_retention_months (default 24), with their
    attachments. Records under a legal hold are skipped. Webhook deliveries made more than
    WEBHOOKS_KEEP_DAYS (default 90) ago are deleted, unless still pending. Safe to run again."""
    counts = apply_retention()
    db.session.commit()
    click.echo(
        f"Anonymised {counts['enquiries']} enquiries and {counts['outbox_messages']} outbox "
        f"messages; deleted {counts['emails']} e-mails and {counts['documents']} attachments; "
        f"skipped {counts['held']} under legal hold."
    )
    pruned = webhook_services.prune_deliveries()
    db.session.commit()
    if pruned:
        days = current_app.config["WEBHOOKS_KEEP_DAYS"]
        click.echo(f"Deleted {pruned} webhook deliveries older than {days} days.")


@crm_cli.command("move-documents")
@click.option(
    "--to",
    "target_name",
    required=True,
    type=click.Choice(document_storage.STORES),
    help="The store to move the files into, from the other one.",
)
def move_documents(target_name):
    """Move the documents' files into the database (--to database), e.g. before adding a
    second app server, or back into UPLOAD_FOLDER (--to folder). Each file is moved in a
    transaction of its own; safe to run again, and to stop."""
    source_name = next(name for name in document_storage.STORES if name != target_name)
    source = document_storage.get_store(source_name)
    target = document_storage.get_store(target_name)
    counts = {"moved": 0, "present": 0, "missing": 0}
    for name in document_services.stored_file_names():
        outcome = document_services.move_file(name, source=source, target=target)
        try:
            db.session.commit()
        except Exception:
            db.session.rollback()
            if outcome == "moved":
                target.discard(name)
            raise
        counts[outcome] += 1
    click.echo(
        f"Moved {counts['moved']} files from the {source_name} into the {target_name}; "
        f"{counts['present']} were there already; {counts['missing']} are in neither."
    )
    setting = document_storage.store_name()
    if setting != target_name:
        click.echo(
            f"The app reads documents from the {setting} (DOCUMENT_STORE): set "
            f"DOCUMENT_STORE={target_name} for it to read them from the {target_name}."
        )


@crm_cli.command("search-reindex")
def search_reindex():
    """Rebuild the search index from every live record (after a bulk load or a restore)."""
    total = rebuild_index()
    db.session.commit()
    click.echo(f"Search index rebuilt: {total} records.")


@crm_cli.command("send-mail")
@click.option("--loop", is_flag=True, help="Keep running, sending what is due every few seconds.")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="Seconds to wait between rounds with --loop.",
)
def send_mail(loop, interval):
    """Send the outbox messages that are due (once, or until stopped with --loop)."""
    _send_due(
        mail_sending.send_due_messages,
        _echo_counts,
        loop=loop,
        interval=interval,
        what="mail",
        name="Outbox",
        worker="Mail",
    )


@crm_cli.command("send-webhooks")
@click.option("--loop", is_flag=True, help="Keep running, sending what is due every few seconds.")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    help="Seconds to wait between rounds with --loop.",
)
def send_webhooks(loop, interval):
    """Send the webhook deliveries that are due, signed, retrying failures with back-off
    (once, or until stopped with --loop). Safe to run in several processes at once."""
    _send_due(
        webhook_delivery.send_due_deliveries,
        _echo_webhook_counts,
        loop=loop,
        interval=interval,
        what="webhooks",
        name="Webhook",
        worker="Webhook",
    )


def _send_due(send, echo, *, loop, interval, what, name, worker):
    """A worker command: `send()` once and `echo` its counts, or with `loop` every
    `interval` seconds until stopped, echoing only the rounds that did something."""
    # The worker's log is where failed attempts are reported (and development mail read).
    if current_app.logger.getEffectiveLevel() > logging.INFO:
        current_app.logger.setLevel(logging.INFO)
    if not loop:
        echo(send())
        return

    def one_round():
        counts = send()
        if any(counts.values()):
            echo(counts)

    click.echo(f"Sending due {what} every {interval:g} seconds (Ctrl-C to stop).")
    _work_until_stopped(one_round, interval=interval, name=name)
    click.echo(f"{worker} worker stopped.")


def _echo_webhook_counts(counts):
    click.echo(
        f"Webhooks delivered {counts['delivered']}, to retry later {counts['retried']}, "
        f"failed {counts['failed']}."
    )


def _work_until_stopped(one_round, *, interval, name):
    """Run `one_round()` every `interval` seconds until Ctrl-C or SIGTERM (a worker of
    `send-mail --loop` and `send-webhooks --loop`)."""
    stopping = False
    working = False

    def stop(_signum, _frame):
        # Finish what is being sent, so it is not sent again after a restart; a second
        # Ctrl-C does not wait.
        nonlocal stopping
        if stopping or not working:
            raise KeyboardInterrupt
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stopping:
            working = True
            try:
                one_round()
            except Exception:
                # A database hiccup must not end the worker; the next round tries again.
                db.session.rollback()
                current_app.logger.exception("%s round failed", name)
            finally:
                db.session.remove()
                working = False
            if not stopping:
                time.sleep(interval)
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@crm_cli.command("fetch-mail")
@click.option("--loop", is_flag=True, help="Keep running, reading new mail every so often.")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=None,
    help="Seconds to wait between rounds with --loop (default: MAIL_FETCH_INTERVAL, 60).",
)
def fetch_mail(loop, interval):
    """Read new messages from the office mailbox (IMAP_*) and file each once (once, or until
    stopped with --loop)."""
    config = current_app.config
    if not config.get("IMAP_HOST"):
        click.echo("Incoming mail is off: IMAP_HOST is not set. Nothing to read.")
        return
    if current_app.logger.getEffectiveLevel() > logging.INFO:
        current_app.logger.setLevel(logging.INFO)
    if not loop:
        try:
            counts = mail_fetching.fetch_new_mail()
        except mail_fetching.MailboxUnavailable as error:
            raise click.ClickException(str(error)) from None
        _echo_fetch_counts(counts)
        return

    interval = interval or float(config["MAIL_FETCH_INTERVAL"])
    # After failed rounds in a row the wait doubles, up to 15 minutes (or the interval, if
    # longer), so an outage is not hammered or logged every few seconds.
    longest_wait = max(interval, 15 * 60)
    stopping = False
    fetching = False
    failures = 0

    def stop(_signum, _frame):
        # Let the round finish the message it is filing (it stops before the next one); a
        # second Ctrl-C does not wait. Stopping mid-message would be safe too: it is not
        # committed, so it is read again next time.
        nonlocal stopping
        if stopping or not fetching:
            raise KeyboardInterrupt
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    click.echo(f"Reading new mail every {interval:g} seconds (Ctrl-C to stop).")
    try:
        while not stopping:
            fetching = True
            try:
                counts = mail_fetching.fetch_new_mail(stop=lambda: stopping)
            except mail_fetching.MailboxUnavailable as error:
                failures += 1
                click.echo(f"Error: {error}", err=True)
            except Exception:
                # A database hiccup must not end the worker; the next round tries again.
                failures += 1
                db.session.rollback()
                current_app.logger.exception("Mailbox round failed")
            else:
                failures = 0
                if counts["read"]:
                    _echo_fetch_counts(counts)
            finally:
                db.session.remove()
                fetching = False
            if not stopping:
                wait = min(interval * 2**failures, longest_wait) if failures else interval
                if failures:
                    click.echo(f"Trying again in {wait:g} seconds.", err=True)
                time.sleep(wait)
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo("Mail reader stopped.")


def _echo_fetch_counts(counts):
    read = counts["read"]
    line = (
        f"Read {read} message{'' if read == 1 else 's'}: {counts['filed']} filed, "
        f"{counts['unmatched']} unmatched, {counts['quarantined']} quarantined"
    )
    if counts["discarded"]:
        line += f", {counts['discarded']} discarded"
    if counts["skipped"]:
        line += f", {counts['skipped']} skipped (see the log)"
    click.echo(f"{line}, {counts['already_stored']} already stored.")


def _echo_counts(counts):
    click.echo(
        f"Sent {counts['sent']}, to retry later {counts['retried']}, failed {counts['failed']}."
    )
