"""The address an admin searches for stays on the server: Flask's session cookie is signed,
not encrypted, so anyone holding it (a shared computer, a proxy log) could read it."""

import base64
import json
import zlib
from datetime import timedelta

import sqlalchemy as sa

from crm.auth.models import Role
from crm.core.types import utcnow
from crm.organisations.models import Contact
from crm.privacy import services
from crm.privacy.models import PrivacySearch
from tests.test_privacy_requests import make_contact, search

ANNA = "anna@lif-test.example"


def cookie_contents(app, client):
    """The session cookie's payload as anyone can read it, and as Flask reads it."""
    value = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    compressed = value.startswith(".")
    payload = value.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    if compressed:
        raw = zlib.decompress(raw)
    data = app.session_interface.get_signing_serializer(app).loads(value)
    return raw.decode(), json.dumps(data)


def test_the_session_cookie_does_not_carry_the_searched_address(app, db, login, client):
    contact = make_contact("Anna", "Alm", ANNA)
    login(Role.ADMIN)
    client.post("/language/en?next=/")

    page = search(client, ANNA.upper()).get_data(as_text=True)

    assert f"Records holding {ANNA}" in page
    for text in cookie_contents(app, client):
        assert "anna" not in text.lower()
        assert "lif-test" not in text.lower()
    # Export and erasure still know whom the request is about.
    export = json.loads(client.post("/admin/privacy/export").get_data(as_text=True))
    assert export["email"] == ANNA
    assert [row["id"] for row in export["contacts"]] == [contact.id]
    assert f"Erase {ANNA}?" in client.get("/admin/privacy/erase").get_data(as_text=True)
    response = client.post("/admin/privacy/erase", follow_redirects=True)
    assert "Erased: " in response.get_data(as_text=True)
    assert db.session.get(Contact, contact.id).email is None
    for text in cookie_contents(app, client):
        assert "anna" not in text.lower()


def test_new_search_forgets_the_address_on_the_server(app, db, login, client):
    make_contact("Anna", "Alm", ANNA)
    login(Role.ADMIN)
    client.post("/language/en?next=/")
    search(client, ANNA)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PrivacySearch)) == 1

    client.post("/admin/privacy/clear")

    assert db.session.scalar(sa.select(sa.func.count()).select_from(PrivacySearch)) == 0
    assert "Records holding" not in client.get("/admin/privacy/").get_data(as_text=True)
    response = client.post("/admin/privacy/export")
    assert response.status_code == 302


def test_a_search_belongs_to_its_admin_and_expires(app, db, make_user):
    first, second = make_user(Role.ADMIN), make_user(Role.ADMIN)
    token = services.start_search(ANNA, actor=first)
    db.session.commit()

    assert services.current_search(token, actor=first) == ANNA
    assert services.current_search(token, actor=second) is None
    assert services.current_search(None, actor=first) is None

    search_row = db.session.scalars(sa.select(PrivacySearch)).one()
    search_row.created_at = utcnow() - services.SEARCH_LIFETIME - timedelta(minutes=1)
    db.session.commit()
    assert services.current_search(token, actor=first) is None
    # The retention job clears searches left behind.
    services.apply_retention()
    db.session.commit()
    assert db.session.scalars(sa.select(PrivacySearch)).all() == []
