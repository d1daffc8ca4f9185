"""Signing in, and confirming who you are, through an OpenID Connect provider.

/login/sso/<key> sends the person to the provider; the provider sends them back to
/login/sso/<key>/callback (the redirect URI the operator registers there, at PUBLIC_URL).
The same callback ends a confirmation started from /account/confirm (see
recent_login_required) by users who do not sign in with a password. Whatever goes wrong on
the way (a state that does not match, an error from the provider, a provider that cannot be
reached, a token that does not verify) ends on the sign-in or confirmation page with a message
saying so, never an error page; the log says what happened, without personal data.
"""

import re
import time

import requests
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from flask import abort, current_app, flash, redirect, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from joserfc.errors import JoseError

from crm.auth import bp, oidc, signin
from crm.auth.decorators import note_password_typed
from crm.core.links import external_url
from crm.core.security import is_safe_next, public_route
from crm.extensions import db, limiter

# The round trip under way in this session: {"provider": key, "state": the state sent to the
# provider, "purpose": "sign_in" or "confirm", "next": where to go afterwards}.
FLOW_KEY = "oidc_flow"
SIGN_IN, CONFIRM = "sign_in", "confirm"
# A confirmation must come from a sign-in at the provider this recent (seconds), when the
# provider says when that was (auth_time).
CONFIRM_MAX_AGE_SECONDS = 5 * 60


def _login_rate_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login/sso/<key>")
@public_route
@limiter.limit(_login_rate_limit)
def oidc_login(key):
    """Public: off to the provider `key` to sign in."""
    provider = _provider_or_404(key)
    next_url = request.args.get("next")
    if current_user.is_authenticated:
        return redirect(next_url if is_safe_next(next_url) else url_for("dashboard.index"))
    return _redirect_to_provider(provider, purpose=SIGN_IN, next_url=next_url)


@bp.route("/account/confirm/sso/<key>")
@limiter.limit(_login_rate_limit)
def oidc_confirm(key):
    """Off to the provider to prove again who you are, for a page that asks for it."""
    provider = _provider_or_404(key)
    # Sign in again there (prompt=login), however recently the provider last asked (max_age=0).
    return _redirect_to_provider(
        provider,
        purpose=CONFIRM,
        next_url=request.args.get("next"),
        prompt="login",
        max_age="0",
    )


@bp.route("/login/sso/<key>/callback")
@public_route
@limiter.limit(_login_rate_limit)
def oidc_callback(key):
    """Public: where the provider sends the person back, with a code or an error."""
    provider = _provider_or_404(key)
    flow = session.pop(FLOW_KEY, None)
    if not isinstance(flow, dict):
        flow = {}
    purpose = CONFIRM if flow.get("purpose") == CONFIRM else SIGN_IN
    next_url = flow.get("next") if is_safe_next(flow.get("next")) else None
    error = request.args.get("error")
    if error:
        # The provider's "no" (the person cancelled, or may not use this application). It signs
        # nobody in, so it needs no state to be believed (and some providers send none).
        _log_failure(key, f"the provider answered error={_printable(error)}")
        return _back(purpose, next_url, _cancelled_message())
    state = request.args.get("state")
    # Authlib checks the state too (below); this also ties the answer to the one round trip
    # this session started, so its purpose and `next` are the ones that go with it.
    if not state or flow.get("provider") != key or flow.get("state") != state:
        _log_failure(key, "the state does not match a sign-in started in this session")
        return _back(purpose, next_url, _state_message())
    try:
        claims = _verified_claims(provider)
    except _Failure as failure:
        return _back(purpose, next_url, failure.message)
    if purpose == CONFIRM:
        return _confirmed(key, claims, next_url)
    try:
        user = oidc.user_for_identity(
            provider, claims, auto_create_role=current_app.config["OIDC_AUTO_CREATE_ROLE"]
        )
    except oidc.SignInRefused as refusal:
        db.session.rollback()
        current_app.logger.info("Single sign-on (%s): sign-in refused (%s)", key, refusal.reason)
        return _back(SIGN_IN, next_url, str(refusal))
    return signin.begin(user, method=f"oidc:{key}", next_url=next_url)


def _provider_or_404(key):
    provider = oidc.find_provider(key)
    if provider is None:
        abort(404)
    return provider


def _redirect_to_provider(provider, *, purpose, next_url, **params):
    key = provider["key"]
    next_url = next_url if is_safe_next(next_url) else None
    client = oidc.client(key)
    redirect_uri = external_url("auth.oidc_callback", key=key)
    try:
        # Reads the discovery document (once per process), then makes the state, the nonce
        # and the PKCE verifier.
        authorization = client.create_authorization_url(
            redirect_uri, ui_locales=str(get_locale() or ""), **params
        )
    except Exception as error:  # noqa: BLE001  (whatever it is, the provider is not usable)
        _log_failure(key, _describe(error), unexpected=not _expected(error))
        return _back(purpose, next_url, _unreachable_message())
    url = authorization.pop("url")
    # What Authlib needs back at the callback (state, nonce, PKCE verifier, redirect URI),
    # kept in the session as its authorize_redirect does.
    client.save_authorize_data(redirect_uri=redirect_uri, **authorization)
    session[FLOW_KEY] = {
        "provider": key,
        "state": authorization["state"],
        "purpose": purpose,
        "next": next_url,
    }
    return redirect(url)


