"""Invitations: an admin creates a user without a password, the user gets an e-mail with a
link to choose their own (single use, INVITATION_HOURS), and the admin can send a new one
from the user's page."""

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask import render_template
from flask_babel import force_locale

from crm.auth import tokens
from crm.auth.models import Role, TokenPurpose, User, UserIdentity, UserToken
from crm.core.models import AuditEntry
from crm.core.types import utcnow
from crm.mail.models import OutboxMessage
from crm.settings import services as settings
from tests.conftest import TEST_PASSWORD
from tests.test_auth_recent_login import signed_in_minutes_ago

NEW_PASSWORD = "wild geese over the lake"
LINK = re.compile(r"https?://\S+/password/set/\S+")


# ---------------------------------------------------------------- helpers for other tests too


def messages_to(db, email, kind=None):
    db.session.expire_all()
    query = sa.select(OutboxMessage).where(OutboxMessage.recipient == email)
    if kind is not None:
        query = query.where(OutboxMessage.kind == kind)
    return db.session.scalars(query.order_by(OutboxMessage.id)).all()


def link_in(message):
    """The set-password link in an e-mail."""
    [link] = LINK.findall(message.body_text)
    return link


def path_of(link):
    parts = urlsplit(link)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def newest_link(db, email, kind="user_invitation"):
    return link_in(messages_to(db, email, kind)[-1])


def set_password(client, link, password=NEW_PASSWORD, confirm=None):
    return client.post(
        path_of(link),
        data={"new_password": password, "confirm": password if confirm is None else confirm},
    )


def sign_in(client, email, password=NEW_PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


def is_signed_in(client):
    return client.get("/dashboard/").status_code == 200


def create_through_the_page(client, *, email="nils@example.org", language="en", **fields):
    return client.post(
        "/admin/users/new",
        data={
            "name": "Nils Holgersson",
            "email": email,
            "role": "member",
            "language": language,
            **fields,
        },
    )


def audit_actions(db, user):
    db.session.expire_all()
    return [
        (entry.action, entry.actor_id)
        for entry in db.session.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.entity_type == "users", AuditEntry.entity_id == user.id)
            .order_by(AuditEntry.id)
        )
    ]


def user_with(db, email):
    db.session.expire_all()
    return db.session.scalar(sa.select(User).where(User.email == email))


@pytest.fixture
def admin_client(client, signed_in):
    admin = signed_in("admin")
    client.admin = admin
    return client


# ---------------------------------------------------------------- creating a user


def test_the_new_user_page_asks_for_no_password(admin_client):
    page = admin_client.get("/admin/users/new").get_data(as_text=True)

    assert 'type="password"' not in page
    assert "Create user and send invitation" in page
    assert "link to choose their own password" in page


def test_creating_a_user_sends_an_invitation_in_their_language(admin_client, db):
    settings.put("office_name_en", "Industry office")
    settings.put("office_name_sv", "Industrikontoret")
    db.session.commit()

    response = create_through_the_page(admin_client, language="sv")

    assert response.status_code == 302
    user = user_with(db, "nils@example.org")
    # On to the new user's page, where the admin can set their title, topics and so on.
    assert urlsplit(response.headers["Location"]).path == f"/admin/users/{user.id}"
    assert user.password_hash is None and not user.has_password
    assert user.role == Role.MEMBER
    [message] = messages_to(db, "nils@example.org")
    assert message.kind == "user_invitation"
    assert message.language == "sv"
    assert message.subject == "Ditt nya konto hos Industrikontoret"
    assert message.body_text.startswith("Hej Nils Holgersson!")
    assert "Du har fått ett konto i CRM-systemet hos Industrikontoret." in message.body_text
    assert "Länken fungerar en gång, i 72 timmar." in message.body_text
    assert message.body_text.rstrip().endswith("Med vänliga hälsningar\nIndustrikontoret")
    link = link_in(message)
    # At PUBLIC_URL, opening the page in the user's language.
    assert link.startswith("http://localhost/password/set/")
    assert parse_qs(urlsplit(link).query) == {"lang": ["sv"]}
    # Only a hash of the token is kept.
    token = urlsplit(link).path.rsplit("/", 1)[1]
    [row] = db.session.scalars(sa.select(UserToken)).all()
    assert token not in row.token_hash and len(row.token_hash) == 64
    assert row.purpose == TokenPurpose.INVITATION
    assert row.created_by_id == admin_client.admin.id
    assert timedelta(hours=71, minutes=59) < row.expires_at - row.created_at <= timedelta(hours=72)
    assert audit_actions(db, user) == [
        ("create", admin_client.admin.id),
        ("invite", admin_client.admin.id),
    ]
    # Nothing in the history carries the token.
    history = db.session.scalars(sa.select(AuditEntry.changes)).all()
    assert token not in repr(history)


