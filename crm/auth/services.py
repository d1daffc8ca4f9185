"""Users: creation, sign-in checks, passwords, roles and sessions. Never commits."""

import re
import secrets
import threading
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

from crm.auth.models import MIN_PASSWORD_LENGTH, Role, User, UserIdentity, UserToken
from crm.core import audit
from crm.core.types import utcnow
from crm.extensions import db
from crm.settings import services as settings

MAX_PASSWORD_LENGTH = 256
# zxcvbn's score, 0-4: 3 is "safely unguessable: moderate protection from offline attacks".
MIN_PASSWORD_SCORE = 3
# zxcvbn's matching grows steeply with the length of its input; the first 100 characters
# decide the score of any password a person would type.
_STRENGTH_CHECKED_CHARS = 100
_STRENGTH_LOCK = threading.Lock()
# Checked against when the e-mail is unknown or the account is paused, so every sign-in
# attempt costs one hash, whatever the account's state: made once per hash method, with the
# method real passwords are hashed with, so it costs what they cost.
_DUMMY_HASHES = {}


def _dummy_hash():
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash("not-a-real-password", method=method)
    return _DUMMY_HASHES[method]


class UserError(ValueError):
    """A user could not be created or changed; the message is shown to the person, next to
    the form field named `field` when there is one."""

    def __init__(self, message, *, field=None):
        super().__init__(message)
        self.field = field


def normalise_email(email):
    return (email or "").strip().lower()


