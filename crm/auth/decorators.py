"""Role checks for views, and the check that the password was typed recently."""

import time
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.core.security import is_safe_next
from crm.extensions import login_manager

# When the password was last typed in this session (seconds since the epoch). A session that
# Flask-Login restores from the "keep me signed in" cookie starts without it.
AUTH_AT_KEY = "auth_at"


def role_required(role):
    """Allow users whose role includes `role` (admin ⊇ coordinator ⊇ member ⊇ viewer), else 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.has_role(role):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def note_password_typed():
    """Record in the session that the person has just typed their password."""
    session[AUTH_AT_KEY] = int(time.time())


def password_typed_recently():
    typed_at = session.get(AUTH_AT_KEY)
    if not isinstance(typed_at, int):
        return False
    age = time.time() - typed_at
    return 0 <= age <= current_app.config["RECENT_LOGIN_SECONDS"]


def recent_login_required(view):
    """Send the user to confirm their password first unless they typed it within
    RECENT_LOGIN_SECONDS: a session left open on a shared computer, or one restored from the
    remember cookie, is not enough to export or erase personal data or to manage users."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if password_typed_recently():
            return view(*args, **kwargs)
        if current_user.has_password:
            flash(_("Please confirm your password to continue."), "info")
        else:
            # Someone who signs in only through their organisation confirms there instead.
            flash(_("Please confirm it is you to continue."), "info")
        return redirect(url_for("auth.confirm_password", next=_return_path()))

    return wrapped


def _return_path():
    """Where to come back to: this page, or for a form sent from a page, that page (a POST
    cannot be repeated by a redirect)."""
    if request.method in ("GET", "HEAD"):
        target = request.full_path.rstrip("?")
    else:
        referrer = urlsplit(request.referrer or "")
        if referrer.netloc != request.host:
            return None
        target = referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return target if is_safe_next(target) else None
