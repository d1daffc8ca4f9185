"""Personal API tokens: making one at /account/tokens (shown once, stored hashed), what a
bearer token lets in, revoking one's own and, for administrators, anyone's at /admin/tokens,
the last-used time written at most once per window, and the history naming the token a
change was made through."""

import hashlib
import re
from datetime import timedelta
from html import unescape

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from crm.auth import api_tokens
from crm.auth.models import ApiScope, ApiToken
from crm.core import audit
from crm.core.forms import FieldError
from crm.core.models import AuditEntry
from crm.core.types import utcnow
from tests.helpers import count_queries, sign_in_with_form_token
from tests.security.conftest import csrf_token

RAW_TOKEN = re.compile(r"crm_[A-Za-z0-9_-]{43}")


def text_of(response):
    return unescape(response.get_data(as_text=True))


def create(client, name="Website sync", scope="read", days="90", **extra):
    return client.post(
        "/account/tokens", data={"name": name, "scope": scope, "days": days, **extra}
    )


def raw_token_in(response):
    [raw] = RAW_TOKEN.findall(text_of(response))
    return raw


def make_token(user, *, name="Website sync", scope=ApiScope.READ, days=90, db):
    token, raw = api_tokens.create_api_token(user, name=name, scope=scope, days=days, actor=user)
    db.session.commit()
    return token, raw


def tokens_in_database(db):
    return db.session.scalars(sa.select(ApiToken).order_by(ApiToken.id)).all()


# ---------------------------------------------------------------- making a token


def test_a_new_token_is_shown_once_and_only_its_hash_is_kept(client, signed_in, db):
    user = signed_in("member")
    assert "You have no API tokens." in text_of(client.get("/account/tokens"))

    response = create(client, name="  Website sync  ", scope="write", days="30")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = text_of(response)
    assert "Copy it now: it will not be shown again" in page
    raw = raw_token_in(response)
    [token] = tokens_in_database(db)
    assert (token.user_id, token.name, token.scope) == (user.id, "Website sync", ApiScope.WRITE)
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert token.prefix == raw[:12]
    assert token.expires_at - utcnow() == pytest.approx(timedelta(days=30), abs=timedelta(60))
    # Nowhere else: not in a column, the history, or the session.
    row = db.session.execute(sa.select(ApiToken.__table__)).one()
    assert raw not in repr(tuple(row))
    [entry] = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.entity_type == "api_tokens")
    )
    assert entry.action == "create_api_token"
    assert raw not in repr(entry.changes)
    assert token.token_hash not in repr(entry.changes)
    with client.session_transaction() as session:
        assert raw not in repr(dict(session))

    again = text_of(client.get("/account/tokens"))
    assert raw not in again
    assert "Copy it now" not in again
    assert "Website sync" in again
    assert f"{raw[:12]}…" in again
    assert "Read and write" in again
    assert "Never used" in again
    assert "Active" in again


def test_a_token_that_never_expires_and_the_default_lifetime(client, signed_in, db):
    signed_in("member")
    form = text_of(client.get("/account/tokens"))
    assert re.search(r'<option selected value="90">In 90 days</option>', form)

    create(client, name="Nightly export", days="")
    create(client, name="Default", days="90")

    never, default = tokens_in_database(db)
    assert never.expires_at is None
    assert default.expires_at - utcnow() == pytest.approx(timedelta(days=90), abs=timedelta(60))
    page = text_of(client.get("/account/tokens"))
    assert re.search(r"<td>Nightly export</td>(?:(?!</tr>).)*<td>Never</td>", page, re.S)


def test_a_token_needs_a_name_and_a_lifetime_from_the_list(client, signed_in, db):
    signed_in("member")

    nameless = create(client, name="   ")
    odd_lifetime = create(client, days="4000")
    garbled = create(client, days="soon")

    assert 'id="name-error"' in text_of(nameless)
    assert "Enter a name for the token." in text_of(nameless)
    for response in (odd_lifetime, garbled):
        assert response.status_code == 200
        assert 'id="days-error"' in text_of(response)
        assert RAW_TOKEN.search(text_of(response)) is None
    assert tokens_in_database(db) == []


def test_the_service_refuses_a_bad_name_or_lifetime(db, make_user):
    user = make_user("member")

    for kwargs, field in [
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"days": 0}, "days"),
        ({"days": 3651}, "days"),
        ({"scope": "admin"}, "scope"),
    ]:
        arguments = {"name": "Sync", "scope": "read", "days": 30, **kwargs}
        with pytest.raises(FieldError) as refused:
            api_tokens.create_api_token(user, **arguments, actor=user)
        assert refused.value.field == field
    assert tokens_in_database(db) == []


def test_a_viewer_is_offered_and_given_read_only_tokens(client, signed_in, db):
    viewer = signed_in("viewer")

    form = text_of(client.get("/account/tokens"))
    written = create(client, scope="write")

    assert "Read only" in form
    assert "Read and write" not in form
    assert 'id="scope-error"' in text_of(written)
    assert tokens_in_database(db) == []
    with force_locale("en"), pytest.raises(FieldError) as refused:
        api_tokens.create_api_token(viewer, name="Sync", scope=ApiScope.WRITE, actor=viewer)
    assert refused.value.field == "scope"
    with force_locale("en"):
        assert "viewer" in str(refused.value)

    create(client, scope="read")
    [token] = tokens_in_database(db)
    assert not token.allows_write


