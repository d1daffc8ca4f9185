"""Personal API tokens: a program uses the REST API (crm/api) as the token's user, with that
user's permissions, read only or read and write. Never commits.

The token is shown to its holder once, when it is made; only its SHA-256 is stored
(ApiToken.token_hash), so the table alone opens no account, and the hash never goes into the
audit history. A token works until it expires or is revoked, and only while its user is
active. Tokens are revoked, never deleted: the history of what was done through one names it.
"""

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload, selectinload

from crm.auth.models import ApiScope, ApiToken, Role
from crm.core import audit
from crm.core.forms import FieldError
from crm.core.listing import paginate
from crm.core.types import utcnow
from crm.extensions import db

# Every token starts with this, so a token pasted into the wrong place (a log, a chat, a
# repository) is recognised as one of ours, and anything else is turned away unhashed.
RAW_PREFIX = "crm_"
# "crm_" and 43 characters (32 random bytes); anything much longer is not one of ours.
_MAX_RAW_LENGTH = 100
# How much of the token lists show: the prefix and 8 random characters, which tell a
# person's few tokens apart and are no help in guessing the other 35.
PREFIX_LENGTH = 12
NAME_MAX_LENGTH = 100
MAX_DAYS = 3650

audit.describe_actions(
    {
        "create_api_token": _l("created an API token"),
        "revoke_api_token": _l("revoked an API token"),
    }
)
audit.describe_fields(
    "api_tokens",
    {
        "user_id": (_l("User"), "user"),
        "scope": (_l("Access"), ApiScope),
        "prefix": (_l("Starts with"), None),
        "expires_at": (_l("Expires"), "datetime"),
        "revoked_at": (_l("Revoked"), "datetime"),
        "revoked_by_id": (_l("Revoked by"), "user"),
    },
)


def _hash(raw):
    return hashlib.sha256(raw.encode()).hexdigest()


def create_api_token(user, *, name, scope, days=None, actor):
    """A new token for `user`: (the ApiToken, the raw token). The raw token is for the holder's
    eyes once and goes nowhere else.

    `days` None: it never expires. FieldError (field "name", "scope" or "days") for a missing
    or long name, an unknown scope, a viewer asking for write access or a lifetime out of
    1..MAX_DAYS days.
    """
    name = (name or "").strip()
    if not name:
        raise FieldError(_("Enter a name for the token."), field="name")
    if len(name) > NAME_MAX_LENGTH:
        raise FieldError(
            _("The name can be at most %(max)d characters.", max=NAME_MAX_LENGTH), field="name"
        )
    try:
        scope = ApiScope(scope)
    except ValueError:
        raise FieldError(_("Choose read only or read and write."), field="scope") from None
    if scope == ApiScope.WRITE and user.role == Role.VIEWER:
        # A token can do no more than its user; a viewer may change nothing (SPEC §4).
        raise FieldError(
            _("A viewer may only have read-only tokens: viewers cannot change anything."),
            field="scope",
        )
    if days is not None and (
        isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS
    ):
        raise FieldError(
            _("A token can last from 1 to %(max)d days, or never expire.", max=MAX_DAYS),
            field="days",
        )
    now = utcnow()
    raw = RAW_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=_hash(raw),
        prefix=raw[:PREFIX_LENGTH],
        scope=scope,
        created_at=now,
        expires_at=now + timedelta(days=days) if days is not None else None,
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(token)
    # Written out by hand so that nothing secret can slip in: the hash stays out.
    audit.record(
        token,
        "create_api_token",
        actor=actor,
        changes={
            "user_id": [None, user.id],
            "name": [None, name],
            "prefix": [None, token.prefix],
            "scope": [None, scope.value],
            "expires_at": [None, token.expires_at.isoformat() if token.expires_at else None],
        },
    )
    return token, raw


def revoke_api_token(token, *, actor):
    """Make the token stop working at once; a token already revoked is left as it is."""
    if token.is_revoked:
        return token
    token.revoked_at = utcnow()
    token.revoked_by_id = getattr(actor, "id", None)
    audit.record(token, "revoke_api_token", actor=actor)
    return token


def token_for_bearer(raw):
    """The token a request's bearer string stands for, when it may be used now; else None
    (not one of ours, unknown, revoked, expired, or its user inactive), which tells the
    caller nothing about why."""
    if not isinstance(raw, str) or not raw.startswith(RAW_PREFIX) or len(raw) > _MAX_RAW_LENGTH:
        return None
    # The hash is unique, so the lookup is the comparison: no stored secret is compared
    # character by character in Python.
    token = db.session.scalar(
        sa.select(ApiToken)
        .where(ApiToken.token_hash == _hash(raw))
        .options(joinedload(ApiToken.user))
    )
    if token is None or not token.is_usable:
        return None
    return token


def note_token_used(token):
    """Bring the token's last-used time up to date when it is unset or older than
    API_TOKEN_USE_RESOLUTION_SECONDS; True when it changed (the caller commits)."""
    now = utcnow()
    resolution = timedelta(seconds=current_app.config["API_TOKEN_USE_RESOLUTION_SECONDS"])
    if token.last_used_at is not None and now - token.last_used_at < resolution:
        return False
    token.last_used_at = now
    return True


def tokens_of(user):
    """The user's tokens, revoked and expired ones too, newest first."""
    return db.session.scalars(
        sa.select(ApiToken)
        .where(ApiToken.user_id == user.id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    ).all()


def token_of_user_or_none(user, token_id):
    """The user's token with this id, or None: another user's token is as good as unknown."""
    return db.session.scalar(
        sa.select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
    )


def all_tokens_select():
    """Every user's tokens, newest first, with their users loaded for the list."""
    return (
        sa.select(ApiToken)
        .options(selectinload(ApiToken.user))
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )


def all_tokens():
    """A page of every user's tokens, for the administrators' list (?page and ?per_page, as
    every list reads them)."""
    return paginate(all_tokens_select())
