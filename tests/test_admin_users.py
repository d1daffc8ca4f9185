"""The admin's page for one user, /admin/users/<id>: every field, the rules on one's own role,
the history, the photo, and the old address."""

import re

import pytest
import sqlalchemy as sa

from crm.auth.models import Role, User
from crm.core.images import StoredImage
from crm.core.models import AuditEntry
from crm.core.topics import Topic
from tests.images import gif, png, upload


def user_form(user, **changes):
    """The user page's form as the browser sends it unchanged, with `changes` applied."""
    data = {
        "name": user.name,
        "email": user.email,
        "title": user.title or "",
        "phone": user.phone or "",
        "language": user.language,
        "role": user.role.value,
    }
    if user.active:
        data["active"] = "y"
    if user.is_public_contact:
        data["is_public_contact"] = "y"
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def entries(db, user):
    return db.session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.entity_type == "users", AuditEntry.entity_id == user.id)
        .order_by(AuditEntry.id)
    ).all()


@pytest.fixture
def member(make_user):
    return make_user(Role.MEMBER, name="Maja Member", email="maja@example.org")


def test_the_users_list_links_to_each_users_page(client, signed_in, member):
    signed_in(Role.ADMIN)

    listing = client.get("/admin/users").get_data(as_text=True)

    assert f'<a href="/admin/users/{member.id}">Maja Member</a>' in listing
    assert "/edit" not in listing


def test_the_old_edit_address_leads_to_the_users_page(client, signed_in, member):
    signed_in(Role.ADMIN)

    response = client.get(f"/admin/users/{member.id}/edit")

    assert response.status_code == 301
    assert response.headers["Location"] == f"/admin/users/{member.id}"


def test_the_page_shows_every_field_and_the_navigation_marks_users(client, signed_in, member):
    signed_in(Role.ADMIN)

    html = client.get(f"/admin/users/{member.id}").get_data(as_text=True)

    assert "<h1>Maja Member</h1>" in html
    for name in (
        "name",
        "email",
        "title",
        "phone",
        "language",
        "role",
        "active",
        "topics",
        "photo",
        "is_public_contact",
    ):
        assert f'name="{name}"' in html, name
    assert 'enctype="multipart/form-data"' in html
    assert re.search(
        r'<a href="/admin/users" aria-current="page"><svg [^>]+>.*?</svg>Users</a>', html
    )
    assert 'href="/admin/users">← All users</a>' in html


def test_an_admin_changes_every_field_in_one_save(app, client, db, signed_in, member):
    admin = signed_in(Role.ADMIN)

    response = client.post(
        f"/admin/users/{member.id}",
        data=user_form(
            member,
            name="Maja Lind",
            email=" Maja.Lind@Example.org ",
            title="Innovation advisor",
            phone="+46 31 123 45 67",
            language="en",
            role="coordinator",
            active=None,
            is_public_contact="y",
            topics=["clinical_studies", "diagnostics"],
            photo=upload(png(), "maja.png"),
        ),
    )

    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/users/{member.id}"
    db.session.expire_all()
    user = db.session.get(User, member.id)
    assert (user.name, user.email, user.title, user.phone, user.language) == (
        "Maja Lind",
        "maja.lind@example.org",
        "Innovation advisor",
        "+46 31 123 45 67",
        "en",
    )
    assert (user.role, user.active, user.is_public_contact) == (Role.COORDINATOR, False, True)
    assert {row.topic for row in user.topics} == {Topic.CLINICAL_STUDIES, Topic.DIAGNOSTICS}
    assert user.photo_id is not None
    [entry] = [entry for entry in entries(db, user) if entry.action == "update"]
    assert entry.actor_id == admin.id
    assert set(entry.changes) == {
        "name",
        "email",
        "title",
        "phone",
        "language",
        "role",
        "active",
        "is_public_contact",
        "topics",
        "photo_id",
    }
    # The history on the page says it as people would.
    page = client.get(f"/admin/users/{member.id}").get_data(as_text=True)
    assert "User maja.lind@example.org saved." in page
    assert "Working-group member → Coordinator" in page
    assert "Clinical studies, Diagnostics" in page
    assert "Public contact person" in page


