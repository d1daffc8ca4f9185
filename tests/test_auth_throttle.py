"""Wrong passwords pause an account for a while, never for good, and every sign-in attempt
costs the same, so neither answers nor timing tell which accounts exist or are paused."""

from datetime import timedelta

import pytest
from werkzeug import security

from crm.auth import models as user_models
from crm.auth import services as user_services
from crm.auth.models import User
from crm.core.types import utcnow
from tests.conftest import TEST_PASSWORD

WRONG = "not the right password"
NEW_PASSWORD = "a fresh long passphrase"


def sign_in(client, email, password=TEST_PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


def signs_in(app, email, password=TEST_PASSWORD):
    return sign_in(app.test_client(), email, password).status_code == 302


def fail(app, user, times):
    for _ in range(times):
        assert not signs_in(app, user.email, WRONG)


def minutes_paused(db, user):
    """How long the account's pause lasts from now, in whole minutes (0: not paused)."""
    db.session.refresh(user)
    if user.locked_until is None or user.locked_until <= utcnow():
        return 0
    return round((user.locked_until - utcnow()).total_seconds() / 60)


def wait(db, user, minutes):
    """Time travel: the account's pause is `minutes` nearer its end, as if that much passed."""
    db.session.refresh(user)
    if user.locked_until is not None:
        user.locked_until -= timedelta(minutes=minutes)
    db.session.commit()


def test_the_owner_gets_in_a_minute_after_the_failures_that_paused_the_account(app, db, make_user):
    user = make_user("coordinator")
    fail(app, user, app.config["LOGIN_MAX_FAILURES"])

    assert not signs_in(app, user.email)  # paused: even the right password is refused

    wait(db, user, 1)
    assert signs_in(app, user.email)
    db.session.refresh(user)
    assert user.failed_logins == 0 and user.locked_until is None
    # A later slip is forgiven again like the first ones.
    assert not signs_in(app, user.email, WRONG)
    assert signs_in(app, user.email)


def test_the_pause_doubles_with_each_further_failure_up_to_a_cap(app, db, make_user):
    user = make_user("admin")
    fail(app, user, app.config["LOGIN_MAX_FAILURES"])
    pauses = [minutes_paused(db, user)]
    for _ in range(6):
        wait(db, user, pauses[-1])
        fail(app, user, 1)
        pauses.append(minutes_paused(db, user))

    assert pauses == [1, 2, 4, 8, 15, 15, 15]
    # However long someone has been guessing, the owner is in once the pause is over.
    wait(db, user, 15)
    assert signs_in(app, user.email)


def test_attempts_during_a_pause_neither_count_nor_lengthen_it(app, db, make_user):
    user = make_user("member")
    fail(app, user, app.config["LOGIN_MAX_FAILURES"])
    db.session.refresh(user)
    paused_until, failures = user.locked_until, user.failed_logins

    fail(app, user, 5)
    assert not signs_in(app, user.email)

    db.session.refresh(user)
    assert (user.locked_until, user.failed_logins) == (paused_until, failures)


def test_a_paused_account_does_not_affect_others(app, make_user):
    paused, colleague = make_user("member"), make_user("member")
    fail(app, paused, app.config["LOGIN_MAX_FAILURES"])

    assert signs_in(app, colleague.email)


def login_page_for(app, email, password):
    client = app.test_client()
    client.post("/language/en?next=/")
    response = sign_in(client, email, password)
    assert response.status_code == 200
    # The form shows the typed address back; everything else must be the same.
    return response.get_data(as_text=True).replace(email, "EMAIL")


def test_unknown_paused_inactive_and_wrong_get_the_same_answer(app, db, make_user):
    known = make_user("admin")
    inactive = make_user("member", active=False)
    paused = make_user("coordinator")
    fail(app, paused, app.config["LOGIN_MAX_FAILURES"])

    pages = {
        "wrong password": login_page_for(app, known.email, WRONG),
        "unknown e-mail": login_page_for(app, "nobody@example.org", TEST_PASSWORD),
        "inactive, right password": login_page_for(app, inactive.email, TEST_PASSWORD),
        "paused, right password": login_page_for(app, paused.email, TEST_PASSWORD),
        "paused, wrong password": login_page_for(app, paused.email, WRONG),
    }

    assert "Wrong e-mail or password" in pages["wrong password"]
    assert all(page == pages["wrong password"] for page in pages.values()), [
        case for case, page in pages.items() if page != pages["wrong password"]
    ]


@pytest.fixture
def hash_checks(monkeypatch):
    """Every password-hash check, wherever it is called from: the hashes it was given."""
    checked = []
    real = security.check_password_hash

    def counting(pwhash, password):
        checked.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(user_services, "check_password_hash", counting)
    monkeypatch.setattr(user_models, "check_password_hash", counting)
    monkeypatch.setattr(security, "check_password_hash", counting)
    return checked


@pytest.mark.parametrize(
    ("case", "password"),
    [
        ("known", TEST_PASSWORD),
        ("known", WRONG),
        ("unknown", TEST_PASSWORD),
        ("paused", TEST_PASSWORD),
        ("paused", WRONG),
        ("inactive", TEST_PASSWORD),
        ("inactive", WRONG),
    ],
)
def test_every_sign_in_attempt_checks_exactly_one_password_hash(
    app, db, make_user, hash_checks, case, password
):
    user = make_user("member", active=case != "inactive")
    if case == "paused":
        fail(app, user, app.config["LOGIN_MAX_FAILURES"])
    email = "nobody@example.org" if case == "unknown" else user.email
    hash_checks.clear()

    sign_in(app.test_client(), email, password)

    assert len(hash_checks) == 1
    if case == "paused":
        # The password is not looked at during a pause, so the answer cannot give it away.
        assert hash_checks[0] != db.session.get(User, user.id).password_hash


def change_password(client, current, new=NEW_PASSWORD):
    return client.post(
        "/account/password",
        data={"current_password": current, "new_password": new, "confirm": new},
    )


def test_wrong_current_passwords_at_the_password_change_pause_the_account(app, db, client, auth):
    user = auth.login("member")
    client.post("/language/en?next=/")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        response = change_password(client, WRONG)
        assert response.status_code == 200
        assert "The password is wrong" in response.get_data(as_text=True)

    # Paused: the form is no oracle now, and sign-in elsewhere is paused too.
    response = change_password(client, TEST_PASSWORD)
    assert response.status_code == 200
    assert "The password is wrong" in response.get_data(as_text=True)
    assert not signs_in(app, user.email)
    assert not signs_in(app, user.email, NEW_PASSWORD)

    wait(db, user, 1)
    assert change_password(client, TEST_PASSWORD).status_code == 302
    assert signs_in(app, user.email, NEW_PASSWORD)


def test_wrong_current_passwords_and_sign_in_failures_add_up(app, db, client, auth):
    user = auth.login("member")
    fail(app, user, app.config["LOGIN_MAX_FAILURES"] - 1)

    change_password(client, WRONG)

    assert minutes_paused(db, user) == 1
    assert not signs_in(app, user.email)
