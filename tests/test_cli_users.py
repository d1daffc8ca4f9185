"""`flask crm create-user`: how an operator creates the first accounts."""

import sqlalchemy as sa

from crm.auth.models import Role, User

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
