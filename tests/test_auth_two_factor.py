"""Two-factor sign-in: setting it up with an authenticator app, the second step of signing in
(codes, replays, recovery codes, throttling), turning it off, roles that require it, and an
admin turning it off for someone who lost their phone. Codes come from pyotp, as an
authenticator app computes them."""

import re
import time
from datetime import UTC, datetime, timedelta
from html import unescape
from urllib.parse import unquote, urlsplit

import pyotp
import pytest
import sqlalchemy as sa
from flask import render_template
from flask_login import login_user

from crm.auth import services as user_services
from crm.auth import signin, two_factor
from crm.auth.models import RecoveryCode, User
from crm.core import page_cache
from crm.core.models import AuditEntry
from crm.core.types import utcnow
from crm.extensions import limiter
from tests.conftest import TEST_PASSWORD

WRONG_PASSWORD = "not the right password"


def use_english(client):
    client.post("/language/en?next=/")


def sign_in(client, email, password=TEST_PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


def send_code(client, code):
    return client.post("/login/two-factor", data={"code": code})


def path_of(response):
    return urlsplit(response.headers["Location"]).path


def is_signed_in(client):
    response = client.get("/dashboard/")
    if response.status_code == 200:
        return True
    assert response.status_code == 302
    return False


def text_of(response):
    return unescape(response.get_data(as_text=True))


def code_at(secret, moment):
    """What the app shows at `moment` (a datetime)."""
    return pyotp.TOTP(secret).at(moment)


def next_code(secret):
    """The app's code of the next time step: accepted now (one step of drift is allowed) and
    later than any code accepted so far in a test."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def wrong_code(secret):
    """Six digits that are none of the codes the app shows around now."""
    totp = pyotp.TOTP(secret)
    near = {totp.at(time.time() + offset) for offset in range(-90, 91, 30)}
    return next(code for code in (f"{n:06d}" for n in range(1_000_000)) if code not in near)


def enrol(db, user):
    """Two-factor sign-in on for `user`, as if set up a minute ago; the recovery codes."""
    secret = two_factor.start_enrolment(user)
    a_minute_ago = utcnow() - timedelta(minutes=1)
    codes = two_factor.confirm_enrolment(
        user, code_at(secret, a_minute_ago), actor=user, at=a_minute_ago
    )
    db.session.commit()
    return codes


@pytest.fixture
def enrolled(db, make_user):
    """A member with two-factor sign-in on, and their recovery codes."""
    user = make_user("member", name="Saga Nordström")
    codes = enrol(db, user)
    return user, codes


def pass_password_step(client, user):
    response = sign_in(client, user.email)
    assert response.status_code == 302
    assert path_of(response) == "/login/two-factor"


def audit_actions(db, user):
    return db.session.scalars(
        sa.select(AuditEntry.action)
        .where(AuditEntry.entity_type == "users", AuditEntry.entity_id == user.id)
        .order_by(AuditEntry.id)
    ).all()


# ---------------------------------------------------------------- setting it up


def test_setting_up_through_the_page_turns_it_on_and_shows_ten_recovery_codes_once(
    client, db, signed_in, make_user
):
    user = signed_in(make_user("coordinator", email="ebba@example.org"))

    page = client.get("/account/two-factor")
    assert page.status_code == 200
    assert "Two-factor sign-in is off" in text_of(page)

    assert client.post("/account/two-factor/start").status_code == 302
    page = text_of(client.get("/account/two-factor"))
    db.session.refresh(user)
    assert user.totp_secret and not user.two_factor_enabled
    # The QR code is drawn here, as an SVG data: URI the CSP allows; the key is also shown.
    qr = re.search(r'<img src="(data:image/svg\+xml[^"]+)"', page).group(1)
    assert "otpauth://totp/" in unquote(qr) or "<svg" in unquote(qr)
    shown_secret = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', page).group(1)
    assert shown_secret.replace(" ", "") == user.totp_secret

    response = client.post("/account/two-factor", data={"code": pyotp.TOTP(user.totp_secret).now()})

    assert response.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", text_of(response))
    assert len(codes) == 10 and len(set(codes)) == 10
    db.session.refresh(user)
    assert user.two_factor_enabled
    # Kept only hashed.
    stored = db.session.scalars(sa.select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10 and not set(codes) & set(stored)
    page = text_of(client.get("/account/two-factor"))
    assert "Two-factor sign-in is on" in page and "10 unused recovery codes" in page
    assert not any(code in page for code in codes)
    assert "enable_two_factor" in audit_actions(db, user)


def test_the_qr_code_names_the_office_and_the_user(app, db, make_user):
    from crm.settings import services as settings

    settings.put("office_name_sv", "Innovation- och företagssamverkan")
    user = make_user("member", email="ines@example.org")
    user.language = "sv"
    two_factor.start_enrolment(user)

    uri = two_factor.provisioning_uri(user)

    parsed = pyotp.parse_uri(uri)
    assert parsed.issuer == "Innovation- och företagssamverkan"
    assert parsed.name == "ines@example.org"
    assert parsed.secret == user.totp_secret
    assert two_factor.qr_code_data_uri(uri).startswith("data:image/svg+xml")


def test_a_wrong_code_at_set_up_leaves_it_off(client, db, signed_in, make_user):
    user = signed_in(make_user("member"))
    client.post("/account/two-factor/start")
    db.session.refresh(user)

    response = client.post("/account/two-factor", data={"code": wrong_code(user.totp_secret)})

    assert response.status_code == 200
    assert "The code is not right" in text_of(response)
    db.session.refresh(user)
    assert not user.two_factor_enabled
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode)) == 0
    # Not a number at all: the same answer, no error.
    response = client.post("/account/two-factor", data={"code": "abc" * 20})
    assert response.status_code == 200
    db.session.refresh(user)
    assert not user.two_factor_enabled


def test_a_set_up_can_be_cancelled(client, db, signed_in, make_user):
    user = signed_in(make_user("member"))
    client.post("/account/two-factor/start")

    client.post("/account/two-factor/cancel")

    db.session.refresh(user)
    assert user.totp_secret is None and not user.two_factor_enabled
    assert "Two-factor sign-in is off" in text_of(client.get("/account/two-factor"))


def test_the_set_up_page_asks_for_the_password_when_it_was_typed_long_ago(
    app, client, db, signed_in, make_user
):
    signed_in(make_user("member"))
    with client.session_transaction() as session:
        session["auth_at"] = int(time.time()) - app.config["RECENT_LOGIN_SECONDS"] - 60

    response = client.get("/account/two-factor")

    assert response.status_code == 302 and path_of(response) == "/account/confirm"


# ---------------------------------------------------------------- signing in


def test_sign_in_takes_the_password_then_a_code(client, db, enrolled):
    user, _codes = enrolled
    use_english(client)

    pass_password_step(client, user)
    # Halfway is not signed in.
    assert not is_signed_in(client)
    page = client.get("/login/two-factor")
    assert page.status_code == 200 and 'autocomplete="one-time-code"' in text_of(page)

    response = send_code(client, next_code(user.totp_secret))

    assert response.status_code == 302 and path_of(response) == "/dashboard/"
    assert is_signed_in(client)


def test_the_code_may_be_typed_with_spaces(client, db, enrolled):
    user, _codes = enrolled
    pass_password_step(client, user)
    code = next_code(user.totp_secret)

    response = send_code(client, f" {code[:3]} {code[3:]} ")

    assert path_of(response) == "/dashboard/"


def test_sign_in_goes_on_to_the_page_asked_for(client, db, enrolled):
    user, _codes = enrolled
    client.post("/login?next=/tasks/", data={"email": user.email, "password": TEST_PASSWORD})

    response = send_code(client, next_code(user.totp_secret))

    assert path_of(response) == "/tasks/"


def test_a_wrong_code_is_refused(client, db, enrolled):
    user, _codes = enrolled
    use_english(client)
    pass_password_step(client, user)

    response = send_code(client, wrong_code(user.totp_secret))

    assert response.status_code == 200
    assert "The code is wrong or has already been used" in text_of(response)
    assert not is_signed_in(client)
    db.session.refresh(user)
    assert user.failed_logins == 1


def test_a_replayed_code_is_refused(app, client, db, enrolled):
    user, _codes = enrolled
    code = next_code(user.totp_secret)
    pass_password_step(client, user)
    assert path_of(send_code(client, code)) == "/dashboard/"
    client.post("/logout")

    # Someone who saw the code (over a shoulder, in a proxy's log) tries it straight after.
    other = app.test_client()
    pass_password_step(other, user)
    response = send_code(other, code)

    assert response.status_code == 200
    assert not is_signed_in(other)


def test_codes_from_older_windows_are_refused_and_drift_of_one_window_is_allowed(db, make_user):
    user = make_user("member")
    secret = two_factor.start_enrolment(user)
    start = datetime(2030, 5, 6, 10, 0, 15, tzinfo=UTC)
    two_factor.confirm_enrolment(user, code_at(secret, start), actor=user, at=start)
    db.session.commit()
    later = start + timedelta(minutes=10)

    def check(code):
        # Each in its own transaction, as each sign-in is its own request.
        answer = two_factor.check_sign_in_code(user, code, at=later)
        db.session.commit()
        return answer

    # Two steps old: refused, and counted.
    assert check(code_at(secret, later - timedelta(seconds=60))) is None
    assert user.failed_logins == 1
    # One step old (a slow phone clock): taken.
    slow = code_at(secret, later - timedelta(seconds=30))
    assert check(slow) == "totp"
    # Not twice.
    assert check(slow) is None
    # The current step is later than the last one taken.
    current = code_at(secret, later)
    assert check(current) == "totp"
    # A code of a step before the last one taken is refused even inside the window.
    assert check(slow) is None
    # One step ahead (a fast phone clock): taken.
    assert check(code_at(secret, later + timedelta(seconds=30))) == "totp"
    # Two steps ahead: refused.
    assert check(code_at(secret, later + timedelta(seconds=60))) is None


def test_a_recovery_code_signs_in_once(app, client, db, enrolled):
    user, codes = enrolled
    use_english(client)
    pass_password_step(client, user)

    response = send_code(client, codes[0].upper().replace("-", " "))

    assert path_of(response) == "/dashboard/"
    page = text_of(client.get("/dashboard/"))
    assert "You signed in with a recovery code" in page and "9 are left" in page
    client.post("/logout")

    other = app.test_client()
    pass_password_step(other, user)
    response = send_code(other, codes[0])
    assert response.status_code == 200
    assert not is_signed_in(other)
    used = db.session.scalars(sa.select(RecoveryCode).where(RecoveryCode.used_at.is_not(None)))
    assert len(used.all()) == 1
    # Another of the codes still works.
    assert path_of(send_code(other, codes[1])) == "/dashboard/"


def test_a_recovery_code_of_another_user_is_refused(client, db, enrolled, make_user):
    user, _codes = enrolled
    other_user = make_user("member")
    other_codes = enrol(db, other_user)
    pass_password_step(client, user)

    response = send_code(client, other_codes[0])

    assert response.status_code == 200 and not is_signed_in(client)


def test_wrong_codes_pause_the_account_like_wrong_passwords(app, client, db, enrolled):
    user, _codes = enrolled
    pass_password_step(client, user)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert send_code(client, wrong_code(user.totp_secret)).status_code == 200
    db.session.refresh(user)
    assert user.locked_until is not None and user.locked_until > utcnow()

    # During the pause even the right code is refused, without being looked at (so it is not
    # used up either), and the pause does not grow.
    paused_until = user.locked_until
    right = next_code(user.totp_secret)
    assert send_code(client, right).status_code == 200
    assert not is_signed_in(client)
    db.session.refresh(user)
    assert user.locked_until == paused_until
    assert user.failed_logins == app.config["LOGIN_MAX_FAILURES"]

    # So is the password: the first step is paused too.
    assert sign_in(app.test_client(), user.email).status_code == 200

    # After the pause the right code works and clears the count.
    user.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    pass_password_step(client, user)
    assert path_of(send_code(client, right)) == "/dashboard/"
    db.session.refresh(user)
    assert user.failed_logins == 0 and user.locked_until is None


def test_a_right_password_does_not_wipe_the_count_of_wrong_codes(app, db, enrolled):
    """Else whoever has the password would get a fresh run of free guesses with each
    sign-in."""
    user, _codes = enrolled
    attempts = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(attempts):
        client = app.test_client()
        pass_password_step(client, user)
        send_code(client, wrong_code(user.totp_secret))

    db.session.refresh(user)
    assert user.failed_logins == attempts
    assert user.locked_until is not None and user.locked_until > utcnow()


def test_wrong_passwords_then_a_wrong_code_pause_the_account(app, client, db, enrolled):
    user, _codes = enrolled
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        assert sign_in(client, user.email, WRONG_PASSWORD).status_code == 200
    pass_password_step(client, user)

    send_code(client, wrong_code(user.totp_secret))

    db.session.refresh(user)
    assert user.locked_until is not None and user.locked_until > utcnow()


@pytest.fixture
def fresh_limiter(app):
    limiter.reset()
    yield limiter
    limiter.reset()


@pytest.mark.config(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
def test_the_second_step_is_rate_limited(client, db, enrolled, fresh_limiter):
    user, _codes = enrolled
    pass_password_step(client, user)
    for _ in range(3):
        assert send_code(client, wrong_code(user.totp_secret)).status_code == 200

    response = send_code(client, next_code(user.totp_secret))

    assert response.status_code == 429
    assert not is_signed_in(client)
    # Looking at the form is not limited, only sending it.
    assert client.get("/login/two-factor").status_code == 200


def test_without_a_first_step_the_second_sends_to_the_sign_in_page(client, db, enrolled):
    user, _codes = enrolled

    assert path_of(client.get("/login/two-factor")) == "/login"
    response = send_code(client, next_code(user.totp_secret))
    assert path_of(response) == "/login"
    assert not is_signed_in(client)


def test_a_first_step_older_than_five_minutes_must_be_done_again(client, db, enrolled):
    user, _codes = enrolled
    use_english(client)
    pass_password_step(client, user)
    with client.session_transaction() as session:
        pending = dict(session[signin.PENDING_KEY])
        pending["at"] -= signin.PENDING_SECONDS + 1
        session[signin.PENDING_KEY] = pending

    response = send_code(client, next_code(user.totp_secret))

    assert path_of(response) == "/login"
    assert not is_signed_in(client)
    assert "Sign in again" in text_of(client.get("/login"))


@pytest.mark.parametrize("change", ["deactivated", "signed out everywhere", "deleted"])
def test_a_first_step_for_a_user_changed_since_must_be_done_again(client, db, enrolled, change):
    user, _codes = enrolled
    pass_password_step(client, user)
    if change == "deactivated":
        user.active = False
    elif change == "signed out everywhere":
        user_services.end_all_sessions(user)
    else:
        db.session.delete(user)
    db.session.commit()

    response = send_code(client, next_code(pyotp.random_base32()))

    assert path_of(response) == "/login"
    assert not is_signed_in(client)


def test_a_user_without_two_factor_signs_in_with_the_password_alone(client, make_user):
    user = make_user("member")

    response = sign_in(client, user.email)

    assert path_of(response) == "/dashboard/"


# ---------------------------------------------------------------- recovery codes, turning off


def test_new_recovery_codes_replace_the_old_ones(client, db, enrolled):
    user, old_codes = enrolled
    sign_in_fully(client, user)
    assert "Make new recovery codes?" in text_of(client.get("/account/two-factor/recovery-codes"))

    response = client.post("/account/two-factor/recovery-codes")

    new_codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", text_of(response))
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    client.post("/logout")
    pass_password_step(client, user)
    assert send_code(client, old_codes[2]).status_code == 200
    assert path_of(send_code(client, new_codes[2])) == "/dashboard/"
    assert "regenerate_recovery_codes" in audit_actions(db, user)


def sign_in_fully(client, user):
    pass_password_step(client, user)
    assert path_of(send_code(client, next_code(user.totp_secret))) == "/dashboard/"
    use_english(client)


def test_turning_off_needs_the_right_password(client, db, enrolled):
    user, _codes = enrolled
    sign_in_fully(client, user)

    response = client.post("/account/two-factor/off", data={"password": WRONG_PASSWORD})

    assert response.status_code == 200
    assert "The password is wrong" in text_of(response)
    db.session.refresh(user)
    assert user.two_factor_enabled and user.failed_logins == 1

    response = client.post("/account/two-factor/off", data={"password": TEST_PASSWORD})

    assert path_of(response) == "/account/two-factor"
    db.session.refresh(user)
    assert not user.two_factor_enabled and user.totp_secret is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode)) == 0
    assert "disable_two_factor" in audit_actions(db, user)
    client.post("/logout")
    # The password alone signs in again.
    assert path_of(sign_in(client, user.email)) == "/dashboard/"


def test_a_user_without_a_password_turns_it_off_with_a_code(client, db, enrolled):
    user, codes = enrolled
    sign_in_fully(client, user)
    user.password_hash = None
    db.session.commit()
    page = text_of(client.get("/account/two-factor/off"))
    assert 'name="password"' not in page and 'name="code"' in page

    assert client.post("/account/two-factor/off", data={"code": "00000"}).status_code == 200
    db.session.refresh(user)
    assert user.two_factor_enabled

    response = client.post("/account/two-factor/off", data={"code": codes[5]})

    assert path_of(response) == "/account/two-factor"
    db.session.refresh(user)
    assert not user.two_factor_enabled


def test_the_history_keeps_no_secret(db, enrolled):
    user, codes = enrolled
    two_factor.regenerate_recovery_codes(user, actor=user)
    two_factor.turn_off(user, actor=user)
    db.session.commit()

    entries = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.entity_type == "users")
    ).all()
    written = repr([(entry.action, entry.changes) for entry in entries])
    assert "enable_two_factor" in written and "disable_two_factor" in written
    assert not any(code in written for code in codes)
    secret_free = [entry.changes for entry in entries if "two_factor" in entry.action]
    assert all(changes == {} for changes in secret_free)


def test_a_secret_changed_with_other_fields_is_not_copied_into_the_history(db, make_user):
    from crm.core import audit

    user = make_user("member")
    two_factor.start_enrolment(user)

    changes = audit.pending_changes(user)

    assert changes["totp_secret"] == ["***", "***"]


# ---------------------------------------------------------------- roles that require it


@pytest.mark.config(MFA_REQUIRED_ROLES=["admin"])
def test_a_required_role_is_kept_on_the_set_up_page_until_enrolled(client, db, make_user):
    admin = make_user("admin")
    use_english(client)

    response = sign_in(client, admin.email)

    assert path_of(response) == "/account/two-factor"
    for url in ["/dashboard/", "/organisations/", "/admin/users", "/account/password"]:
        response = client.get(url)
        assert response.status_code == 302 and path_of(response) == "/account/two-factor", url
    # A form sent elsewhere does nothing either.
    response = client.post("/organisations/new", data={"name": "Sneaky AB"})
    assert path_of(response) == "/account/two-factor"
    page = text_of(client.get("/account/two-factor"))
    assert "Your role requires two-factor sign-in" in page
    # Public pages, static files and signing out stay open.
    assert client.get("/").status_code == 200
    assert client.get("/static/css/app.css").status_code == 200

    client.post("/account/two-factor/start")
    db.session.refresh(admin)
    client.post("/account/two-factor", data={"code": pyotp.TOTP(admin.totp_secret).now()})

    assert client.get("/dashboard/").status_code == 200
    assert client.get("/admin/users").status_code == 200


@pytest.mark.config(MFA_REQUIRED_ROLES=["admin"])
def test_a_user_kept_on_the_set_up_page_may_confirm_their_password_first(
    app, client, db, make_user
):
    """A session restored from "keep me signed in" must confirm the password before the
    set-up page; the confirmation page must not send them back there in a loop."""
    admin = make_user("admin")
    sign_in(client, admin.email)
    with client.session_transaction() as session:
        session["auth_at"] = int(time.time()) - app.config["RECENT_LOGIN_SECONDS"] - 60
    response = client.get("/account/two-factor")
    assert path_of(response) == "/account/confirm"
    assert client.get(response.headers["Location"]).status_code == 200

    response = client.post(
        "/account/confirm?next=/account/two-factor", data={"password": TEST_PASSWORD}
    )

    assert path_of(response) == "/account/two-factor"
    assert client.get("/account/two-factor").status_code == 200


@pytest.mark.config(MFA_REQUIRED_ROLES=["admin"])
def test_signing_out_works_for_a_user_kept_on_the_set_up_page(client, db, make_user):
    admin = make_user("admin")
    sign_in(client, admin.email)

    response = client.post("/logout")

    assert path_of(response) == "/login"
    assert not is_signed_in(client)


@pytest.mark.config(MFA_REQUIRED_ROLES=["admin"])
def test_other_roles_are_not_asked(client, make_user):
    member = make_user("member")

    assert path_of(sign_in(client, member.email)) == "/dashboard/"
    assert client.get("/organisations/").status_code == 200


@pytest.mark.config(MFA_REQUIRED_ROLES=["admin"])
def test_a_required_role_that_turns_it_off_must_set_it_up_again(client, db, make_user):
    admin = make_user("admin")
    enrol(db, admin)
    sign_in_fully(client, admin)

    client.post("/account/two-factor/off", data={"password": TEST_PASSWORD})

    assert path_of(client.get("/dashboard/")) == "/account/two-factor"


@pytest.mark.config(PAGE_CACHE_SECONDS=60)
def test_a_cached_page_is_never_served_to_a_user_who_must_set_it_up(app, client, db, make_user):
    page_cache.clear()
    admin = make_user("admin")
    sign_in(client, admin.email)
    client.get("/tasks/")  # shows (and uses up) the welcome message
    client.get("/organisations/")
    assert client.get("/organisations/").headers.get("X-Page-Cache") == "hit"

    # The rule is switched on (the setting changes with a restart; the data does not).
    app.config["MFA_REQUIRED_ROLES"] = ["admin"]
    response = client.get("/organisations/")

    assert response.status_code == 302 and path_of(response) == "/account/two-factor"
    page_cache.clear()


@pytest.mark.config(PAGE_CACHE_SECONDS=60, MFA_REQUIRED_ROLES=["admin"])
def test_an_enrolled_user_of_a_required_role_still_gets_cached_pages(client, db, make_user):
    page_cache.clear()
    admin = make_user("admin")
    enrol(db, admin)
    sign_in_fully(client, admin)
    client.get("/tasks/")
    client.get("/organisations/")

    assert client.get("/organisations/").headers.get("X-Page-Cache") == "hit"
    page_cache.clear()


def test_the_check_runs_before_the_page_cache(app):
    """The order the two hooks run in is what keeps cached pages from such users."""
    hooks = app.before_request_funcs[None]
    from crm.auth.two_factor_views import keep_unenrolled_on_the_enrol_page

    assert hooks.index(keep_unenrolled_on_the_enrol_page) < hooks.index(
        page_cache.serve_cached_page
    )


# ---------------------------------------------------------------- an admin turns it off


def test_an_admin_turns_off_a_users_two_factor(app, client, db, enrolled, make_user):
    user, _codes = enrolled
    # The user is signed in somewhere (perhaps on the lost phone).
    elsewhere = app.test_client()
    sign_in_fully(elsewhere, user)
    admin = make_user("admin")
    sign_in(client, admin.email)
    use_english(client)

    page = client.get(f"/admin/users/{user.id}/two-factor/off")
    assert page.status_code == 200
    assert "Turn off two-factor sign-in for Saga Nordström?" in text_of(page)
    db.session.refresh(user)
    assert user.two_factor_enabled  # looking changes nothing

    response = client.post(f"/admin/users/{user.id}/two-factor/off")

    assert response.status_code == 302
    assert "Two-factor sign-in is off for Saga Nordström" in text_of(
        client.get(response.headers["Location"], follow_redirects=True)
    )
    db.session.refresh(user)
    assert not user.two_factor_enabled
    assert not is_signed_in(elsewhere)
    entry = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "disable_two_factor")
    ).one()
    assert entry.entity_id == user.id and entry.actor_id == admin.id
    # The password alone now signs them in.
    assert path_of(sign_in(app.test_client(), user.email)) == "/dashboard/"


def test_only_admins_may_turn_off_someone_elses_two_factor(client, db, enrolled, make_user):
    user, _codes = enrolled
    coordinator = make_user("coordinator")
    sign_in(client, coordinator.email)

    response = client.post(f"/admin/users/{user.id}/two-factor/off")

    assert response.status_code == 403
    db.session.refresh(user)
    assert user.two_factor_enabled


def test_turning_off_for_an_unknown_user_is_not_found(client, make_user):
    sign_in(client, make_user("admin").email)

    assert client.post("/admin/users/9999/two-factor/off").status_code == 404


def test_an_admin_turns_off_their_own_only_with_their_password(client, db, make_user):
    admin = make_user("admin")
    enrol(db, admin)
    sign_in_fully(client, admin)

    client.post(f"/admin/users/{admin.id}/two-factor/off")

    db.session.refresh(admin)
    assert admin.two_factor_enabled


def test_the_user_page_partial_shows_the_state_and_the_button(app, db, enrolled, make_user):
    user, _codes = enrolled
    admin = make_user("admin")
    plain = make_user("member", name="Tove Ek")

    with app.test_request_context("/admin/users"):
        login_user(admin)
        on = render_template("admin/_user_two_factor.html", user=user)
        off = render_template("admin/_user_two_factor.html", user=plain)

    assert f'href="/admin/users/{user.id}/two-factor/off"' in on
    assert "two-factor/off" not in off
    assert "<h2" in on and "<h2" in off


def test_enrolment_is_refused_twice_and_turning_off_when_off(db, enrolled, make_user):
    user, _codes = enrolled
    with pytest.raises(two_factor.TwoFactorError):
        two_factor.start_enrolment(user)
    plain = make_user("member")
    with pytest.raises(two_factor.TwoFactorError):
        two_factor.turn_off(plain, actor=plain)
    with pytest.raises(two_factor.TwoFactorError):
        two_factor.confirm_enrolment(plain, "123456", actor=plain)
    assert db.session.get(User, plain.id).totp_secret is None
