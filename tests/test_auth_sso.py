"""Single sign-on (OpenID Connect) against a real provider process, through the real redirects:
the app sends the browser to the provider, the provider's page is filled in and sends it back
to the app's callback, and the app swaps the code for tokens at the provider itself."""

import logging
import time
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
import requests
import sqlalchemy as sa

from crm.auth.models import Role, User, UserIdentity
from crm.core.models import AuditEntry
from crm.core.types import utcnow
from tests.conftest import TEST_PASSWORD
from tests.oidc_provider import (
    ASTRID,
    BERTIL,
    CLIENT_ID,
    UNVERIFIED,
    Relay,
    closed_port_url,
    with_client_id,
)

LABEL = "Sign in with Region Skåne"
ASTRID_EMAIL = "astrid.lindqvist@example.org"
BERTIL_EMAIL = "bertil.nyberg@example.org"


@pytest.fixture
def sso(app, oidc_provider):
    """The app with the test provider configured as its one provider, "default"."""
    app.config["OIDC_PROVIDERS"] = [oidc_provider.settings(label=LABEL)]
    return oidc_provider


def use_provider(app, *providers):
    app.config["OIDC_PROVIDERS"] = list(providers)


def start(client, key="default", *, next_url=None):
    """Press the provider's button on /login: the address of the provider's page."""
    query = {"next": next_url} if next_url else {}
    response = client.get(f"/login/sso/{key}", query_string=query)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def sign_in_through(client, provider, sub, key="default", *, next_url=None):
    """The whole round trip; the app's answer at its callback (not followed)."""
    callback = provider.authorize(start(client, key, next_url=next_url), sub)
    return client.get(callback)


def dashboard_html(client):
    """The dashboard's page, or None when not signed in."""
    response = client.get("/dashboard/")
    if response.status_code != 200:
        return None
    return response.get_data(as_text=True)


def page_after(client, response):
    assert response.status_code == 302
    return client.get(response.headers["Location"]).get_data(as_text=True)


def identities(db):
    return db.session.scalars(sa.select(UserIdentity).order_by(UserIdentity.id)).all()


def audit_actions(db, user):
    return [
        entry.action
        for entry in db.session.scalars(
            sa.select(AuditEntry).where(
                AuditEntry.entity_type == "users", AuditEntry.entity_id == user.id
            )
        )
    ]


def use_english(client):
    client.post("/language/en?next=/")


def path_of(response):
    assert response.status_code == 302, response.status_code
    return urlsplit(response.headers["Location"]).path


# --- Signing in -------------------------------------------------------------------------


def test_login_page_shows_the_providers_button_and_keeps_the_password_form(client, sso):
    use_english(client)

    html = client.get("/login?next=/organisations/").get_data(as_text=True)

    assert LABEL in html
    assert 'href="/login/sso/default?next=/organisations/"' in html
    assert 'name="password"' in html


def test_the_provider_is_sent_the_state_nonce_pkce_and_our_callback(client, sso):
    url = start(client)

    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}" == sso.url
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == "http://localhost/login/sso/default/callback"
    assert query["response_type"] == "code"
    assert set(query["scope"].split()) == {"openid", "email", "profile"}
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) >= 43
    assert len(query["state"]) >= 20
    assert len(query["nonce"]) >= 20


def test_a_known_user_signs_in_and_their_identity_is_linked(client, db, make_user, sso):
    # The provider has the address with capitals; the CRM keeps it in lower case.
    astrid = make_user("member", email=ASTRID_EMAIL, name="Astrid Lindqvist")

    response = sign_in_through(client, sso, ASTRID["sub"])

    assert path_of(response) == "/dashboard/"
    assert "Astrid Lindqvist" in dashboard_html(client)
    [identity] = identities(db)
    assert identity.user_id == astrid.id
    assert (identity.provider, identity.issuer, identity.subject) == (
        "default",
        sso.issuer,
        ASTRID["sub"],
    )
    assert identity.email == ASTRID_EMAIL
    assert identity.last_login_at is not None
    assert db.session.get(User, astrid.id).last_login_at is not None
    assert "link_identity" in audit_actions(db, astrid)