def password_problem(password, *, email=None, name=None):
    """A translated reason the password is unacceptable, or None.

    Besides the length, a password must not be easy to guess: zxcvbn estimates how many
    guesses it takes, knowing common passwords, words, names, keyboard patterns, dates and
    what an attacker knows about this person (e-mail, name, the office's name).
    """
    if len(password or "") < MIN_PASSWORD_LENGTH:
        return _(
            "The password must be at least %(count)d characters long.", count=MIN_PASSWORD_LENGTH
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        return _(
            "The password must be at most %(count)d characters long.", count=MAX_PASSWORD_LENGTH
        )
    user_inputs = _guessable_words(email=email, name=name)
    # zxcvbn keeps the user inputs of the call in a module-level dictionary, so two checks at
    # once in threads would see each other's words.
    with _STRENGTH_LOCK:
        estimate = zxcvbn(
            password[:_STRENGTH_CHECKED_CHARS],
            user_inputs=user_inputs,
            max_length=_STRENGTH_CHECKED_CHARS,
        )
    if estimate["score"] < MIN_PASSWORD_SCORE:
        # zxcvbn's own feedback is English only; this says what to do, in the person's language.
        return _(
            "This password is too easy to guess: it is a common password, or close to one, or "
            "it contains your name, your e-mail address or the office's name. Use a few "
            "uncommon words together, or a longer phrase."
        )
    return None


def _guessable_words(*, email, name):
    """What an attacker knows about the person, whole and word by word."""
    email = normalise_email(email)
    names = settings.get_many(["office_name", "office_name_sv", "office_name_en"])
    phrases = [
        email,
        email.partition("@")[0],
        name or "",
        *(value or "" for value in names.values()),
    ]
    words = [word for phrase in phrases for word in re.split(r"[\W_]+", phrase)]
    return [word for word in dict.fromkeys(phrases + words) if word]


def get_user_by_email(email):
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def load_user_from_session(session_id):
    """Flask-Login's loader: the id carries the session version, so ended sessions stay ended."""
    user_id, _colon, version = (session_id or "").partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def create_user(*, email, name, role, password=None, actor=None, language="sv"):
    """A new user. Without a password no password works until they set one from an
    invitation (crm/auth/tokens.py) or sign in with single sign-on."""
    email = normalise_email(email)
    if not email or "@" not in email:
        raise UserError(_("Enter a valid e-mail address."))
    try:
        role = Role(role)
    except ValueError:
        raise UserError(
            _("Unknown role %(role)s. Choose one of: %(roles)s.", role=role, roles=_role_list())
        ) from None
    if get_user_by_email(email) is not None:
        raise UserError(_("A user with the e-mail address %(email)s already exists.", email=email))
    if password is not None:
        problem = password_problem(password, email=email, name=name)
        if problem:
            raise UserError(problem, field="password")
    user = User(
        email=email,
        name=(name or "").strip() or email.split("@")[0],
        role=role,
        language=language,
        created_by_id=getattr(actor, "id", None),
    )
    if password is not None:
        user.set_password(password)
        user.password_changed_at = utcnow()
    db.session.add(user)
    audit.record(user, "create", actor=actor)
    return user


# Throttling, per account. A hard lock after N failures would let anyone who knows an address
# (the public page lists staff) keep its owner out, so instead: the first LOGIN_MAX_FAILURES
# wrong passwords in a row cost nothing; from then on every wrong password pauses checks on the
# account for a window that doubles each time (LOGIN_THROTTLE_MINUTES, then 2x, 4x …, at most
# LOGIN_THROTTLE_MAX_MINUTES), kept in `locked_until`. Attempts inside a window are refused
# without looking at the password, so they tell nothing about it (no guessing during a pause)
# and do not lengthen the pause; after it the right password works as usual and clears the
# count. An attacker gets a few guesses an hour per account; the owner waits minutes at worst.
# Sign-in, the password confirmation and the password change all count towards it, and so
# do wrong codes at the second step of signing in (crm/auth/two_factor.py).


def verify_password(user, password):
    """True when `password` is this user's and the account is not paused; counts failures.

    Costs exactly one password hash whatever the answer, so the time taken tells nothing.
    """
    # Locked until the request commits, so attempts sent at once wait their turn instead of
    # all being checked before the first one's failure is counted.
    db.session.refresh(user, with_for_update=True)
    return _check_password(user, password)


def _check_password(user, password, *, clear=True):
    now = utcnow()
    if user.locked_until is not None and user.locked_until > now:
        check_password_hash(_dummy_hash(), password or "")
        return False
    if not user.check_password(password or ""):
        count_failure(user, now)
        return False
    if clear:
        clear_failures(user)
    return True


def clear_failures(user):
    user.failed_logins = 0
    user.locked_until = None


def count_failure(user, now):
    user.failed_logins += 1
    config = current_app.config
    beyond = user.failed_logins - config["LOGIN_MAX_FAILURES"]
    if beyond >= 0:
        # The exponent is capped too, so a long run of failures never builds a huge number.
        minutes = min(
            config["LOGIN_THROTTLE_MINUTES"] * 2 ** min(beyond, 20),
            config["LOGIN_THROTTLE_MAX_MINUTES"],
        )
        user.locked_until = now + timedelta(minutes=minutes)


def authenticate(email, password):
    """The user these credentials belong to, or None.

    Unknown, paused, inactive and wrong all answer None after the same work (one hash), so
    neither the answer nor its timing tells which accounts exist.
    """
    # Locked as in verify_password, in the same single query for known and unknown addresses.
    user = db.session.scalar(
        sa.select(User)
        .where(User.email == normalise_email(email))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
        return None
    # With two-factor sign-in the count is cleared by the right code, not by the password:
    # else each right password would buy a fresh run of free guesses at the code.
    if not _check_password(user, password, clear=not user.two_factor_enabled) or not user.active:
        return None
    return user


def new_calendar_token():
    """The secret in a calendar-feed URL."""
    return secrets.token_urlsafe(32)


def end_all_sessions(user):
    """Every session of this user, on every device, stops working at its next request.

    The calendar feed's address works without a password, as a session does, so a user who
    has one gets a new one and the old address stops working.
    """
    user.session_version += 1
    if user.calendar_token:
        user.calendar_token = new_calendar_token()


def change_password(user, new_password, *, actor):
    problem = password_problem(new_password, email=user.email, name=user.name)
    if problem:
        raise UserError(problem, field="new_password")
    user.set_password(new_password)
    user.password_changed_at = utcnow()
    audit.record(user, "change_password", actor=actor)
    end_all_sessions(user)
    # A reset link asked for before is no longer wanted: it must not outlive the new password.
    void_open_links(user, utcnow())


def void_open_links(user, now, *, purpose=None):
    """End the user's invitation and reset links that still work (of one kind, or all): they
    expire now."""
    query = sa.update(UserToken).where(
        UserToken.user_id == user.id,
        UserToken.used_at.is_(None),
        UserToken.expires_at > now,
    )
    if purpose is not None:
        query = query.where(UserToken.purpose == purpose)
    db.session.execute(query.values(expires_at=now))


def has_identity(user):
    """True when the user has signed in through a single-sign-on provider."""
    return user.id in users_with_identities([user.id])


def users_with_identities(user_ids):
    """The ids among `user_ids` of users linked to a single-sign-on provider."""
    return set(
        db.session.scalars(
            sa.select(UserIdentity.user_id).where(UserIdentity.user_id.in_(user_ids)).distinct()
        )
    )


def check_rights_change(user, *, role=None, active=None, actor):
    """UserError when `actor` would change their own role or deactivate themselves: an admin
    could otherwise lock the office out of its own administration."""
    if (
        actor is not None
        and user.id == actor.id
        and ((role is not None and Role(role) != user.role) or active is False)
    ):
        raise UserError(_("You cannot change your own role or deactivate yourself."))


def update_user(user, *, role=None, active=None, name=None, actor):
    """Change role, active flag or name; taking rights away ends the user's sessions."""
    check_rights_change(user, role=role, active=active, actor=actor)
    if role is not None:
        user.role = Role(role)
    if active is not None:
        user.active = active
    if name is not None:
        user.name = name.strip()
    changes = audit.pending_changes(user)
    if not changes:
        return user
    audit.record(user, "update", actor=actor, changes=changes)
    if "role" in changes or "active" in changes:
        end_all_sessions(user)
    return user


def list_users():
    return db.session.scalars(sa.select(User).order_by(User.active.desc(), User.name)).all()


def active_users():
    """Everyone who may sign in, by name: the choices of a staff filter."""
    return db.session.scalars(sa.select(User).where(User.active).order_by(User.name)).all()


def owner_candidates(current_owner_id=None):
    """Who a record may be given to: the active users, and its present owner even when
    deactivated, by name."""
    return db.session.scalars(
        sa.select(User)
        .where(sa.or_(User.active.is_(True), User.id == (current_owner_id or 0)))
        .order_by(User.name)
    ).all()


def _role_list():
    return ", ".join(role.value for role in Role)