@pytest.mark.config(WTF_CSRF_ENABLED=True)
def test_the_form_works_with_its_csrf_token(client, make_user, db):
    sign_in_with_form_token(client, make_user("member"))
    token = csrf_token(client, "/account/tokens")

    refused = create(client)
    made = create(client, csrf_token=token)

    assert refused.status_code == 400
    assert made.status_code == 200
    assert RAW_TOKEN.search(text_of(made))
    assert len(tokens_in_database(db)) == 1


def test_the_profile_links_to_the_tokens_and_anonymous_visitors_sign_in(client, signed_in):
    assert client.get("/account/tokens").headers["Location"].startswith("/login")

    signed_in("viewer")

    assert 'href="/account/tokens">API tokens</a>' in text_of(client.get("/account/"))


# ---------------------------------------------------------------- the bearer token


def test_the_token_lets_its_user_in_until_it_is_revoked(db, make_user):
    user = make_user("member")
    token, raw = make_token(user, scope=ApiScope.WRITE, db=db)

    found = api_tokens.token_for_bearer(raw)

    assert found is not None
    assert (found.id, found.user.id) == (token.id, user.id)
    assert found.allows_write and found.is_usable

    api_tokens.revoke_api_token(token, actor=user)
    db.session.commit()

    assert api_tokens.token_for_bearer(raw) is None


def test_an_expired_token_is_refused(db, make_user):
    user = make_user("member")
    token, raw = make_token(user, days=1, db=db)

    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()

    assert token.is_expired
    assert api_tokens.token_for_bearer(raw) is None


def test_the_token_of_a_deactivated_user_is_refused(db, make_user):
    user = make_user("member")
    _token, raw = make_token(user, db=db)

    user.active = False
    db.session.commit()

    assert api_tokens.token_for_bearer(raw) is None


@pytest.mark.parametrize(
    "garbage",
    [None, "", 42, "crm_", "Bearer crm_x", "crm_" + "A" * 43, "crm_" + "a" * 5000],
)
def test_strings_that_are_not_tokens_are_refused(db, make_user, garbage):
    _token, raw = make_token(make_user("member"), db=db)

    assert api_tokens.token_for_bearer(garbage) is None
    # The token without its prefix, and with anything around it, is no token either.
    assert api_tokens.token_for_bearer(raw.removeprefix("crm_")) is None
    assert api_tokens.token_for_bearer(f" {raw}") is None


def test_strings_that_cannot_be_ours_are_not_hashed_or_looked_up(db, monkeypatch):
    def no_hashing(raw):
        raise AssertionError("hashed a string that is not a token")

    monkeypatch.setattr(api_tokens, "_hash", no_hashing)

    with count_queries(db) as statements:
        for garbage in ("not-a-token", "crm_" + "a" * 100_000, b"crm_bytes"):
            assert api_tokens.token_for_bearer(garbage) is None
    assert statements == []


# ---------------------------------------------------------------- last used


@pytest.mark.config(API_TOKEN_USE_RESOLUTION_SECONDS=300)
def test_the_last_use_is_written_at_most_once_per_window(db, make_user):
    token, _raw = make_token(make_user("member"), db=db)
    assert token.last_used_at is None

    first = api_tokens.note_token_used(token)
    db.session.commit()
    noted = token.last_used_at
    second = api_tokens.note_token_used(token)

    assert (first, second) == (True, False)
    assert token.last_used_at == noted
    assert not db.session.dirty

    token.last_used_at = utcnow() - timedelta(seconds=301)
    db.session.commit()

    assert api_tokens.note_token_used(token) is True
    assert utcnow() - token.last_used_at < timedelta(seconds=5)


def test_the_list_shows_when_a_token_was_last_used(client, signed_in, db):
    user = signed_in("member")
    token, _raw = make_token(user, db=db)

    api_tokens.note_token_used(token)
    db.session.commit()

    page = text_of(client.get("/account/tokens"))
    assert "Never used" not in page


# ---------------------------------------------------------------- revoking


def test_revoking_ones_own_token_after_a_confirmation(client, signed_in, db):
    user = signed_in("member")
    token, raw = make_token(user, name="Old script", db=db)

    confirm = client.get(f"/account/tokens/{token.id}/revoke")
    assert confirm.status_code == 200
    assert "Revoke the token “Old script”?" in text_of(confirm)
    assert 'href="/account/tokens"' in text_of(confirm)
    assert api_tokens.token_for_bearer(raw) is not None

    done = client.post(f"/account/tokens/{token.id}/revoke")
    again = client.post(f"/account/tokens/{token.id}/revoke")

    assert done.headers["Location"] == "/account/tokens"
    assert again.headers["Location"] == "/account/tokens"
    assert api_tokens.token_for_bearer(raw) is None
    page = text_of(client.get("/account/tokens"))
    assert "Revoked" in page
    assert f"/account/tokens/{token.id}/revoke" not in page
    db.session.refresh(token)
    assert token.revoked_by_id == user.id
    actions = db.session.scalars(
        sa.select(AuditEntry.action).where(
            AuditEntry.entity_type == "api_tokens", AuditEntry.entity_id == token.id
        )
    ).all()
    # Revoked once, however often the button was sent.
    assert sorted(actions) == ["create_api_token", "revoke_api_token"]


