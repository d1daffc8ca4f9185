"""Who an API request acts as: the user of its bearer token, never the session cookie.

The API's paths are served without a session (crm/core/sessions.py), so a browser's cookie
is never read there: a page elsewhere cannot make a signed-in person's browser call the API,
which is why the API needs no CSRF token. Each request names its token in the Authorization
header; the token's user is then the request's `current_user`, and every permission check
of the pages applies to it unchanged. A read-only token may only read.
"""

from functools import wraps

from flask import current_app, g, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from crm.api.problems import Problem
from crm.auth import api_tokens
from crm.auth.models import Role
from crm.core import audit
from crm.extensions import db, login_manager

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

MISSING = _l("Send your API token in the Authorization header: Authorization: Bearer <token>.")
REFUSED = _l("The API token is not valid: unknown, revoked or expired, or its user is inactive.")
READ_ONLY = _l("This token may only read. Create a read-and-write token to make changes.")


def authenticate():
    """before_request of every API blueprint, and the first of the app's hooks for them."""
    # Flask-Login keeps the request's user in g._login_user and loads it from the session
    # only when that is unset; setting it here, before anything asks for current_user, is
    # what makes the token (and nothing else) the request's identity.
    g._login_user = login_manager.anonymous_user()
    scheme, _space, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise Problem(401, MISSING)
    token = api_tokens.token_for_bearer(raw.strip())
    if token is None:
        raise Problem(401, REFUSED, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    g._login_user = token.user
    g.api_token = token
    if request.method not in READ_METHODS and not token.allows_write:
        raise Problem(
            403, READ_ONLY, headers={"WWW-Authenticate": 'Bearer error="insufficient_scope"'}
        )
    audit.act_through_token(token.name)
    if api_tokens.note_token_used(token):
        # Its own small transaction, once per API_TOKEN_USE_RESOLUTION_SECONDS at most.
        db.session.commit()


def current_token():
    return g.get("api_token")


def rate_limit():
    return current_app.config["API_RATE_LIMIT"]


def rate_limit_key():
    token = g.get("api_token")
    return f"api-token:{token.id}" if token is not None else f"api-ip:{request.remote_addr}"


def record_first(load):
    """Look the operation's record up before its body is read: a record the user may not
    read is not found (404) whatever was sent, as on its page, rather than refused for
    the body. `load(**path_arguments)` raises the 404."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            load(**kwargs)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def lists_deleted(args):
    """Whether a list asks for the deleted records (?deleted=true): coordinators and admins
    only, as the lists' switch to deleted records, and 403 for anyone else."""
    deleted = bool(args.get("deleted"))
    if deleted and not current_user.has_role(Role.COORDINATOR):
        raise Problem(403)
    return deleted
