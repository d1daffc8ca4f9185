"""Users: creation, sign-in checks, passwords, roles and sessions. Never commits."""

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from crm.auth.models import MIN_PASSWORD_LENGTH, Role, User
from crm.core import audit
from crm.core.types import utcnow
from crm.extensions import db

MAX_PASSWORD_LENGTH = 256
# Checked against when the e-mail is unknown, so a wrong e-mail costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password-just-for-timing")


class UserError(ValueError):
    """A user could not be created or changed; the message is shown to the person."""


def normalise_email(email):
    return (email or "").strip().lower()


def password_problem(password):
    """A translated reason the password is unacceptable, or None."""
    from flask_babel import gettext as _

    if len(password or "") < MIN_PASSWORD_LENGTH:
        return _(
            "The password must be at least %(count)d characters long.", count=MIN_PASSWORD_LENGTH
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        return _(
            "The password must be at most %(count)d characters long.", count=MAX_PASSWORD_LENGTH
        )
    return None


def get_user_by_email(email):
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def load_user_from_session(session_id):
    """Flask-Login's loader: the id carries the session version, so ended sessions stay ended."""
    user_id, _, version = (session_id or "").partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def create_user(*, email, name, role, password, actor=None, language="sv"):
    from flask_babel import gettext as _

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
    problem = password_problem(password)
    if problem:
        raise UserError(problem)
    user = User(
        email=email,
        name=(name or "").strip() or email.split("@")[0],
        role=role,
        language=language,
        created_by_id=getattr(actor, "id", None),
        password_changed_at=utcnow(),
    )
    user.set_password(password)
    db.session.add(user)
    audit.record(user, "create", actor=actor)
    return user


def authenticate(email, password):
    """The user these credentials belong to, or None. Counts failures and locks the account."""
    user = get_user_by_email(email)
    now = utcnow()
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if user.locked_until is not None and user.locked_until > now:
        return None
    if not user.check_password(password or ""):
        user.failed_logins += 1
        if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
            user.locked_until = now + timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])
            user.failed_logins = 0
        return None
    if not user.active:
        return None
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    return user


def end_all_sessions(user):
    """Every session of this user, on every device, stops working at its next request."""
    user.session_version += 1


def change_password(user, new_password, *, actor):
    problem = password_problem(new_password)
    if problem:
        raise UserError(problem)
    user.set_password(new_password)
    user.password_changed_at = utcnow()
    audit.record(user, "change_password", actor=actor)
    end_all_sessions(user)


def update_user(user, *, role=None, active=None, name=None, actor):
    """Change role, active flag or name; taking rights away ends the user's sessions."""
    from flask_babel import gettext as _

    if (
        actor is not None
        and user.id == actor.id
        and ((role is not None and Role(role) != user.role) or active is False)
    ):
        raise UserError(_("You cannot change your own role or deactivate yourself."))
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


def _role_list():
    return ", ".join(role.value for role in Role)
