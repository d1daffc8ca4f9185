"""Who may open what: login by default, public by exception, and the admin's user pages."""

import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from crm.auth.models import Role, User
from crm.core.models import AuditEntry
from crm.mail.models import OutboxMessage
from tests.conftest import TEST_PASSWORD, build_app
from tests.test_auth_invitations import newest_link, set_password

PUBLIC_ENDPOINTS = {
    "public.index",
    "auth.login",
    # The second step of signing in, for someone who is not signed in yet.
    "auth.two_factor_login",
    "auth.oidc_login",
    "auth.oidc_callback",
    "core.healthz",
    "core.set_language",
    "contact.form",
    "contact.thanks",
    "calendar.feed",
    # Answers anonymous visitors only for public documents; others go to the login page.
    "documents.download",
    "privacy.notice",
    "privacy.versions",
    "privacy.version",
    # The accent colour's style sheet; stored images decide themselves who may see them.
    "public.theme",
    "public.image",
    # The public activities as JSON and iCalendar, for the office's website.
    "public_feed.activities_json",
    "public_feed.activities_ics",
    # The REST API's OpenAPI document and its documentation page (the API itself takes a
    # bearer token on every request: test_api_route_answers_anonymous_with_401).
    "api.openapi_json",
    "api.docs",
    # A forgotten password, and the page an invitation or reset link opens (the token in the
    # link is the credential).
    "auth.forgot_password",
    "auth.set_password",
}
STAFF_ROLES = [Role.COORDINATOR, Role.MEMBER, Role.VIEWER]
NEW_PASSWORD = "a long enough initial password"


def _routes():
    """Every route of the app, read once at collection time (no database needed)."""
    app = build_app("sqlite://")
    return app, sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule)


_ROUTE_APP, _RULES = _routes()


def _is_public(rule):
    view = _ROUTE_APP.view_functions[rule.endpoint]
    return rule.endpoint == "static" or getattr(view, "is_public", False)


def _example_url(rule):
    """The rule with every parameter filled: 1 for numbers, "x" for anything else."""
    return re.sub(
        r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>",
        lambda match: "1" if match.group(1) in ("int", "float") else "x",
        rule.rule,
    )


def use_english(client):
    client.post("/language/en?next=/")


def sign_in(client, email, password=TEST_PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


def is_signed_in(client):
    response = client.get("/dashboard/")
    if response.status_code == 200:
        return True
    assert urlsplit(response.headers["Location"]).path == "/login"
    return False


def users_with(db, email):
    return db.session.scalars(sa.select(User).where(User.email == email)).all()


def _is_api(rule):
    return rule.rule.startswith("/api/v1/")


@pytest.mark.parametrize(
    "rule",
    [rule for rule in _RULES if not _is_public(rule) and not _is_api(rule)],
    ids=lambda rule: f"{rule.endpoint} {rule.rule}",
)
def test_staff_route_refuses_anonymous(client, rule):
    method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]

    response = client.open(_example_url(rule), method=method)

    assert response.status_code == 302, f"{method} {rule.rule} answered {response.status_code}"
    assert urlsplit(response.headers["Location"]).path == "/login"


@pytest.mark.parametrize(
    "rule",
    [rule for rule in _RULES if not _is_public(rule) and _is_api(rule)],
    ids=lambda rule: f"{rule.endpoint} {rule.rule}",
)
def test_api_route_answers_anonymous_with_401(client, rule, login):
    """Without a bearer token, and even with a signed-in session's cookie, every API route
    answers 401 as problem details, never a page or a redirect."""
    login(Role.ADMIN)
    for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
        response = client.open(_example_url(rule), method=method)

        assert response.status_code == 401, f"{method} {rule.rule} answered {response.status_code}"
        assert response.mimetype == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_public_endpoints_are_exactly_the_known_ones(app):
    public = {
        endpoint
        for endpoint, view in app.view_functions.items()
        if getattr(view, "is_public", False)
    }

    # Adding a public route is a deliberate act: add it here too.
    assert public == PUBLIC_ENDPOINTS


@pytest.mark.parametrize("url", ["/", "/login", "/healthz"])
def test_public_pages_open_without_signing_in(client, url):
    response = client.get(url)

    assert response.status_code in (200, 302)
    if response.status_code == 302:
        assert urlsplit(response.headers["Location"]).path != "/login"


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_every_role_reaches_the_dashboard(client, login, role):
    user = login(role)

    response = client.get("/dashboard/")

    assert response.status_code == 200
    assert user.email in response.get_data(as_text=True)


ADMIN_PAGES = ["/admin/users", "/admin/users/new", "/admin/users/{id}"]


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_admin_reaches_the_user_pages(client, login, make_user, page):
    other = make_user("member")
    login("admin")

    response = client.get(page.format(id=other.id))

    assert response.status_code == 200


@pytest.mark.parametrize("role", STAFF_ROLES, ids=str)
@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_only_admins_reach_the_user_pages(client, login, make_user, role, page):
    other = make_user("member")
    login(role)

    assert client.get(page.format(id=other.id)).status_code == 403


