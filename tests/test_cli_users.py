"""`flask crm create-user` and `crm reset-password`: how an operator creates the first
accounts and lets someone back in."""

import pytest
import sqlalchemy as sa

from crm.auth.models import Role, User
from crm.mail.models import OutboxMessage
from tests.test_auth_invitations import NEW_PASSWORD, link_in, set_password, sign_in

PASSWORD = "long-enough-password"


def create_user(runner, *args, **kwargs):
    return runner.invoke(args=["crm", "create-user", *args], **kwargs)


def users_with(db, email):
    return db.session.scalars(sa.select(User).where(User.email == email)).all()


def signs_in(app, email, password=PASSWORD):
    response = app.test_client().post("/login", data={"email": email, "password": password})
    return response.status_code == 302


def test_create_user_and_sign_in(app, db, runner):
    result = create_user(
        runner, "x@example.org", "--role", "coordinator", "--name", "X Y", "--password", PASSWORD
    )

    assert result.exit_code == 0, result.output
    assert "x@example.org" in result.output
    [user] = users_with(db, "x@example.org")
    assert (user.name, user.role) == ("X Y", Role.COORDINATOR)
    assert signs_in(app, "x@example.org")
    assert not signs_in(app, "x@example.org", "not-the-password-at-all")


def test_unknown_role_is_refused_naming_the_valid_roles(db, runner):
    result = create_user(runner, "x@example.org", "--role", "boss", "--password", PASSWORD)

    assert result.exit_code != 0
    assert "boss" in result.output
    for role in Role:
        assert role.value in result.output
    assert users_with(db, "x@example.org") == []


def test_taken_email_is_refused(db, runner, make_user):
    make_user("member", email="x@example.org")

    result = create_user(runner, "X@Example.org", "--role", "admin", "--password", PASSWORD)

    assert result.exit_code != 0
    assert "x@example.org" in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    [user] = users_with(db, "x@example.org")
    assert user.role == Role.MEMBER


def test_short_password_is_refused(db, runner):
    result = create_user(runner, "x@example.org", "--role", "viewer", "--password", "11-chars-pw")

    assert result.exit_code != 0
    assert "12" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert users_with(db, "x@example.org") == []


def test_password_is_prompted_for_when_not_given(app, db, runner):
    result = create_user(
        runner, "x@example.org", "--role", "member", input=f"{PASSWORD}\n{PASSWORD}\n"
    )

    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    assert signs_in(app, "x@example.org")


def test_prompted_passwords_must_match(db, runner):
    result = create_user(
        runner,
        "x@example.org",
        "--role",
        "member",
        input=f"{PASSWORD}\nsomething-else-entirely\n",
    )

    assert result.exit_code != 0
    assert users_with(db, "x@example.org") == []


# ---------------------------------------------------------------- crm reset-password


def reset_password(runner, *args):
    return runner.invoke(args=["crm", "reset-password", *args])


def test_reset_password_queues_the_email_and_prints_the_link(app, db, runner, make_user):
    user = make_user("member", email="x@example.org")

    result = reset_password(runner, "X@Example.org")

    assert result.exit_code == 0, result.output
    [message] = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.recipient == "x@example.org")
    ).all()
    assert message.kind == "password_reset"
    link = link_in(message)
    # The tests, like `make run` without MAIL_SERVER, send no mail: the link is printed.
    assert "MAIL_SUPPRESS_SEND" in result.output
    assert link in result.output
    # The printed link works.
    client = app.test_client()
    assert set_password(client, link).status_code == 302
    assert sign_in(client, user.email, NEW_PASSWORD).status_code == 302


@pytest.mark.config(MAIL_SUPPRESS_SEND=False)
def test_reset_password_prints_the_link_only_when_asked_where_mail_is_sent(db, runner, make_user):
    make_user("member", email="x@example.org")

    quiet = reset_password(runner, "x@example.org")
    shown = reset_password(runner, "x@example.org", "--show-link")

    assert quiet.exit_code == shown.exit_code == 0
    assert "queued" in quiet.output
    assert "/password/set/" not in quiet.output
    messages = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert len(messages) == 2
    assert link_in(messages[1]) in shown.output


@pytest.mark.parametrize(
    ("email", "message"),
    [("nobody@example.org", "No user has the e-mail address"), ("off@example.org", "deactivated")],
)
def test_reset_password_for_an_unknown_or_deactivated_user_fails(
    db, runner, make_user, email, message
):
    make_user("member", email="off@example.org", active=False)

    result = reset_password(runner, email)

    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert db.session.scalars(sa.select(OutboxMessage)).all() == []


def test_create_user_with_a_password_sends_no_invitation(db, runner):
    result = create_user(runner, "x@example.org", "--role", "member", "--password", PASSWORD)

    assert result.exit_code == 0, result.output
    assert "/password/set/" not in result.output
    assert db.session.scalars(sa.select(OutboxMessage)).all() == []
    [user] = users_with(db, "x@example.org")
    assert user.has_password


def test_an_address_mail_cannot_go_to_is_refused_without_a_traceback(db, runner, make_user):
    make_user("member", email="x@localhost")

    invited = create_user(runner, "y@localhost", "--role", "member", "--invite")
    reset = reset_password(runner, "x@localhost")

    for result in (invited, reset):
        assert result.exit_code == 1
        assert "not a complete e-mail address" in result.output
        assert "Traceback" not in result.output
    assert users_with(db, "y@localhost") == []
    assert db.session.scalars(sa.select(OutboxMessage)).all() == []