def test_the_admin_removes_a_users_photo(client, db, signed_in, member):
    signed_in(Role.ADMIN)
    client.post(f"/admin/users/{member.id}", data=user_form(member, photo=upload(png(), "a.png")))
    db.session.expire_all()
    member = db.session.get(User, member.id)
    assert 'name="remove_photo"' in client.get(f"/admin/users/{member.id}").get_data(as_text=True)

    client.post(f"/admin/users/{member.id}", data=user_form(member, remove_photo="y"))

    db.session.expire_all()
    assert db.session.get(User, member.id).photo_id is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StoredImage)) == 0


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"email": "taken@example.org"}, "email", "already exists"),
        ({"email": "TAKEN@example.org"}, "email", "already exists"),
        ({"email": "not-an-address"}, "email", "Enter a valid e-mail address."),
        ({"email": ""}, "email", "Enter a valid e-mail address."),
        ({"role": "superuser"}, "role", "Not a valid choice."),
        ({"photo": upload(gif(), "a.gif")}, "photo", "Upload a PNG, JPEG or WebP image."),
    ],
)
def test_bad_input_is_refused_and_nothing_changes(
    client, db, signed_in, make_user, member, changes, field, message
):
    make_user(Role.VIEWER, email="taken@example.org")
    signed_in(Role.ADMIN)
    before = len(entries(db, member))

    response = client.post(
        f"/admin/users/{member.id}", data=user_form(member, name="Changed", **changes)
    )

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in html
    assert f'href="#{field}"' in html  # the summary links to the field
    db.session.expire_all()
    user = db.session.get(User, member.id)
    assert (user.name, user.email, user.role) == ("Maja Member", "maja@example.org", Role.MEMBER)
    assert len(entries(db, member)) == before


@pytest.mark.parametrize(
    "changes", [{"role": "member"}, {"active": None}], ids=["own role", "deactivate self"]
)
def test_an_admin_cannot_lower_their_own_rights_on_their_page(client, db, signed_in, changes):
    admin = signed_in(Role.ADMIN)

    response = client.post(
        f"/admin/users/{admin.id}", data=user_form(admin, title="Head of office", **changes)
    )

    assert response.status_code == 200
    assert "You cannot change your own role or deactivate yourself." in response.get_data(
        as_text=True
    )
    db.session.expire_all()
    admin = db.session.get(User, admin.id)
    assert (admin.role, admin.active, admin.title) == (Role.ADMIN, True, None)


def test_an_admin_edits_their_own_other_fields(client, db, signed_in):
    admin = signed_in(Role.ADMIN)

    response = client.post(f"/admin/users/{admin.id}", data=user_form(admin, title="Head"))

    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, admin.id).title == "Head"
    assert client.get("/dashboard/").status_code == 200  # still signed in


def test_a_changed_email_signs_in_and_a_kept_role_keeps_the_session(
    app, client, db, signed_in, member
):
    from tests.conftest import TEST_PASSWORD

    browser = app.test_client()
    browser.post("/login", data={"email": member.email, "password": TEST_PASSWORD})
    assert browser.get("/dashboard/").status_code == 200
    signed_in(Role.ADMIN)

    client.post(f"/admin/users/{member.id}", data=user_form(member, email="maja.new@example.org"))

    # Nothing was taken away: the user's session goes on.
    assert browser.get("/dashboard/").status_code == 200
    fresh = app.test_client()
    response = fresh.post(
        "/login", data={"email": "maja.new@example.org", "password": TEST_PASSWORD}
    )
    assert response.status_code == 302


def test_a_missing_user_is_404_and_others_may_not_look(client, signed_in, login, member):
    signed_in(Role.ADMIN)
    assert client.get("/admin/users/99999").status_code == 404
    assert client.post("/admin/users/99999", data={}).status_code == 404


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.MEMBER, Role.VIEWER], ids=str)
def test_only_admins_reach_a_users_page(client, db, login, member, role):
    login(role)

    assert client.get(f"/admin/users/{member.id}").status_code == 403
    response = client.post(f"/admin/users/{member.id}", data=user_form(member, role="admin"))
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(User, member.id).role == Role.MEMBER


def test_the_page_shows_the_recent_history_only(client, db, signed_in, member):
    admin = signed_in(Role.ADMIN)
    for number in range(25):
        db.session.add(
            AuditEntry(
                entity_type="users",
                entity_id=member.id,
                action="update",
                changes={"title": [None, f"Title {number}"]},
                actor_id=admin.id,
            )
        )
    db.session.commit()

    html = client.get(f"/admin/users/{member.id}").get_data(as_text=True)

    assert "Title 24" in html
    assert "Title 0<" not in html and "Title 0\n" not in html
    assert "The 20 newest changes are shown." in html