def test_another_users_token_is_not_found(client, signed_in, make_user, db):
    other = make_user("member")
    token, raw = make_token(other, name="Someone else's", db=db)
    signed_in("admin")

    shown = client.get(f"/account/tokens/{token.id}/revoke")
    sent = client.post(f"/account/tokens/{token.id}/revoke")

    assert (shown.status_code, sent.status_code) == (404, 404)
    assert "Someone else's" not in text_of(client.get("/account/tokens"))
    assert api_tokens.token_for_bearer(raw) is not None


# ---------------------------------------------------------------- administrators


def test_an_admin_sees_and_revokes_everyones_tokens(client, signed_in, make_user, db):
    holder = make_user("member", name="Maja Member")
    token, raw = make_token(holder, name="CRM sync", scope=ApiScope.WRITE, db=db)
    signed_in("admin")

    listing = text_of(client.get("/admin/tokens"))
    assert "Maja Member" in listing
    assert "CRM sync" in listing
    assert f"{raw[:12]}…" in listing
    assert "Read and write" in listing
    assert raw not in listing
    confirm = client.get(f"/admin/tokens/{token.id}/revoke")
    assert "Maja Member" in text_of(confirm)
    assert 'href="/admin/tokens"' in text_of(confirm)

    done = client.post(f"/admin/tokens/{token.id}/revoke")

    assert done.headers["Location"] == "/admin/tokens"
    assert api_tokens.token_for_bearer(raw) is None
    assert "Revoked" in text_of(client.get("/admin/tokens"))
    assert client.get("/admin/tokens/999999/revoke").status_code == 404


def test_the_admin_list_has_pages_and_is_in_the_navigation(client, signed_in, make_user, db):
    holder = make_user("member")
    for number in range(30):
        api_tokens.create_api_token(
            holder, name=f"Token {number:02d}", scope=ApiScope.READ, actor=holder
        )
    db.session.commit()
    signed_in("admin")

    with count_queries(db) as statements:
        first = text_of(client.get("/admin/tokens"))
    second = text_of(client.get("/admin/tokens?page=2"))

    # Newest first, 25 a page.
    assert "Token 29" in first and "Token 05" in first and "Token 04" not in first
    assert "Token 04" in second and "Token 29" not in second
    assert "30 in all" in first
    assert 'href="/admin/tokens"' in first
    # The holders are loaded for the whole page at once, not one query per row.
    assert len(statements) < 15


@pytest.mark.parametrize("role", ["coordinator", "member", "viewer"])
def test_only_admins_see_everyones_tokens(client, signed_in, make_user, db, role):
    token, raw = make_token(make_user("member"), db=db)
    signed_in(role)

    assert client.get("/admin/tokens").status_code == 403
    assert client.post(f"/admin/tokens/{token.id}/revoke").status_code == 403
    assert 'href="/admin/tokens"' not in text_of(client.get("/dashboard/"))
    assert api_tokens.token_for_bearer(raw) is not None


def test_the_admin_list_says_when_a_holder_is_deactivated(client, signed_in, make_user, db):
    holder = make_user("member", active=False)
    make_token(holder, db=db)
    signed_in("admin")

    assert "User deactivated" in text_of(client.get("/admin/tokens"))


# ---------------------------------------------------------------- the history


def test_the_history_names_the_token_a_change_was_made_through(
    app, client, signed_in, make_organisation, db
):
    user = signed_in("member")
    by_hand = make_organisation("Hand AB", actor=user)
    audit.act_through_token("Website sync")
    through_api = make_organisation("Api AB", actor=user)
    audit.act_through_token(None)

    with_token = text_of(client.get(f"/organisations/{through_api.id}"))
    without = text_of(client.get(f"/organisations/{by_hand.id}"))

    assert f"{user.name} via the API token “Website sync”" in with_token
    assert "via the API token" not in without


def test_entries_written_without_the_orm_name_the_token_too(app, db, make_user):
    user = make_user("member")
    audit.act_through_token("Website sync")

    audit.record_new("organisations", 1, "create", changes={}, at=utcnow(), actor=user)
    audit.act_through_token(None)
    audit.record_new("organisations", 2, "create", changes={}, at=utcnow(), actor=user)
    db.session.commit()

    names = db.session.execute(
        sa.select(AuditEntry.entity_id, AuditEntry.api_token_name)
        .where(AuditEntry.entity_type == "organisations")
        .order_by(AuditEntry.entity_id)
    ).all()
    assert [tuple(row) for row in names] == [(1, "Website sync"), (2, None)]