def test_the_invitation_in_english(admin_client, db):
    settings.put("office_name_en", "Industry office")
    db.session.commit()

    create_through_the_page(admin_client, language="en")

    [message] = messages_to(db, "nils@example.org")
    assert message.subject == "Your new account at Industry office"
    assert "Hello Nils Holgersson," in message.body_text
    assert "72 hours" in message.body_text
    assert "nils@example.org" in message.body_text
    assert "http://localhost/login?lang=en" in message.body_text


def test_the_invited_user_sets_a_password_and_signs_in(app, admin_client, db):
    create_through_the_page(admin_client)
    user = user_with(db, "nils@example.org")
    link = newest_link(db, "nils@example.org")
    newcomer = app.test_client()

    page = newcomer.get(path_of(link))

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Welcome, set your password" in html
    assert "nils@example.org" in html
    for label in ("New password", "Repeat the new password", "Set password"):
        assert label in html
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "no-store" in page.headers["Cache-Control"]
    # No password worked before.
    assert sign_in(app.test_client(), "nils@example.org").status_code == 200

    response = set_password(newcomer, link)

    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    assert "Your password has been set" in newcomer.get("/login").get_data(as_text=True)
    assert not is_signed_in(newcomer)
    assert sign_in(newcomer, "nils@example.org").status_code == 302
    assert is_signed_in(newcomer)
    assert ("accept_invitation", user.id) in audit_actions(db, user)


def test_an_invitation_link_works_once(app, admin_client, db):
    create_through_the_page(admin_client)
    link = newest_link(db, "nils@example.org")
    assert set_password(app.test_client(), link).status_code == 302

    again = app.test_client().get(path_of(link))
    reused = set_password(app.test_client(), link, "another password for a thief")

    for response in (again, reused):
        assert response.status_code == 410
        assert "already been used" in response.get_data(as_text=True)
        assert response.headers["Referrer-Policy"] == "no-referrer"
    assert sign_in(app.test_client(), "nils@example.org").status_code == 302
    assert (
        sign_in(app.test_client(), "nils@example.org", "another password for a thief").status_code
        == 200
    )


