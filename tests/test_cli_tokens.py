"""`flask crm create-token`: an operator makes a personal API token for a user, and a script
captures it from standard output."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from crm.auth import api_tokens
from crm.auth.models import ApiScope, ApiToken
from crm.core.types import utcnow


def create_token(runner, *args):
    return runner.invoke(args=["crm", "create-token", *args])


def stored_tokens(db):
    return db.session.scalars(sa.select(ApiToken)).all()


def test_prints_only_a_working_token_on_standard_output(db, runner, make_user):
    user = make_user("member", email="x@example.org")

    result = create_token(runner, "X@Example.org", "--scope", "write", "--days", "30")

    assert result.exit_code == 0, result.output
    raw = result.stdout.strip()
    assert result.stdout == f"{raw}\n"
    assert raw.startswith(api_tokens.RAW_PREFIX)
    token = api_tokens.token_for_bearer(raw)
    assert token is not None
    assert (token.user_id, token.scope, token.name) == (user.id, ApiScope.WRITE, "Command line")
    assert token.expires_at - utcnow() == pytest.approx(timedelta(days=30), abs=timedelta(60))
    assert "x@example.org" in result.stderr
    assert f"expires {token.expires_at:%Y-%m-%d}" in result.stderr
    assert raw not in result.stderr


def test_without_days_the_token_never_expires_and_may_be_named(db, runner, make_user):
    make_user("viewer", email="v@example.org")

    result = create_token(runner, "v@example.org", "--scope", "read", "--name", "Website sync")

    assert result.exit_code == 0, result.output
    [token] = stored_tokens(db)
    assert (token.name, token.scope, token.expires_at) == ("Website sync", ApiScope.READ, None)
    assert "never expires" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nobody@example.org", "--scope", "read"], "No user has the e-mail address"),
        (["off@example.org", "--scope", "read"], "deactivated"),
        (["viewer@example.org", "--scope", "write"], "read-only"),
        (["member@example.org", "--scope", "read", "--days", "0"], "1 to 3650 days"),
        (["member@example.org", "--scope", "read", "--days", "3651"], "1 to 3650 days"),
        (["member@example.org", "--scope", "read", "--name", "  "], "Enter a name"),
    ],
)
def test_bad_input_is_refused_without_a_traceback(db, runner, make_user, args, message):
    make_user("member", email="off@example.org", active=False)
    make_user("viewer", email="viewer@example.org")
    make_user("member", email="member@example.org")

    result = create_token(runner, *args)

    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert stored_tokens(db) == []


@pytest.mark.parametrize(
    "args",
    [
        ["member@example.org", "--scope", "admin"],
        ["member@example.org"],
        ["member@example.org", "--scope", "read", "--days", "soon"],
    ],
)
def test_unusable_options_are_refused_naming_the_option(db, runner, make_user, args):
    make_user("member", email="member@example.org")

    result = create_token(runner, *args)

    assert result.exit_code == 2
    assert "--scope" in result.output or "--days" in result.output
    assert stored_tokens(db) == []
