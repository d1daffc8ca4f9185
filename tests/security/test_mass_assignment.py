"""Mass assignment: fields a form does not have are ignored, however they are named.

Each form is sent as a browser would send it (read back from the page), with extra fields that
name protected columns: role, active, owners, ids, deletion and privacy flags.
"""

import pytest
from werkzeug.datastructures import MultiDict

from crm.activities.models import Activity, Task
from crm.agreements.models import Agreement
from crm.auth.models import Role, User
from crm.organisations.models import Contact, Organisation
from tests.security.conftest import CSRF_ON, page_form, sign_in

pytestmark = pytest.mark.config(**CSRF_ON)

PROTECTED = (
    "id",
    "created_by_id",
    "created_at",
    "deleted_at",
    "deleted_by_id",
    "legal_hold",
    "legal_hold_reason",
    "anonymised_at",
    "merged_into_id",
    "role",
    "active",
    "session_version",
    "password_hash",
    "failed_logins",
    "locked_until",
    "email",
    "calendar_token",
)


def extras(demo):
    admin_id = demo.users["admin"].id
    return [
        ("role", "admin"),
        ("is_admin", "y"),
        ("is_active", "y"),
        ("active", "n"),
        ("id", "424242"),
        ("created_by_id", str(admin_id)),
        ("deleted_at", "2020-01-01T00:00:00"),
        ("deleted_by_id", str(admin_id)),
        ("legal_hold", "y"),
        ("legal_hold_reason", "mass assigned"),
        ("anonymised_at", "2020-01-01T00:00:00"),
        ("merged_into_id", "1"),
        ("session_version", "99"),
        ("password_hash", "plain"),
        ("failed_logins", "-100"),
        ("calendar_token", "attacker-chosen"),
    ]


def snapshot(record):
    return {name: getattr(record, name) for name in PROTECTED if hasattr(record, name)}


def send_back(client, url, having, demo, token, **changes):
    form = page_form(client.get(url).get_data(as_text=True), having=having)
    form = [(name, value) for name, value in form if name not in changes and name != "csrf_token"]
    form += list(changes.items()) + extras(demo) + [("csrf_token", token)]
    return client.post(url, data=MultiDict(form))


@pytest.mark.parametrize(
    ("model", "value_name", "path", "having"),
    [
        (Organisation, "organisation_id", "/organisations/{}/edit", "name"),
        (Contact, "contact_id", "/contacts/{}/edit", "last_name"),
        (Activity, "activity_id", "/activities/{}/edit", "title"),
        (Agreement, "agreement_id", "/agreements/{}/edit", "title"),
        (Task, "task_id", "/tasks/{}/edit", "title"),
    ],
)
def test_edit_forms_ignore_protected_fields(client, demo, db, model, value_name, path, having):
    token = sign_in(client, demo.users["member"].email)
    record = db.session.get(model, demo.values[value_name])
    before = snapshot(record)
    member_before = snapshot(db.session.get(User, demo.users["member"].id))

    response = send_back(client, path.format(record.id), having, demo, token)

    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    db.session.expire_all()
    assert snapshot(db.session.get(model, record.id)) == before
    assert db.session.get(model, 424242) is None
    assert snapshot(db.session.get(User, demo.users["member"].id)) == member_before


@pytest.mark.parametrize(
    ("model", "path", "having", "changes"),
    [
        (Organisation, "/organisations/new", "name", {"name": "Brand New Mass AB"}),
        (
            Contact,
            "/contacts/new",
            "last_name",
            {
                "first_name": "Ny",
                "last_name": "Massperson",
                "email": "mass@example.org",
                "legal_basis": "legitimate_interest",
            },
        ),
    ],
)
def test_create_forms_ignore_protected_fields(client, demo, db, model, path, having, changes):
    import sqlalchemy as sa

    token = sign_in(client, demo.users["member"].email)
    newest = db.session.scalar(sa.select(sa.func.max(model.id)))

    response = send_back(client, path, having, demo, token, **changes)

    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    created = db.session.scalars(sa.select(model).where(model.id > newest)).one()
    assert created.id != 424242
    assert created.created_by_id == demo.users["member"].id
    assert created.deleted_at is None
    assert getattr(created, "legal_hold", False) is False


def test_password_change_cannot_raise_the_role(client, demo, db):
    member = demo.users["member"]
    token = sign_in(client, member.email)
    before = snapshot(db.session.get(User, member.id))

    response = client.post(
        "/account/password",
        data=MultiDict(
            [
                ("current_password", "gms-demo-2026!"),
                ("new_password", "a fresh long passphrase"),
                ("confirm", "a fresh long passphrase"),
                ("csrf_token", token),
                *extras(demo),
            ]
        ),
    )

    assert response.status_code == 302
    db.session.expire_all()
    after = snapshot(db.session.get(User, member.id))
    assert after["role"] == Role.MEMBER
    assert after["active"] is True
    assert after["email"] == before["email"]
    assert after["calendar_token"] == before["calendar_token"]


def test_the_user_page_changes_only_the_users_fields(client, demo, db):
    viewer = demo.users["viewer"]
    token = sign_in(client, demo.users["admin"].email)
    before = snapshot(db.session.get(User, viewer.id))

    response = client.post(
        f"/admin/users/{viewer.id}",
        data=MultiDict(
            [
                ("name", "Per Viklund"),
                ("email", viewer.email),
                ("title", ""),
                ("phone", ""),
                ("language", "sv"),
                ("role", "viewer"),
                ("active", "y"),
                ("password_hash", "plain"),
                ("calendar_token", "attacker-chosen"),
                ("failed_logins", "-100"),
                ("session_version", "99"),
                ("photo_id", "1"),
                ("totp_secret", "JBSWY3DPEHPK3PXP"),
                ("csrf_token", token),
            ]
        ),
    )

    assert response.status_code == 302
    db.session.expire_all()
    after = db.session.get(User, viewer.id)
    assert snapshot(after) == before
    assert after.name == "Per Viklund"
    assert after.photo_id is None and after.totp_secret is None


def test_settings_form_stores_only_its_own_keys(client, demo, db):
    import sqlalchemy as sa

    from crm.settings.models import Setting

    token = sign_in(client, demo.users["admin"].email)
    keys_before = set(db.session.scalars(sa.select(Setting.key)))

    response = send_back(
        client,
        "/admin/settings",
        "office_name_sv",
        demo,
        token,
        secret_key="attacker",
        smtp_password="attacker",
    )

    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    keys_after = set(db.session.scalars(sa.select(Setting.key)))
    assert keys_after <= keys_before | {
        "office_name",
        "office_name_sv",
        "office_name_en",
        "accent_colour",
        "intro_sv",
        "intro_en",
        "data_controller",
        "retention_months",
        "notification_recipients",
    }
    assert not {"role", "secret_key", "smtp_password", "id"} & keys_after
