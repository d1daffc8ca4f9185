"""Single sign-on with OpenID Connect: the providers, and which user a signed-in identity is.

Authlib's Flask client speaks the protocol (crm/auth/oidc_views.py drives it): the provider's
settings from its discovery document (<issuer>/.well-known/openid-configuration), PKCE (S256),
a state and a nonce kept in the session, and the ID token's signature checked against the
provider's published keys, its issuer, audience, expiry and nonce. What this module adds is
the CRM's side: which providers there are (OIDC_PROVIDERS, see config.oidc_providers) and who
the person the provider vouches for is here. The functions below never commit.
"""

from urllib.parse import urlsplit

import sqlalchemy as sa
from authlib.integrations.flask_client import OAuth
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm.auth.models import Role, User, UserIdentity
from crm.auth.services import get_user_by_email, normalise_email
from crm.core import audit
from crm.core.types import utcnow
from crm.extensions import db

# What the CRM asks the provider for: who the person is, their e-mail address and name.
SCOPE = "openid email profile"
# Seconds to wait for the provider (discovery, keys, token) before the sign-in fails: a
# provider that accepts connections but never answers must not hold a worker for ever.
PROVIDER_TIMEOUT_SECONDS = 10
# Where each app keeps its clients: {"providers": the configuration they were made from,
# "registry": Authlib's OAuth registry}.
_EXTENSION = "crm.oidc"

audit.describe_actions({"link_identity": _l("linked a single sign-on account")})


class SignInRefused(Exception):
    """The provider vouched for someone who may not sign in here.

    The message is for the person (it may name their own e-mail address); `reason` is a short
    code for the log, which never gets personal data.
    """

    def __init__(self, message, *, reason):
        super().__init__(message)
        self.reason = reason


def providers():
    """The configured providers, each a dict with key, issuer, client_id, client_secret,
    label (None when the operator gave none) and `button`, the text of its sign-in button."""
    return [_with_button(provider) for provider in current_app.config["OIDC_PROVIDERS"]]


def find_provider(key):
    """The configured provider with this key, or None."""
    return next((entry for entry in providers() if entry["key"] == key), None)


def _with_button(provider):
    host = urlsplit(provider["issuer"]).hostname or provider["issuer"]
    button = provider.get("label") or _("Sign in with %(provider)s", provider=host)
    return {**provider, "button": button}


def client(key):
    """Authlib's client for the provider `key`, made on first use.

    The clients are made from the app's configuration as it is when asked (and made again if
    it has changed, which only tests do), rather than once when the app is made: Authlib's
    registry hands back a client it made earlier under the same name, whatever it is given.
    """
    configured = current_app.config["OIDC_PROVIDERS"]
    state = current_app.extensions.get(_EXTENSION)
    if state is None or state["providers"] != configured:
        state = {"providers": [dict(entry) for entry in configured], "registry": _registry()}
        current_app.extensions[_EXTENSION] = state
    return state["registry"].create_client(_client_name(key))


def _registry():
    registry = OAuth(current_app._get_current_object())
    for entry in current_app.config["OIDC_PROVIDERS"]:
        client_kwargs = {
            "scope": SCOPE,
            "code_challenge_method": "S256",
            "default_timeout": PROVIDER_TIMEOUT_SECONDS,
        }
        if not entry["client_secret"]:
            # A public client: PKCE alone proves the code is ours.
            client_kwargs["token_endpoint_auth_method"] = "none"  # noqa: S105  (no secret)
        registry.register(
            _client_name(entry["key"]),
            client_id=entry["client_id"],
            client_secret=entry["client_secret"] or None,
            server_metadata_url=f"{entry['issuer']}/.well-known/openid-configuration",
            client_kwargs=client_kwargs,
        )
    return registry


def _client_name(key):
    # Authlib also reads settings named <NAME>_CLIENT_ID etc. from the app's config; the
    # prefix keeps a key such as "mail" from picking up a setting that has nothing to do
    # with it.
    return f"oidc_{key}"


def id_token_claims_options(provider, metadata):
    """What Authlib must check the ID token's claims against, besides expiry and nonce.

    Given options, Authlib no longer adds its own check of the issuer; and unasked it checks
    the audience only through `azp`, which lets pass a token for another audience that names
    this client as the party it was issued to. So both are spelled out here.
    """
    return {
        "iss": {"essential": True, "value": metadata["issuer"]},
        "aud": {"essential": True, "value": provider["client_id"]},
    }


