"""Links that let a person choose their own password: the invitation a new user gets, and the
reset link for a forgotten password. Never commits.

The link carries a random token; only its SHA-256 is stored (UserToken.token_hash), so the
table alone opens no account, and the token is never written to the audit history. A link
works once, until it expires (INVITATION_HOURS, RESET_HOURS). Only the newest link of each
kind works: sending one voids the user's earlier open links of that kind, and choosing a
password with one voids all the user's open links. A password set this way ends the user's
other sessions, as a password change does.
"""

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm.auth import services as user_services
from crm.auth.models import TokenPurpose, UserToken
from crm.core import audit
from crm.core.links import external_url
from crm.core.types import utcnow
from crm.extensions import db
from crm.mail.services import queue_message, valid_address
from crm.settings import services as settings

# The forgotten-password form sends one user at most one link in this time, however often it
# is sent for their address. Its answer is the same either way, so the cap tells nobody
# anything, and the form cannot be used to fill someone's inbox.
RESET_MAIL_INTERVAL = timedelta(minutes=5)
# Tokens are 43 characters (32 random bytes); anything much longer is not one of ours and is
# not hashed.
_MAX_TOKEN_LENGTH = 100

audit.describe_actions(
    {
        "invite": _l("sent an invitation"),
        "send_password_reset": _l("sent a password reset link"),
        "accept_invitation": _l("set the password from the invitation"),
        "reset_password": _l("set a new password from a reset link"),
    }
)


class TokenError(ValueError):
    """The link cannot be used; the message says why and what to do, for the person."""

    def __init__(self, message, *, reason):
        super().__init__(message)
        # "unknown", "used" or "expired".
        self.reason = reason


def _hash(raw):
    return hashlib.sha256(raw.encode()).hexdigest()


def lifetime_hours(purpose):
    """How many hours a new link of this kind works (INVITATION_HOURS, RESET_HOURS)."""
    key = "INVITATION_HOURS" if purpose == TokenPurpose.INVITATION else "RESET_HOURS"
    return int(current_app.config[key])


def issue_token(user, purpose, *, actor=None):
    """A new link's token for `user`: the raw value, to go into the link and nowhere else."""
    now = utcnow()
    user_services.void_open_links(user, now, purpose=purpose)
    raw = secrets.token_urlsafe(32)
    db.session.add(
        UserToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=_hash(raw),
            created_at=now,
            expires_at=now + timedelta(hours=lifetime_hours(purpose)),
            created_by_id=getattr(actor, "id", None),
        )
    )
    db.session.flush()
    return raw


def set_password_url(raw, user):
    """The link in the e-mail, at PUBLIC_URL, opening the page in the user's language."""
    return external_url("auth.set_password", token=raw, lang=_language(user))


def find_token(raw):
    """The link's token row when the link may be used, else TokenError saying why.

    A link of a deactivated user reads as unknown: it tells nothing about the account.
    """
    token = None
    if raw and len(raw) <= _MAX_TOKEN_LENGTH:
        token = db.session.scalar(sa.select(UserToken).where(UserToken.token_hash == _hash(raw)))
    if token is None or not token.user.active:
        raise TokenError(
            _(
                "This link is not valid. Check that you opened the whole link from the "
                "e-mail; if it was broken over two lines, copy both parts."
            ),
            reason="unknown",
        )
    error = _unusable(token, utcnow())
    if error is not None:
        raise error
    return token


def set_password_with_token(token, password):
    """Give the token's user `password` (checked as every new password is), use up the link
    and every other open link of the user, and end the user's sessions everywhere.

    UserError (field "new_password") for a password that is not good enough, which leaves the
    link working; TokenError when the link was used or voided meanwhile.
    """
    user = token.user
    problem = user_services.password_problem(password, email=user.email, name=user.name)
    if problem:
        raise user_services.UserError(problem, field="new_password")
    now = utcnow()
    # Claimed with one conditional update, so two requests with the same link cannot both
    # use it: the second waits for the first's commit and then matches no row.
    claimed = db.session.execute(
        sa.update(UserToken)
        .where(
            UserToken.id == token.id,
            UserToken.used_at.is_(None),
            UserToken.expires_at > now,
        )
        .values(used_at=now)
    ).rowcount
    if not claimed:
        # Used meanwhile, or voided: its expiry moved to the moment a newer link was used.
        db.session.refresh(token)
        raise _unusable(token, max(now, token.expires_at))
    user.set_password(password)
    user.password_changed_at = now
    # Whoever reads the user's mail may choose their password; earlier wrong guesses at the
    # old one no longer keep the account paused.
    user.failed_logins = 0
    user.locked_until = None
    action = "accept_invitation" if token.purpose == TokenPurpose.INVITATION else "reset_password"
    audit.record(user, action, actor=user)
    user_services.end_all_sessions(user)
    user_services.void_open_links(user, now)
    return user


