"""The steps of signing in, whichever way the person proved who they are.

A password (crm/auth/views.py) or an OpenID Connect provider (crm/auth/oidc.py) is the first
step; both hand the user to `begin`. A user with two-factor sign-in must then give a code
from their authenticator app (crm/auth/two_factor.py) before `finish` signs them in; until
then the session holds only who is halfway in, not a signed-in user.
"""

import time

from flask import current_app, flash, redirect, session, url_for
from flask_babel import gettext as _
from flask_login import login_user

from crm.auth.decorators import note_password_typed
from crm.core.security import is_safe_next
from crm.core.types import utcnow
from crm.extensions import db

# {"user": id, "version": session_version, "remember": bool, "method": str, "next": url,
#  "at": seconds since the epoch}: the first step passed, the second not yet.
PENDING_KEY = "pending_sign_in"
# How long the second step may take after the first.
PENDING_SECONDS = 5 * 60


def begin(user, *, method, remember=False, next_url=None):
    """The first step succeeded for `user` (method: "password" or "oidc:<provider key>").

    Answers with the redirect to the second step when the user has one, else signs them in.
    The caller has done its own checks (active user, throttling) and commits nothing itself.
    """
    if user.two_factor_enabled:
        clear_session_keeping_language()
        session[PENDING_KEY] = {
            "user": user.id,
            "version": user.session_version,
            "remember": bool(remember),
            "method": method,
            "next": next_url if is_safe_next(next_url) else None,
            "at": int(time.time()),
        }
        db.session.commit()
        return redirect(url_for("auth.two_factor_login"))
    return finish(user, method=method, remember=remember, next_url=next_url)


def pending_user_id():
    """(user id, pending details) of the person halfway through signing in, or (None, None)
    when there is none or it is older than PENDING_SECONDS or from an ended session."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or not isinstance(pending.get("at"), int):
        return None, None
    if not 0 <= time.time() - pending["at"] <= PENDING_SECONDS:
        session.pop(PENDING_KEY, None)
        return None, None
    return pending.get("user"), pending


def finish(user, *, method, remember=False, next_url=None):
    """Sign `user` in: a fresh session, the last sign-in noted, committed; the redirect onward.

    A user whose role must use two-factor sign-in and who has not enrolled is sent to enrol
    first (crm/auth/two_factor.py keeps them there until they have).
    """
    # A fresh session on sign-in, so nothing from before carries over (session fixation).
    clear_session_keeping_language()
    login_user(user, remember=remember)
    # Either way the person has just proved who they are: sensitive pages need not ask again.
    note_password_typed()
    user.last_login_at = utcnow()
    db.session.commit()
    flash(_("Signed in as %(name)s.", name=user.name), "success")
    if must_enrol_two_factor(user):
        flash(_("Your role requires two-factor sign-in. Set it up to continue."), "info")
        return redirect(url_for("auth.two_factor"))
    return redirect(next_url if is_safe_next(next_url) else url_for("dashboard.index"))


def must_enrol_two_factor(user):
    """True when the user's role is in MFA_REQUIRED_ROLES and they have no second factor."""
    required = current_app.config["MFA_REQUIRED_ROLES"]
    return user.role.value in required and not user.two_factor_enabled


def clear_session_keeping_language():
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