def issuer_matches(provider, metadata):
    """The discovery document must name the issuer it was fetched for (OpenID Connect
    Discovery §4.3), or one provider could pass tokens off as another's."""
    issuer = metadata.get("issuer")
    return isinstance(issuer, str) and issuer.rstrip("/") == provider["issuer"]


def user_for_identity(provider, claims, *, auto_create_role=None):
    """The active user the provider's verified ID-token `claims` sign in as; SignInRefused
    when there is none.

    An identity signed in with before is known by its issuer and subject. A new one is matched
    by its e-mail address, only when the provider says it verified that address, to an
    existing user, and linked to them so later sign-ins go by issuer and subject (a changed
    address at the provider then changes nothing here). Unknown people are refused unless
    `auto_create_role` is given: then a user with that role is made for them, without a
    password.
    """
    issuer, subject = claims["iss"], claims["sub"]
    identity = db.session.scalar(
        sa.select(UserIdentity).where(
            UserIdentity.issuer == issuer, UserIdentity.subject == subject
        )
    )
    email = normalise_email(claims.get("email") if isinstance(claims.get("email"), str) else "")
    if identity is not None:
        user = identity.user
        _check_active(user)
        if email and _email_verified(claims):
            identity.email = email
    else:
        user = _user_for_new_identity(claims, email, auto_create_role)
        identity = UserIdentity(
            user=user,
            provider=provider["key"],
            issuer=issuer,
            subject=subject,
            email=email,
        )
        db.session.add(identity)
        audit.record(user, "link_identity", actor=user, changes={"issuer": [None, issuer]})
    identity.last_login_at = utcnow()
    db.session.flush()
    return user


def _user_for_new_identity(claims, email, auto_create_role):
    if not email or "@" not in email:
        raise SignInRefused(
            _(
                "Your organisation's sign-in did not tell us your e-mail address, so we cannot "
                "tell which user you are. Ask an administrator."
            ),
            reason="no_email",
        )
    if not _email_verified(claims):
        raise SignInRefused(
            _(
                "Your organisation's sign-in did not confirm that the e-mail address %(email)s "
                "is yours, so it cannot be used to sign in here. Ask an administrator.",
                email=email,
            ),
            reason="email_not_verified",
        )
    user = get_user_by_email(email)
    if user is not None:
        _check_active(user)
        return user
    if auto_create_role is None:
        raise SignInRefused(
            _(
                "No user of this CRM has the e-mail address %(email)s; ask an administrator "
                "to add you.",
                email=email,
            ),
            reason="unknown_email",
        )
    return _create_user(claims, email, Role(auto_create_role))


def _email_verified(claims):
    # A JSON boolean as the standard says; a few providers send the string "true".
    verified = claims.get("email_verified")
    return verified is True or (isinstance(verified, str) and verified.lower() == "true")


def _check_active(user):
    if not user.active:
        raise SignInRefused(
            _("Your user in this CRM is inactive. Ask an administrator if you need it again."),
            reason="inactive",
        )


def _create_user(claims, email, role):
    """A new user for someone the provider vouches for: no password (they sign in through the
    provider), the name the provider gives, the role OIDC_AUTO_CREATE_ROLE names."""
    if role == Role.ADMIN:  # also refused at start (crm/__init__._check_sign_in_settings)
        raise ValueError("OIDC_AUTO_CREATE_ROLE must never be admin")
    language = claims.get("locale") if isinstance(claims.get("locale"), str) else ""
    user = User(
        email=email,
        name=_name_from(claims, email),
        role=role,
        language="en" if language.lower().startswith("en") else "sv",
    )
    db.session.add(user)
    audit.record(user, "create", actor=None)
    return user


def _name_from(claims, email):
    name = claims.get("name")
    if not isinstance(name, str) or not name.strip():
        parts = [claims.get("given_name"), claims.get("family_name")]
        name = " ".join(part.strip() for part in parts if isinstance(part, str) and part.strip())
    name = " ".join((name or "").split())[:200]
    return name or email.split("@")[0]


def linked_providers(user):
    """The configured providers `user` has signed in with, in the configuration's order."""
    keys = set(
        db.session.scalars(
            sa.select(UserIdentity.provider).where(UserIdentity.user_id == user.id)
        ).all()
    )
    return [entry for entry in providers() if entry["key"] in keys]


def identity_belongs_to(user, claims):
    """True when the provider's `claims` are an identity linked to `user`."""
    return (
        db.session.scalar(
            sa.select(UserIdentity.id).where(
                UserIdentity.user_id == user.id,
                UserIdentity.issuer == claims["iss"],
                UserIdentity.subject == claims["sub"],
            )
        )
        is not None
    )