def _unusable(token, now):
    """The TokenError for a link that was used or has expired by `now`, else None."""
    if token.used_at is not None:
        return TokenError(
            _(
                "This link has already been used: each link works once. If you chose your "
                "password with it, sign in; if you have forgotten it, ask for a new link."
            ),
            reason="used",
        )
    if token.expires_at > now:
        return None
    if token.purpose == TokenPurpose.INVITATION:
        message = _(
            "This invitation has expired, or a newer one has been sent. Use the link in the "
            "newest invitation, ask an administrator to send a new one, or ask for a link to "
            "choose your password below."
        )
    else:
        message = _(
            "This link has expired, or a newer one has been sent. Use the link in the newest "
            "e-mail, or ask for a new link below."
        )
    return TokenError(message, reason="expired")


def send_invitation(user, *, actor):
    """Queue the invitation e-mail with a new link to choose a password; returns the link.

    UserError when the user's address cannot be written to."""
    return _send_link(
        user,
        TokenPurpose.INVITATION,
        actor=actor,
        kind="user_invitation",
        template="email/invitation.txt",
        subject=lambda office: _("Your new account at %(office)s", office=office),
        audit_action="invite",
        login_url=lambda language: external_url("auth.login", lang=language),
    )


def send_password_reset(user, *, actor):
    """Queue an e-mail with a new link to choose a new password; returns the link.

    `actor` is the administrator who sent it, or None when the person asked for it. UserError
    when the user's address cannot be written to.
    """
    return _send_link(
        user,
        TokenPurpose.RESET,
        actor=actor,
        kind="password_reset",
        template="email/password_reset.txt",
        subject=lambda office: _("Choose a new password for %(office)s", office=office),
        audit_action="send_password_reset",
        sent_by_admin=actor is not None,
        forgot_url=lambda language: external_url("auth.forgot_password", lang=language),
    )


def _send_link(user, purpose, *, actor, kind, template, subject, audit_action, **context):
    """Issue a link of `purpose` and queue its e-mail in the user's language; returns the link.

    `subject(office_name)` words the subject; context values that are callables are given the
    language, so links open the page in it."""
    _check_address(user)
    raw = issue_token(user, purpose, actor=actor)
    url = set_password_url(raw, user)
    language = _language(user)
    with force_locale(language):
        office_name = settings.office_name(language)
        body = render_template(
            template,
            user=user,
            url=url,
            office_name=office_name,
            expiry=_expiry_text(lifetime_hours(purpose)),
            **{
                key: value(language) if callable(value) else value for key, value in context.items()
            },
        )
        subject = subject(office_name)
    queue_message(
        kind=kind, recipient=user.email, subject=subject, body_text=body, language=language
    )
    audit.record(user, audit_action, actor=actor, changes={})
    return url


def request_password_reset(email):
    """The forgotten-password form: a reset link to `email` when it is an active user's and
    no link was asked for in the last RESET_MAIL_INTERVAL; else nothing. Returns the link or
    None, which the form must not show: its answer is the same either way."""
    user = user_services.get_user_by_email(email)
    if user is None or not user.active or not valid_address(user.email):
        return None
    # Locked until the request commits, so requests sent at once count as one.
    db.session.refresh(user, with_for_update=True)
    now = utcnow()
    recent = db.session.scalar(
        sa.select(UserToken.id)
        .where(
            UserToken.user_id == user.id,
            UserToken.purpose == TokenPurpose.RESET,
            UserToken.created_at > now - RESET_MAIL_INTERVAL,
        )
        .limit(1)
    )
    if recent is not None:
        return None
    return send_password_reset(user, actor=None)


def invitation_state(user):
    """For the admin pages: None for a user with a password, else ("open"|"expired"|"none",
    the newest invitation or None)."""
    if user.has_password:
        return None
    token = db.session.scalar(
        sa.select(UserToken)
        .where(UserToken.user_id == user.id, UserToken.purpose == TokenPurpose.INVITATION)
        .order_by(UserToken.created_at.desc(), UserToken.id.desc())
        .limit(1)
    )
    if token is None:
        # Someone who signs in only through single sign-on was never invited and needs no
        # password; an admin may still send them an invitation to choose one.
        return None if user_services.has_identity(user) else ("none", None)
    if token.used_at is None and token.expires_at > utcnow():
        return ("open", token)
    return ("expired", token)


def _check_address(user):
    # Users made on the command line may have an address the outbox refuses (no dot after @).
    if not valid_address(user.email):
        raise user_services.UserError(
            _(
                "No e-mail can be sent to %(email)s: it is not a complete e-mail address.",
                email=user.email,
            ),
            field="email",
        )


def _language(user):
    return user.language if user.language in current_app.config["LANGUAGES"] else "sv"


def _expiry_text(hours):
    return ngettext(
        "The link works once, for %(num)d hour.", "The link works once, for %(num)d hours.", hours
    )
