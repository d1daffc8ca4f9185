"""Easily guessed passwords are refused wherever a password is set: the command line, the
page an invitation or reset link opens and the password change; long ones are checked quickly."""

import re

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from crm import demo_data
from crm.auth.models import User
from crm.auth.services import create_user, password_problem
from crm.auth.tokens import send_invitation
from crm.settings import services as settings
from tests.conftest import TEST_PASSWORD
from tests.test_auth_invitations import path_of

EMAIL = "astrid.lindqvist@region.example"
NAME = "Astrid Lindqvist"
OFFICE = "Kvarnbo innovation office"
WEAK = [
    "123456789012",
    "password1234",
    "qwertyuiopasdf",
    EMAIL,
    "astrid.lindqvist2026",
    "Kvarnbo innovation office!",
]
REFUSED_EN = "This password is too easy to guess"
REFUSED_SV = "Lösenordet är för lätt att gissa"


@pytest.fixture
def office(db):
    settings.put("office_name", OFFICE)
    db.session.commit()


def users_with(db, email):
    return db.session.scalars(sa.select(User).where(User.email == email)).all()


def field_error(page, field_id):
    """The error shown under a form field, or ''."""
    match = re.search(rf'<p class="error" id="{field_id}-error">([^<]*)</p>', page)
    return match.group(1) if match else ""


@pytest.mark.parametrize("password", WEAK)
def test_the_command_line_refuses_a_guessable_password(db, runner, office, password):
    result = runner.invoke(
        args=["crm", "create-user", EMAIL, "--role", "member", "--name", NAME]
        + ["--password", password]
    )

    assert result.exit_code != 0
    assert REFUSED_EN in result.output
    assert users_with(db, EMAIL) == []


@pytest.mark.parametrize("password", WEAK)
def test_the_invitation_page_refuses_a_guessable_password_next_to_the_field(
    app, db, office, password
):
    user = create_user(email=EMAIL, name=NAME, role="member", language="en")
    with force_locale("en"):
        link = send_invitation(user, actor=None)
    db.session.commit()

    response = app.test_client().post(
        path_of(link), data={"new_password": password, "confirm": password}
    )

    assert response.status_code == 200
    assert REFUSED_EN in field_error(response.get_data(as_text=True), "new_password")
    db.session.refresh(user)
    assert not user.has_password


def change_password(client, new):
    return client.post(
        "/account/password",
        data={"current_password": TEST_PASSWORD, "new_password": new, "confirm": new},
    )


@pytest.mark.parametrize("password", WEAK)
def test_the_password_change_refuses_a_guessable_password(
    app, client, make_user, auth, office, password
):
    user = make_user("member", email=EMAIL, name=NAME)
    auth.login(user)
    client.post("/language/en?next=/")

    response = change_password(client, password)

    assert response.status_code == 200
    assert REFUSED_EN in field_error(response.get_data(as_text=True), "new_password")
    signs_in = app.test_client().post("/login", data={"email": EMAIL, "password": TEST_PASSWORD})
    assert signs_in.status_code == 302


def test_the_refusal_is_in_swedish_for_a_swedish_user(client, make_user, auth):
    auth.login(make_user("member", email=EMAIL, name=NAME))
    client.post("/language/sv?next=/")

    response = change_password(client, "password1234")

    assert REFUSED_SV in field_error(response.get_data(as_text=True), "new_password")


def test_a_long_password_is_accepted_and_checked_on_its_first_characters(client, auth):
    auth.login("member")
    # zxcvbn takes at most 72 characters unless told otherwise, and grows slow on long input.
    password = "a long tale of seven kvarnbo millers " * 7

    response = change_password(client, password[:256])

    assert response.status_code == 302


@pytest.mark.parametrize(
    ("password", "email", "name"),
    [
        (TEST_PASSWORD, "member1@example.org", "Test Member 1"),
        *[(demo_data.DEMO_PASSWORD, email, name) for email, name, _role in demo_data.DEMO_USERS],
    ],
)
def test_the_test_and_demo_passwords_are_good_enough(app, db, password, email, name):
    settings.put("office_name", "Genomic Medicine Sweden – Innovation and industry collaboration")

    assert password_problem(password, email=email, name=name) is None