def test_a_linked_identity_is_used_again_even_after_the_address_changes(client, db, make_user, sso):
    sub = "dora-0004"
    sso.put_user(sub, email="dora.ek@example.org", email_verified=True, name="Dora Ek")
    dora = make_user("member", email="dora.ek@example.org", name="Dora Ek")
    assert path_of(sign_in_through(client, sso, sub)) == "/dashboard/"
    client.post("/logout")
    # Dora marries and her organisation changes her address; the CRM still has the old one.
    sso.put_user(sub, email="dora.lund@example.org", email_verified=True, name="Dora Lund")

    response = sign_in_through(client, sso, sub)

    assert path_of(response) == "/dashboard/"
    assert "Dora Ek" in dashboard_html(client)
    [identity] = identities(db)
    assert identity.user_id == dora.id
    assert identity.email == "dora.lund@example.org"
    assert audit_actions(db, dora).count("link_identity") == 1


def test_next_is_kept_through_the_round_trip(client, make_user, sso):
    make_user("member", email=ASTRID_EMAIL)

    response = sign_in_through(client, sso, ASTRID["sub"], next_url="/organisations/?q=x")

    assert response.headers["Location"] == "/organisations/?q=x"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil"])
def test_an_unsafe_next_is_dropped(client, make_user, sso, target):
    make_user("member", email=ASTRID_EMAIL)

    response = sign_in_through(client, sso, ASTRID["sub"], next_url=target)

    assert path_of(response) == "/dashboard/"
    assert urlsplit(response.headers["Location"]).netloc in ("", "localhost")


@pytest.mark.fresh_app
def test_two_factor_is_still_asked_after_single_sign_on(app, client, db, make_user, sso):
    astrid = make_user("member", email=ASTRID_EMAIL)
    astrid.totp_secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    astrid.totp_enabled_at = utcnow()
    db.session.commit()

    response = sign_in_through(client, sso, ASTRID["sub"])

    assert path_of(response) == "/login/two-factor"
    assert dashboard_html(client) is None
    with client.session_transaction() as session:
        assert session["pending_sign_in"]["user"] == astrid.id
        assert session["pending_sign_in"]["method"] == "oidc:default"

    # The code from the authenticator app completes it.
    code = pyotp.TOTP("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP").now()
    assert path_of(client.post("/login/two-factor", data={"code": code})) == "/dashboard/"
    assert dashboard_html(client) is not None


# --- Who may sign in --------------------------------------------------------------------


def test_an_unknown_identity_is_refused_with_a_clear_message(client, db, sso, caplog):
    use_english(client)
    users_before = db.session.scalar(sa.select(sa.func.count()).select_from(User))

    with caplog.at_level(logging.INFO):
        response = sign_in_through(client, sso, BERTIL["sub"])

    assert path_of(response) == "/login"
    assert (
        f"No user of this CRM has the e-mail address {BERTIL_EMAIL}; ask an administrator"
        in page_after(client, response)
    )
    assert dashboard_html(client) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == users_before
    assert identities(db) == []
    # The log says why, without saying who.
    assert "unknown_email" in caplog.text
    assert BERTIL_EMAIL not in caplog.text and "Bertil" not in caplog.text


@pytest.mark.config(OIDC_AUTO_CREATE_ROLE="viewer")
def test_an_unknown_identity_becomes_a_user_with_oidc_auto_create_role(client, db, sso):
    response = sign_in_through(client, sso, BERTIL["sub"])

    assert path_of(response) == "/dashboard/"
    bertil = db.session.scalar(sa.select(User).where(User.email == BERTIL_EMAIL))
    assert bertil.role == Role.VIEWER
    assert bertil.name == "Bertil Nyberg"
    assert not bertil.has_password
    assert bertil.active
    assert "Bertil Nyberg" in dashboard_html(client)
    [identity] = identities(db)
    assert identity.user_id == bertil.id
    assert audit_actions(db, bertil) == ["create", "link_identity"]


@pytest.mark.config(OIDC_AUTO_CREATE_ROLE="viewer")
def test_auto_create_still_needs_a_verified_address(client, db, sso):
    response = sign_in_through(client, sso, UNVERIFIED["sub"])

    assert path_of(response) == "/login"
    assert db.session.scalar(sa.select(User).where(User.email == UNVERIFIED["email"])) is None


def test_an_address_the_provider_has_not_verified_is_refused(client, db, make_user, sso):
    use_english(client)
    make_user("member", email=UNVERIFIED["email"])

    response = sign_in_through(client, sso, UNVERIFIED["sub"])

    assert path_of(response) == "/login"
    assert "did not confirm that the e-mail address cecilia.holm@example.org is yours" in (
        page_after(client, response)
    )
    assert dashboard_html(client) is None
    assert identities(db) == []


def test_an_address_without_email_verified_is_refused(client, db, make_user, sso):
    # The provider signs in an unknown subject with only an `email` claim, no email_verified.
    make_user("member", email="erik.sand@example.org")

    response = sign_in_through(client, sso, "erik.sand@example.org")

    assert path_of(response) == "/login"
    assert dashboard_html(client) is None
    assert identities(db) == []