@pytest.mark.parametrize("role", STAFF_ROLES, ids=str)
def test_non_admins_cannot_create_or_change_users(client, db, login, make_user, role):
    other = make_user("viewer")
    login(role)

    created = client.post(
        "/admin/users/new",
        data={
            "name": "Sneaky",
            "email": "sneaky@example.org",
            "role": "admin",
            "language": "en",
            "password": NEW_PASSWORD,
        },
    )
    changed = client.post(f"/admin/users/{other.id}", data=user_form(other, role="admin"))

    assert created.status_code == 403
    assert changed.status_code == 403
    assert users_with(db, "sneaky@example.org") == []
    db.session.refresh(other)
    assert other.role == Role.VIEWER


def test_editing_a_missing_user_is_404(client, login):
    login("admin")

    assert client.get("/admin/users/99999").status_code == 404


def test_admin_creates_a_user_who_can_sign_in(app, client, db, login):
    admin = login("admin")

    response = client.post(
        "/admin/users/new",
        data={
            "name": "Nils Holgersson",
            "email": "Nils@Example.org",
            "role": "coordinator",
            "language": "en",
        },
    )

    assert response.status_code == 302
    listing = client.get("/admin/users").get_data(as_text=True)
    assert "Nils Holgersson" in listing
    # The admin sets no password: the new user chooses one from the invitation.
    newcomer = app.test_client()
    assert (
        set_password(newcomer, newest_link(db, "nils@example.org"), NEW_PASSWORD).status_code == 302
    )
    assert sign_in(newcomer, "nils@example.org", NEW_PASSWORD).status_code == 302
    page = newcomer.get("/dashboard/").get_data(as_text=True)
    assert "Nils Holgersson" in page
    [user] = users_with(db, "nils@example.org")
    assert user.role == Role.COORDINATOR
    entries = _audit(db, user)
    assert [(entry.action, entry.actor_id) for entry in entries] == [
        ("create", admin.id),
        ("invite", admin.id),
        ("accept_invitation", user.id),
    ]


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("taken@example.org", "already exists"),
        (" TAKEN@example.org", "already exists"),
        ("not-an-address", "Enter a valid e-mail address."),
    ],
    ids=["taken e-mail", "taken e-mail in other case", "bad e-mail"],
)
def test_creating_a_user_with_bad_input_is_refused(client, db, login, make_user, email, message):
    make_user("member", email="taken@example.org")
    login("admin")
    use_english(client)
    count = db.session.scalar(sa.select(sa.func.count()).select_from(User))

    response = client.post(
        "/admin/users/new",
        data={"name": "Someone New", "email": email, "role": "member", "language": "en"},
    )

    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == count
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def user_form(user, *, role, active=True, name=None):
    """The user page's form as the admin sends it, with the role, active flag and name set."""
    data = {
        "name": name or user.name,
        "email": user.email,
        "title": user.title or "",
        "phone": user.phone or "",
        "language": user.language,
        "role": Role(role).value,
    }
    if active:
        data["active"] = "y"
    return data


def edit(client, user, *, role, active=True, name=None):
    return client.post(
        f"/admin/users/{user.id}", data=user_form(user, role=role, active=active, name=name)
    )


def _audit(db, user):
    return db.session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.entity_type == "users", AuditEntry.entity_id == user.id)
        .order_by(AuditEntry.id)
    ).all()


def test_admin_changes_another_users_role(app, client, db, login, make_user):
    member = make_user("member")
    members_browser = app.test_client()
    assert sign_in(members_browser, member.email).status_code == 302
    admin = login("admin")

    response = edit(client, member, role="coordinator")

    assert response.status_code == 302
    # The form promises it: a changed role signs the user out everywhere.
    assert not is_signed_in(members_browser)
    assert sign_in(members_browser, member.email).status_code == 302
    db.session.refresh(member)
    assert member.role == Role.COORDINATOR
    last = _audit(db, member)[-1]
    assert (last.action, last.actor_id) == ("update", admin.id)
    assert last.changes["role"] == ["member", "coordinator"]


def test_admin_deactivates_a_user_who_is_then_signed_out(app, client, db, login, make_user):
    member = make_user("member")
    members_browser = app.test_client()
    assert sign_in(members_browser, member.email).status_code == 302
    assert is_signed_in(members_browser)
    admin = login("admin")

    response = edit(client, member, role="member", active=False)

    assert response.status_code == 302
    assert not is_signed_in(members_browser)
    assert sign_in(members_browser, member.email).status_code == 200
    assert not is_signed_in(members_browser)
    last = _audit(db, member)[-1]
    assert (last.action, last.actor_id) == ("update", admin.id)
    assert last.changes["active"] == [True, False]


@pytest.mark.parametrize(
    "change", [{"role": "member"}, {"role": "admin", "active": False}], ids=["role", "deactivate"]
)
def test_admin_cannot_demote_or_deactivate_themself(client, db, login, change):
    admin = login("admin")
    use_english(client)
    entries_before = len(_audit(db, admin))

    response = edit(client, admin, **change)

    assert response.status_code == 200
    assert "You cannot change your own role" in response.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.role == Role.ADMIN
    assert admin.active
    assert client.get("/admin/users").status_code == 200
    assert len(_audit(db, admin)) == entries_before