class _Failure(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


def _verified_claims(provider):
    """The claims of the provider's ID token for this callback, checked; _Failure if not."""
    key = provider["key"]
    client = oidc.client(key)
    try:
        metadata = client.load_server_metadata()
        if not oidc.issuer_matches(provider, metadata):
            _log_failure(key, "the discovery document names another issuer")
            raise _Failure(_unverified_message())
        # Swaps the code for the tokens (with the PKCE verifier), and checks the ID token:
        # its signature against the provider's keys (JWKS), issuer, audience, expiry, and the
        # nonce kept in the session.
        token = client.authorize_access_token(
            claims_options=oidc.id_token_claims_options(provider, metadata)
        )
    except _Failure:
        raise
    except MismatchingStateError as error:
        _log_failure(key, _describe(error))
        raise _Failure(_state_message()) from error
    except OAuthError as error:
        _log_failure(key, _describe(error))
        raise _Failure(_unverified_message()) from error
    except requests.RequestException as error:
        _log_failure(key, _describe(error))
        raise _Failure(_unreachable_message()) from error
    except Exception as error:  # noqa: BLE001  (a token that does not verify, or worse)
        _log_failure(key, _describe(error), unexpected=not _expected(error))
        raise _Failure(_unverified_message()) from error
    claims = token.get("userinfo")
    if not claims or not claims.get("sub") or not claims.get("iss"):
        _log_failure(key, "the provider sent no ID token")
        raise _Failure(_unverified_message())
    return claims


def _confirmed(key, claims, next_url):
    """The end of a confirmation: the provider must have signed in the same person, now."""
    if not current_user.is_authenticated:
        flash(_("Please sign in to see this page."), "info")
        return redirect(url_for("auth.login", next=next_url))
    if not oidc.identity_belongs_to(current_user, claims):
        _log_failure(key, "confirmation by an identity not linked to the signed-in user")
        return _back(
            CONFIRM,
            next_url,
            _(
                "Your organisation signed in another account than the one you use here. "
                "Sign in there as yourself to confirm."
            ),
        )
    auth_time = claims.get("auth_time")
    # Providers that honour max_age=0 say when they asked (auth_time); one that does not say
    # was still asked to sign the person in again (prompt=login).
    if isinstance(auth_time, int | float) and time.time() - auth_time > CONFIRM_MAX_AGE_SECONDS:
        _log_failure(key, "confirmation without a fresh sign-in at the provider")
        return _back(
            CONFIRM,
            next_url,
            _(
                "Your organisation did not ask you to sign in again, so this could not be "
                "confirmed. Try again."
            ),
        )
    note_password_typed()
    return redirect(next_url or url_for("dashboard.index"))


def _back(purpose, next_url, message):
    flash(message, "error")
    if purpose == CONFIRM and current_user.is_authenticated:
        return redirect(url_for("auth.confirm_password", next=next_url))
    return redirect(url_for("auth.login", next=next_url))


# Errors that mean the provider or its answer is not usable: not a fault of ours.
_EXPECTED_ERRORS = (OAuthError, JoseError, requests.RequestException, ValueError, KeyError)


def _expected(error):
    return isinstance(error, _EXPECTED_ERRORS)


def _describe(error):
    # The type and Authlib's or requests' own words: an error code, a claim's name, a URL of
    # the provider. Never the token's claims, which hold the person's name and address.
    return f"{type(error).__name__}: {error}"


def _printable(text):
    # What a visitor typed into the URL goes into the log only as letters, digits and _ - .
    return re.sub(r"[^A-Za-z0-9_.-]", "?", text[:100])


def _log_failure(key, detail, *, unexpected=False):
    current_app.logger.warning("Single sign-on (%s) failed: %s", key, detail, exc_info=unexpected)


def _state_message():
    return _(
        "The sign-in could not be completed: it was started in another window or browser, or "
        "took too long. Please try again."
    )


def _cancelled_message():
    return _("The sign-in was cancelled or refused by your organisation's sign-in service.")


def _unreachable_message():
    return _(
        "Your organisation's sign-in service could not be reached or did not answer properly. "
        "Try again in a while, or sign in another way."
    )


def _unverified_message():
    return _(
        "The answer from your organisation's sign-in service could not be verified, so you "
        "were not signed in. Try again; if it happens again, tell an administrator."
    )