def test_an_inactive_user_is_refused(client, db, make_user, sso):
    use_english(client)
    make_user("member", email=ASTRID_EMAIL, active=False)

    response = sign_in_through(client, sso, ASTRID["sub"])

    assert path_of(response) == "/login"
    assert "Your user in this CRM is inactive" in page_after(client, response)
    assert dashboard_html(client) is None
    assert identities(db) == []


def test_a_linked_identity_of_a_user_made_inactive_is_refused(client, db, make_user, sso):
    astrid = make_user("member", email=ASTRID_EMAIL)
    sign_in_through(client, sso, ASTRID["sub"])
    client.post("/logout")
    astrid = db.session.get(User, astrid.id)
    astrid.active = False
    db.session.commit()

    response = sign_in_through(client, sso, ASTRID["sub"])

    assert path_of(response) == "/login"
    assert dashboard_html(client) is None


# --- What the app checks itself -----------------------------------------------------------


def test_a_changed_state_is_refused(client, make_user, sso):
    use_english(client)
    make_user("member", email=ASTRID_EMAIL)
    callback = sso.authorize(start(client), ASTRID["sub"])
    state = parse_qs(urlsplit(callback).query)["state"][0]

    response = client.get(callback.replace(f"state={state}", "state=forged-state"))

    assert path_of(response) == "/login"
    assert "started in another window or browser" in page_after(client, response)
    assert dashboard_html(client) is None


def test_a_state_authlib_does_not_know_is_refused(client, make_user, sso):
    """The app's own record of the round trip matches, but Authlib's (its state, nonce and
    PKCE verifier) is gone: Authlib's state check refuses it."""
    make_user("member", email=ASTRID_EMAIL)
    callback = sso.authorize(start(client), ASTRID["sub"])
    with client.session_transaction() as session:
        [authlib_key] = [key for key in session if key.startswith("_state_oidc_default_")]
        del session[authlib_key]

    response = client.get(callback)

    assert path_of(response) == "/login"
    assert dashboard_html(client) is None


def test_a_callback_without_a_sign_in_started_is_refused(client, sso):
    response = client.get("/login/sso/default/callback?code=abc&state=def")

    assert path_of(response) == "/login"
    assert dashboard_html(client) is None


def test_the_providers_answer_works_once(client, make_user, sso):
    """The round trip ends with the first answer: sent again (a replay), it is refused."""
    make_user("member", email=ASTRID_EMAIL)
    callback = sso.authorize(start(client), ASTRID["sub"])
    assert path_of(client.get(callback)) == "/dashboard/"
    client.post("/logout")

    response = client.get(callback)

    assert path_of(response) == "/login"
    assert dashboard_html(client) is None


def test_a_changed_nonce_is_refused(client, make_user, sso, caplog):
    use_english(client)
    make_user("member", email=ASTRID_EMAIL)
    callback = sso.authorize(start(client), ASTRID["sub"])
    # The nonce Authlib kept in the session is not the one in the ID token any more.
    with client.session_transaction() as session:
        [authlib_key] = [key for key in session if key.startswith("_state_oidc_default_")]
        kept = session[authlib_key]
        kept["data"]["nonce"] = "another-nonce"
        session[authlib_key] = kept

    with caplog.at_level(logging.WARNING):
        response = client.get(callback)

    assert path_of(response) == "/login"
    assert "could not be verified" in page_after(client, response)
    assert dashboard_html(client) is None
    assert "nonce" in caplog.text


def test_a_provider_that_denies_the_sign_in(client, sso):
    use_english(client)
    url = start(client)
    answer = sso_deny(url)

    response = client.get(answer)

    assert path_of(response) == "/login"
    assert "cancelled or refused" in page_after(client, response)


def sso_deny(authorization_url):
    answer = requests.post(
        authorization_url, data={"action": "deny"}, allow_redirects=False, timeout=10
    )
    assert answer.status_code == 302
    assert "error=access_denied" in answer.headers["Location"]
    return answer.headers["Location"]