def test_an_expired_invitation_is_refused(app, admin_client, db):
    create_through_the_page(admin_client)
    link = newest_link(db, "nils@example.org")
    db.session.execute(sa.update(UserToken).values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()

    page = app.test_client().get(path_of(link))
    posted = set_password(app.test_client(), link)

    for response in (page, posted):
        assert response.status_code == 410
        text = response.get_data(as_text=True)
        assert "This invitation has expired" in text
        assert 'href="/password/forgot"' in text
    assert not user_with(db, "nils@example.org").has_password


def test_an_unknown_link_is_refused_without_an_error(app, client, db):
    client.post("/language/en?next=/")
    for path in (
        "/password/set/nonsense",
        "/password/set/%FF%FE%00",
        "/password/set/" + "x" * 5000,
    ):
        response = client.get(path)
        assert response.status_code == 410
        assert "This link is not valid" in response.get_data(as_text=True)
        assert set_password(client, "http://localhost" + path).status_code == 410


def test_a_deactivated_users_link_does_not_work(app, admin_client, db):
    create_through_the_page(admin_client)
    link = newest_link(db, "nils@example.org")
    user = user_with(db, "nils@example.org")
    user.active = False
    db.session.commit()

    response = set_password(app.test_client(), link)

    assert response.status_code == 410
    assert "This link is not valid" in response.get_data(as_text=True)
    assert not user_with(db, "nils@example.org").has_password


def test_a_weak_or_mismatched_password_keeps_the_link_working(app, admin_client, db):
    create_through_the_page(admin_client)
    link = newest_link(db, "nils@example.org")
    visitor = app.test_client()
    visitor.get(path_of(link))  # ?lang=en: the page speaks English from here on

    weak = set_password(visitor, link, "password1234")
    mismatched = set_password(visitor, link, NEW_PASSWORD, "something else entirely")
    short = set_password(visitor, link, "short")

    assert weak.status_code == 200
    assert "too easy to guess" in weak.get_data(as_text=True)
    assert mismatched.status_code == 200
    assert "The passwords do not match." in mismatched.get_data(as_text=True)
    assert short.status_code == 200
    assert "at least 12 characters" in short.get_data(as_text=True)
    assert not user_with(db, "nils@example.org").has_password
    assert set_password(visitor, link).status_code == 302


def test_setting_the_password_signs_out_whoever_was_signed_in_in_that_browser(
    app, admin_client, db
):
    """The admin trying the link in their own browser is signed out, not left signed in as
    themselves on a page that then belongs to someone else."""
    create_through_the_page(admin_client)
    link = newest_link(db, "nils@example.org")

    assert set_password(admin_client, link).status_code == 302

    assert not is_signed_in(admin_client)


# ---------------------------------------------------------------- the user's page


def render_access(app, user):
    with app.test_request_context(f"/admin/users/{user.id}"):
        return render_template("admin/_user_access.html", user=user)


def test_the_user_list_and_page_show_a_pending_invitation(app, admin_client, db, make_user):
    create_through_the_page(admin_client)
    invited = user_with(db, "nils@example.org")
    with_password = make_user("member")

    listing = admin_client.get("/admin/users").get_data(as_text=True)
    row = re.search(r"<tr>\s*<td><a [^>]*>Nils Holgersson</a></td>.*?</tr>", listing, re.S).group(0)
    assert "Invitation pending" in row
    other_row = re.search(
        rf"<tr>\s*<td><a [^>]*>{with_password.name}</a></td>.*?</tr>", listing, re.S
    )
    assert "Invitation pending" not in other_row.group(0)

    with force_locale("en"):
        pending = render_access(app, invited)
        set_up = render_access(app, with_password)
    assert "Invitation pending" in pending and "works until" in pending
    assert "Re-send invitation" in pending and "Send password reset link" not in pending
    assert f'action="/admin/users/{invited.id}/invitation"' in pending
    assert 'name="csrf_token"' in pending
    assert "Send password reset link" in set_up and "Re-send invitation" not in set_up
    assert f'action="/admin/users/{with_password.id}/password-reset"' in set_up

    # Expired: still pending, and the page says the invitation no longer works.
    db.session.execute(sa.update(UserToken).values(expires_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    with force_locale("en"):
        expired = render_access(app, user_with(db, "nils@example.org"))
    assert "Invitation pending" in expired and "no longer works" in expired
    assert "Invitation pending" in admin_client.get("/admin/users").get_data(as_text=True)


def test_a_user_who_signs_in_through_a_provider_is_not_waiting_for_an_invitation(
    app, admin_client, db, make_user
):
    sso_only = make_user("member", name="Sigrid Sso")
    sso_only.password_hash = None
    db.session.add(
        UserIdentity(
            user_id=sso_only.id,
            provider="default",
            issuer="https://sso.example.org",
            subject="sigrid",
            email=sso_only.email,
        )
    )
    db.session.commit()

    listing = admin_client.get("/admin/users").get_data(as_text=True)
    row = re.search(r"<tr>\s*<td><a [^>]*>Sigrid Sso</a></td>.*?</tr>", listing, re.S).group(0)
    assert "Single sign-on" in row and "Invitation pending" not in row
    with force_locale("en"):
        access = render_access(app, user_with(db, sso_only.email))
    assert "Invitation pending" not in access
    assert "Send password reset link" in access


def test_the_admin_re_sends_an_invitation_and_only_the_new_link_works(app, admin_client, db):
    create_through_the_page(admin_client)
    user = user_with(db, "nils@example.org")
    first = newest_link(db, "nils@example.org")

    response = admin_client.post(
        f"/admin/users/{user.id}/invitation", data={"next": f"/admin/users/{user.id}"}
    )

    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/users/{user.id}"
    assert "A new invitation has been sent" in admin_client.get("/admin/users").get_data(
        as_text=True
    )
    messages = messages_to(db, "nils@example.org", "user_invitation")
    assert len(messages) == 2
    second = link_in(messages[-1])
    assert second != first
    assert set_password(app.test_client(), first).status_code == 410
    assert set_password(app.test_client(), second).status_code == 302
    assert audit_actions(db, user).count(("invite", admin_client.admin.id)) == 2


def test_no_invitation_for_a_user_who_has_a_password_or_is_deactivated(admin_client, db, make_user):
    with_password = make_user("member")
    deactivated = make_user("member", password=None, active=False)

    for user, message in (
        (with_password, "has already chosen a password"),
        (deactivated, "is deactivated"),
    ):
        response = admin_client.post(f"/admin/users/{user.id}/invitation")
        assert response.status_code == 302
        assert urlsplit(response.headers["Location"]).path == "/admin/users"
        assert message in admin_client.get("/admin/users").get_data(as_text=True)
        assert messages_to(db, user.email) == []
    assert admin_client.post("/admin/users/99999/invitation").status_code == 404


def test_only_admins_send_links_and_only_after_typing_their_password(
    app, client, db, login, make_user
):
    invited = make_user("member", password=None)
    for role in ("coordinator", "member", "viewer"):
        other = app.test_client()
        other.post("/login", data={"email": make_user(role).email, "password": TEST_PASSWORD})
        assert other.post(f"/admin/users/{invited.id}/invitation").status_code == 403
        assert other.post(f"/admin/users/{invited.id}/password-reset").status_code == 403
    anonymous = app.test_client().post(f"/admin/users/{invited.id}/invitation")
    assert urlsplit(anonymous.headers["Location"]).path == "/login"
    assert messages_to(db, invited.email) == []

    login("admin")
    signed_in_minutes_ago(client, 60)
    response = client.post(
        f"/admin/users/{invited.id}/invitation",
        headers={"Referer": f"http://localhost/admin/users/{invited.id}"},
    )
    assert urlsplit(response.headers["Location"]).path == "/account/confirm"
    assert messages_to(db, invited.email) == []


@pytest.mark.config(WTF_CSRF_ENABLED=True)
def test_the_buttons_need_the_csrf_token(app, client, db, make_user):
    admin = make_user("admin")
    invited = make_user("member", password=None)
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    client.post(
        "/login", data={"email": admin.email, "password": TEST_PASSWORD, "csrf_token": token}
    )

    forged = client.post(f"/admin/users/{invited.id}/invitation")

    assert forged.status_code == 400
    assert messages_to(db, invited.email) == []


# ---------------------------------------------------------------- the command line


def test_create_user_with_invite_sends_an_invitation_and_prints_the_link(app, db, runner):
    result = runner.invoke(
        args=["crm", "create-user", "x@example.org", "--role", "member", "--invite"]
    )

    assert result.exit_code == 0, result.output
    user = user_with(db, "x@example.org")
    assert not user.has_password
    [message] = messages_to(db, "x@example.org", "user_invitation")
    # The tests do not send mail (MAIL_SUPPRESS_SEND), so the link is printed too.
    assert link_in(message) in result.output
    assert set_password(app.test_client(), link_in(message)).status_code == 302


def test_create_user_refuses_both_invite_and_password(db, runner):
    result = runner.invoke(
        args=[
            "crm",
            "create-user",
            "x@example.org",
            "--role",
            "member",
            "--invite",
            "--password",
            NEW_PASSWORD,
        ]
    )

    assert result.exit_code != 0
    assert "either --password or --invite" in result.output
    assert user_with(db, "x@example.org") is None


def test_create_user_service_without_a_password(db):
    user = tokens.user_services.create_user(
        email="y@example.org", name="Y", role="viewer", password=None
    )
    db.session.commit()

    assert user.password_hash is None and user.password_changed_at is None
    assert not user.check_password("")
    assert tokens.invitation_state(user) == ("none", None)
