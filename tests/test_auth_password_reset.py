"""A forgotten password: /password/forgot sends a reset link (single use, RESET_HOURS) with the
same answer whether or not the address has an account, rate limited and capped per user; an
admin can send one from the user's page; choosing the new password ends every session."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from crm.auth import tokens
from crm.auth.models import TokenPurpose, UserToken
from crm.core.types import utcnow
from crm.extensions import limiter
from crm.mail.models import OutboxMessage
from tests.conftest import TEST_PASSWORD
from tests.test_auth_invitations import (
    NEW_PASSWORD,
    audit_actions,
    is_signed_in,
    link_in,
    messages_to,
    newest_link,
    path_of,
    render_access,
    set_password,
    sign_in,
    user_with,
)


def forgot(client, email):
    return client.post("/password/forgot", data={"email": email})


def all_messages(db):
    db.session.expire_all()
    return db.session.scalars(sa.select(OutboxMessage)).all()


def reset_link(db, email):
    return newest_link(db, email, kind="password_reset")


def english(client):
    client.post("/language/en?next=/")
    return client


# ---------------------------------------------------------------- asking for a link


def test_the_login_page_links_to_the_forgotten_password_page(client):
    english(client)
    login = client.get("/login").get_data(as_text=True)
    assert '<a href="/password/forgot">Forgot your password?</a>' in login

    page = client.get("/password/forgot")

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<label for="email">E-mail</label>' in html
    assert 'href="/login"' in html


def test_the_answer_is_the_same_for_known_unknown_and_inactive_addresses(app, db, make_user):
    known = make_user("member", email="known@example.org")
    make_user("member", email="paused@example.org", active=False)
    answers = []

    for email in ("known@example.org", "nobody@example.org", "paused@example.org"):
        client = english(app.test_client())
        response = forgot(client, email)
        shown = client.get(response.headers["Location"]).get_data(as_text=True)
        message = re.search(r'<p class="flash[^"]*"[^>]*>(.*?)</p>', shown, re.S)
        answers.append(
            (
                response.status_code,
                response.headers["Location"],
                message.group(1).replace(email, "ADDRESS").strip() if message else shown,
            )
        )

    assert answers[0] == answers[1] == answers[2]
    assert answers[0][:2] == (302, "/login")
    assert "link to choose a new password is on its way" in answers[0][2]
    # Mail only to the known, active address.
    assert [message.recipient for message in all_messages(db)] == [known.email]
    [message] = all_messages(db)
    assert message.kind == "password_reset"
    assert audit_actions(db, known) == [("create", None), ("send_password_reset", None)]


def test_the_address_is_matched_whatever_its_case_and_spaces(client, db, make_user):
    make_user("member", email="known@example.org")

    forgot(client, "  Known@Example.ORG ")

    assert len(messages_to(db, "known@example.org", "password_reset")) == 1


def test_an_empty_or_bad_address_is_asked_again_without_an_error(client, db):
    english(client)
    for email in ("", "x" * 300):
        response = forgot(client, email)
        assert response.status_code == 200
        assert '<p class="error" id="email-error">' in response.get_data(as_text=True)
    assert all_messages(db) == []


def test_one_link_per_user_in_a_few_minutes_however_often_it_is_asked_for(app, db, make_user):
    user = make_user("member", email="known@example.org")

    first = forgot(app.test_client(), user.email)
    second = forgot(app.test_client(), user.email)

    assert first.status_code == second.status_code == 302
    assert len(messages_to(db, user.email)) == 1
    # The first link still works: asking again did not spoil it.
    link = reset_link(db, user.email)
    assert app.test_client().get(path_of(link)).status_code == 200

    # Minutes later, a new one may be sent; then only the newest works.
    db.session.execute(
        sa.update(UserToken).values(created_at=utcnow() - tokens.RESET_MAIL_INTERVAL)
    )
    db.session.commit()
    forgot(app.test_client(), user.email)
    assert len(messages_to(db, user.email)) == 2
    assert app.test_client().get(path_of(link)).status_code == 410
    assert app.test_client().get(path_of(reset_link(db, user.email))).status_code == 200


@pytest.fixture
def fresh_limiter(app):
    limiter.reset()
    yield limiter
    limiter.reset()


@pytest.mark.config(RATELIMIT_ENABLED=True, PASSWORD_FORGOT_RATE_LIMIT="3 per hour")
def test_the_form_is_rate_limited_per_client(client, db, make_user, fresh_limiter):
    user = make_user("member", email="known@example.org")
    for number in range(3):
        assert forgot(client, f"nobody{number}@example.org").status_code == 302

    response = forgot(client, user.email)

    assert response.status_code == 429
    assert all_messages(db) == []
    # Looking at the form is not limited, only sending it.
    assert client.get("/password/forgot").status_code == 200


# ---------------------------------------------------------------- the reset e-mail and page


def test_the_reset_email_in_the_users_language(app, db, make_user):
    user = make_user("member", email="known@example.org")
    user.language = "en"
    db.session.commit()

    forgot(app.test_client(), user.email)

    [message] = messages_to(db, user.email)
    assert message.language == "en"
    assert message.subject.startswith("Choose a new password for ")
    assert "Someone, hopefully you, asked for a link" in message.body_text
    assert "works once, for 1 hour." in message.body_text
    assert "http://localhost/password/forgot?lang=en" in message.body_text
    link = link_in(message)
    assert link.startswith("http://localhost/password/set/") and link.endswith("?lang=en")
    [row] = db.session.scalars(sa.select(UserToken)).all()
    assert row.purpose == TokenPurpose.RESET and row.created_by_id is None
    assert timedelta(minutes=59) < row.expires_at - row.created_at <= timedelta(hours=1)


def test_a_reset_sets_the_password_and_ends_every_other_session(app, db, make_user):
    user = make_user("member", email="known@example.org")
    elsewhere = app.test_client()
    assert sign_in(elsewhere, user.email, TEST_PASSWORD).status_code == 302
    forgot(app.test_client(), user.email)
    link = reset_link(db, user.email)
    visitor = english(app.test_client())

    page = visitor.get(path_of(link))
    assert page.status_code == 200
    # The link opens the page in the user's language (Swedish), whatever the browser had.
    assert "<h1>Välj ett nytt lösenord</h1>" in page.get_data(as_text=True)
    assert page.headers["Referrer-Policy"] == "no-referrer"
    # The old password works until the new one is set.
    assert is_signed_in(elsewhere)

    response = set_password(visitor, link)

    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    assert not is_signed_in(elsewhere)
    assert not is_signed_in(visitor)
    assert sign_in(app.test_client(), user.email, TEST_PASSWORD).status_code == 200
    assert sign_in(visitor, user.email, NEW_PASSWORD).status_code == 302
    assert ("reset_password", user.id) in audit_actions(db, user)


def test_a_reset_link_works_once(app, db, make_user):
    user = make_user("member", email="known@example.org")
    forgot(app.test_client(), user.email)
    link = reset_link(db, user.email)
    assert set_password(app.test_client(), link).status_code == 302

    reused = set_password(app.test_client(), link, "a thief's own long password")

    assert reused.status_code == 410
    assert "Länken har redan använts" in reused.get_data(as_text=True)
    assert sign_in(app.test_client(), user.email, NEW_PASSWORD).status_code == 302


def test_an_expired_reset_link_is_refused(app, db, make_user):
    user = make_user("member", email="known@example.org")
    forgot(app.test_client(), user.email)
    link = reset_link(db, user.email)
    db.session.execute(sa.update(UserToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()

    response = set_password(app.test_client(), link)

    assert response.status_code == 410
    assert "Länken har gått ut" in response.get_data(as_text=True)
    assert sign_in(app.test_client(), user.email, TEST_PASSWORD).status_code == 302


def test_a_new_password_voids_every_other_open_link(app, db, make_user):
    user = make_user("member", email="known@example.org")
    with force_locale("en"):
        invitation = tokens.send_invitation(user, actor=None)
        reset = tokens.send_password_reset(user, actor=None)
    db.session.commit()

    assert set_password(app.test_client(), reset).status_code == 302

    assert (
        set_password(app.test_client(), invitation, "another long password here").status_code == 410
    )
    assert sign_in(app.test_client(), user.email, NEW_PASSWORD).status_code == 302


def test_changing_the_password_voids_a_reset_link_asked_for_before(app, db, make_user, login):
    user = make_user("member", email="known@example.org")
    forgot(app.test_client(), user.email)
    link = reset_link(db, user.email)
    client = app.test_client()
    sign_in(client, user.email, TEST_PASSWORD)

    changed = client.post(
        "/account/password",
        data={
            "current_password": TEST_PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )

    assert changed.status_code == 302
    # Whoever reads the old mail later cannot undo the change.
    assert set_password(app.test_client(), link, "a thief's own long password").status_code == 410
    assert sign_in(app.test_client(), user.email, NEW_PASSWORD).status_code == 302


def test_a_reset_clears_the_pause_after_wrong_passwords(app, db, make_user):
    user = make_user("member", email="known@example.org")
    for _ in range(app.config["LOGIN_MAX_FAILURES"] + 1):
        sign_in(app.test_client(), user.email, "a wrong password entirely")
    assert user_with(db, user.email).locked_until is not None
    forgot(app.test_client(), user.email)

    set_password(app.test_client(), reset_link(db, user.email))

    assert user_with(db, user.email).locked_until is None
    assert sign_in(app.test_client(), user.email, NEW_PASSWORD).status_code == 302


def test_the_same_link_used_twice_at_once_sets_one_password(app, db, make_user):
    """The link is claimed by a conditional update: of two requests, one wins."""
    user = make_user("member", email="known@example.org")
    with force_locale("en"):
        link = tokens.send_password_reset(user, actor=None)
    db.session.commit()
    raw = urlsplit(link).path.rsplit("/", 1)[1]
    # Both requests found the link open before either had used it.
    first, second = tokens.find_token(raw), tokens.find_token(raw)
    tokens.set_password_with_token(first, NEW_PASSWORD)
    db.session.commit()

    with pytest.raises(tokens.TokenError) as refused:
        tokens.set_password_with_token(second, "another long password here")
    assert refused.value.reason == "used"
    db.session.rollback()
    assert sign_in(app.test_client(), user.email, NEW_PASSWORD).status_code == 302


# ---------------------------------------------------------------- the admin's button


def test_the_admin_sends_a_reset_link_from_the_users_page(app, client, signed_in, db, make_user):
    admin = signed_in("admin")
    user = make_user("member", email="known@example.org")
    user.language = "en"
    db.session.commit()
    with force_locale("en"):
        page = render_access(app, user)
    assert "Send password reset link" in page

    response = client.post(
        f"/admin/users/{user.id}/password-reset", data={"next": f"/admin/users/{user.id}"}
    )

    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/users/{user.id}"
    flashed = client.get("/admin/users").get_data(as_text=True)
    assert "A link to choose a new password has been sent to known@example.org" in flashed
    [message] = messages_to(db, user.email)
    assert "An administrator of" in message.body_text
    [row] = db.session.scalars(sa.select(UserToken)).all()
    assert row.created_by_id == admin.id
    assert ("send_password_reset", admin.id) in audit_actions(db, user)
    # Their password works until they choose a new one.
    assert sign_in(app.test_client(), user.email, TEST_PASSWORD).status_code == 302
    assert set_password(app.test_client(), link_in(message)).status_code == 302
    assert sign_in(app.test_client(), user.email, NEW_PASSWORD).status_code == 302


def test_no_reset_link_for_a_deactivated_user(client, signed_in, db, make_user):
    signed_in("admin")
    user = make_user("member", active=False)

    response = client.post(f"/admin/users/{user.id}/password-reset")

    assert urlsplit(response.headers["Location"]).path == "/admin/users"
    assert "is deactivated" in client.get("/admin/users").get_data(as_text=True)
    assert messages_to(db, user.email) == []
    assert client.post("/admin/users/99999/password-reset").status_code == 404


def test_a_redirect_elsewhere_is_not_followed(client, signed_in, make_user):
    signed_in("admin")
    user = make_user("member")

    response = client.post(
        f"/admin/users/{user.id}/password-reset", data={"next": "https://evil.example/"}
    )

    assert response.headers["Location"] == "/admin/users"


def test_an_address_mail_cannot_go_to_gets_no_link_and_no_error(client, signed_in, db, make_user):
    """Users made on the command line may have an address like x@localhost."""
    user = make_user("member", email="x@localhost")

    asked = forgot(client, user.email)
    signed_in("admin")
    sent = client.post(f"/admin/users/{user.id}/password-reset")

    assert asked.status_code == sent.status_code == 302
    assert "not a complete e-mail address" in client.get("/admin/users").get_data(as_text=True)
    assert all_messages(db) == []
    assert db.session.scalars(sa.select(UserToken)).all() == []