@pytest.mark.parametrize(
    ("spoil", "logged"),
    [("signature", "BadSignatureError"), ("issuer", "'iss'"), ("audience", "'aud'")],
)
def test_a_token_that_does_not_verify_is_refused(
    app, client, db, make_user, relay, spoil, logged, caplog
):
    use_english(client)
    use_provider(app, relay.settings())
    make_user("member", email=ASTRID_EMAIL)
    url = start(client)
    if spoil == "audience":
        # A code for another application: the provider issues its ID token to that one.
        url = with_client_id(url, Relay.OTHER_CLIENT_ID)
    callback = relay.authorize(url, ASTRID["sub"])
    relay.spoil = spoil

    with caplog.at_level(logging.WARNING):
        response = client.get(callback)

    assert path_of(response) == "/login"
    assert "could not be verified" in page_after(client, response)
    assert dashboard_html(client) is None
    assert identities(db) == []
    assert logged in caplog.text


def test_the_relay_itself_spoils_nothing_unless_told(app, client, make_user, relay):
    use_provider(app, relay.settings())
    make_user("member", email=ASTRID_EMAIL, name="Astrid Lindqvist")

    response = sign_in_through(client, relay, ASTRID["sub"])

    assert path_of(response) == "/dashboard/"
    assert "Astrid Lindqvist" in dashboard_html(client)


def test_an_expired_id_token_is_refused(app, client, make_user, expired_oidc_provider, caplog):
    use_provider(app, expired_oidc_provider.settings())
    make_user("member", email=ASTRID_EMAIL)

    with caplog.at_level(logging.WARNING):
        response = sign_in_through(client, expired_oidc_provider, ASTRID["sub"])

    assert path_of(response) == "/login"
    assert dashboard_html(client) is None
    assert "ExpiredTokenError" in caplog.text


def test_a_provider_that_is_down(app, client):
    use_english(client)
    down = {
        "key": "default",
        "issuer": closed_port_url(),
        "client_id": CLIENT_ID,
        "client_secret": "",
        "label": LABEL,
    }
    use_provider(app, down)

    response = client.get("/login/sso/default")

    assert path_of(response) == "/login"
    html = page_after(client, response)
    assert "could not be reached" in html
    assert LABEL in html and 'name="password"' in html


def test_an_unknown_provider_is_not_found(client, sso):
    assert client.get("/login/sso/nonesuch").status_code == 404
    assert client.get("/login/sso/nonesuch/callback?code=a&state=b").status_code == 404


# --- Several providers ------------------------------------------------------------------


def test_two_providers_two_buttons_each_signing_in(
    app, client, db, make_user, oidc_provider, relay
):
    use_english(client)
    use_provider(app, oidc_provider.settings("skane", label=LABEL), relay.settings("ki"))
    astrid = make_user("member", email=ASTRID_EMAIL)

    html = client.get("/login").get_data(as_text=True)
    assert LABEL in html
    # Without OIDC_LABEL_KI the button names the provider's host.
    assert "Sign in with 127.0.0.1" in html
    assert 'href="/login/sso/skane"' in html and 'href="/login/sso/ki"' in html

    assert path_of(sign_in_through(client, relay, ASTRID["sub"], "ki")) == "/dashboard/"
    client.post("/logout")
    assert path_of(sign_in_through(client, oidc_provider, ASTRID["sub"], "skane")) == "/dashboard/"
    assert [(identity.provider, identity.user_id) for identity in identities(db)] == [
        ("ki", astrid.id),
        ("skane", astrid.id),
    ]


# --- PASSWORD_LOGIN=off -----------------------------------------------------------------


def _linked(client, sso, make_user, **fields):
    user = make_user("admin" if fields.pop("admin", False) else "member", **fields)
    assert path_of(sign_in_through(client, sso, ASTRID["sub"])) == "/dashboard/"
    client.post("/logout")
    return user


@pytest.mark.config(PASSWORD_LOGIN="off")
def test_password_login_off_refuses_a_user_with_a_linked_identity(client, make_user, sso):
    astrid = _linked(client, sso, make_user, email=ASTRID_EMAIL)
    use_english(client)

    right = client.post("/login", data={"email": astrid.email, "password": TEST_PASSWORD})

    assert right.status_code == 200
    html = right.get_data(as_text=True)
    assert "Signing in with a password is turned off for you" in html
    assert f"use the button “{LABEL}”" in html
    assert dashboard_html(client) is None

    # A wrong password gets the answer everyone gets: nothing about single sign-on.
    wrong = client.post("/login", data={"email": astrid.email, "password": "not it at all"})
    assert "Wrong e-mail or password" in wrong.get_data(as_text=True)
    assert "turned off" not in wrong.get_data(as_text=True)


@pytest.mark.config(PASSWORD_LOGIN="off")
def test_password_login_off_keeps_passwords_for_users_without_an_identity(client, make_user, sso):
    other = make_user("member")

    response = client.post("/login", data={"email": other.email, "password": TEST_PASSWORD})

    assert path_of(response) == "/dashboard/"


def test_password_login_on_lets_a_linked_user_use_their_password(client, make_user, sso):
    astrid = _linked(client, sso, make_user, email=ASTRID_EMAIL)

    response = client.post("/login", data={"email": astrid.email, "password": TEST_PASSWORD})

    assert path_of(response) == "/dashboard/"


# --- Confirming who you are through the provider -------------------------------------------


def _confirmation_needed(client):
    with client.session_transaction() as session:
        session["auth_at"] = int(time.time() - 60 * 60)


def _sso_only_admin(client, db, make_user, sso):
    admin = make_user("admin", email=ASTRID_EMAIL, name="Astrid Lindqvist")
    admin.password_hash = None
    db.session.commit()
    use_english(client)
    assert path_of(sign_in_through(client, sso, ASTRID["sub"])) == "/dashboard/"
    _confirmation_needed(client)
    return admin


def test_a_user_without_a_password_confirms_through_the_provider(client, db, make_user, sso):
    _sso_only_admin(client, db, make_user, sso)

    to_confirm = client.get("/admin/users/new")
    assert path_of(to_confirm) == "/account/confirm"
    page = client.get(to_confirm.headers["Location"]).get_data(as_text=True)
    assert 'name="password"' not in page
    # Not asked for a password they do not have.
    assert "Please confirm it is you to continue." in page
    assert "confirm your password" not in page
    assert 'href="/account/confirm/sso/default?next=/admin/users/new"' in page

    going = client.get("/account/confirm/sso/default?next=/admin/users/new")
    assert path_of(going).endswith("/oauth2/authorize")
    query = parse_qs(urlsplit(going.headers["Location"]).query)
    assert query["prompt"] == ["login"] and query["max_age"] == ["0"]
    back = client.get(sso.authorize(going.headers["Location"], ASTRID["sub"]))

    assert back.headers["Location"] == "/admin/users/new"
    assert client.get("/admin/users/new").status_code == 200


def test_confirming_as_someone_else_is_refused(client, db, make_user, sso):
    _sso_only_admin(client, db, make_user, sso)
    make_user("member", email=BERTIL_EMAIL)

    going = client.get("/account/confirm/sso/default?next=/admin/users/new")
    back = client.get(sso.authorize(going.headers["Location"], BERTIL["sub"]))

    assert path_of(back) == "/account/confirm"
    assert "another account" in page_after(client, back)
    assert path_of(client.get("/admin/users/new")) == "/account/confirm"
    # Still signed in as herself.
    assert "Astrid Lindqvist" in dashboard_html(client)


def test_a_password_typed_by_a_user_without_one_confirms_nothing(client, db, make_user, sso):
    _sso_only_admin(client, db, make_user, sso)

    client.post("/account/confirm?next=/admin/users/new", data={"password": TEST_PASSWORD})

    assert path_of(client.get("/admin/users/new")) == "/account/confirm"


@pytest.mark.config(PASSWORD_LOGIN="off")
def test_password_login_off_confirms_through_the_provider_too(client, make_user, sso):
    astrid = _linked(client, sso, make_user, email=ASTRID_EMAIL, admin=True)
    assert path_of(sign_in_through(client, sso, ASTRID["sub"])) == "/dashboard/"
    _confirmation_needed(client)

    page = client.get("/account/confirm?next=/admin/users/new").get_data(as_text=True)
    client.post("/account/confirm?next=/admin/users/new", data={"password": TEST_PASSWORD})

    assert 'name="password"' not in page
    assert "/account/confirm/sso/default" in page
    assert path_of(client.get("/admin/users/new")) == "/account/confirm"
    assert astrid.has_password


def test_a_user_with_a_password_and_an_identity_may_confirm_either_way(client, make_user, sso):
    _linked(client, sso, make_user, email=ASTRID_EMAIL, admin=True)
    assert path_of(sign_in_through(client, sso, ASTRID["sub"])) == "/dashboard/"
    _confirmation_needed(client)

    page = client.get("/account/confirm?next=/admin/users/new").get_data(as_text=True)

    assert 'name="password"' in page
    assert "/account/confirm/sso/default" in page


# --- Rate limits ------------------------------------------------------------------------


@pytest.mark.config(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
def test_the_callback_is_rate_limited_like_the_password_form(client, sso):
    answers = [
        client.get("/login/sso/default/callback?code=guess&state=guess").status_code
        for _ in range(4)
    ]

    assert answers == [302, 302, 302, 429]
