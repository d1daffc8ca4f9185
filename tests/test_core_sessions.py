"""Session cookies are checked once per process, but never trusted longer or wider than that."""

import time

from crm.auth.models import Role
from crm.core import sessions


def session_cookie(client, app):
    return client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value


def test_a_remembered_cookie_still_expires(app, login, client, monkeypatch):
    login(Role.MEMBER)
    assert client.get("/tasks/").status_code == 200  # verified and remembered

    lifetime = app.permanent_session_lifetime.total_seconds()
    later = time.time() + lifetime + 60
    monkeypatch.setattr(sessions.time, "time", lambda: later)
    response = client.get("/tasks/")

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_a_changed_cookie_is_not_taken_for_the_remembered_one(app, login, client):
    login(Role.MEMBER)
    assert client.get("/tasks/").status_code == 200
    value = session_cookie(client, app)
    # Another payload with the old signature.
    payload, _dot, signature = value.rpartition(".")
    forged = payload[:-1] + ("A" if payload[-1] != "A" else "B") + "." + signature
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], forged)

    response = client.get("/tasks/")

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_each_request_gets_its_own_copy_of_the_session(app, login, client):
    login(Role.MEMBER)
    client.get("/tasks/")
    value = session_cookie(client, app)
    interface = app.session_interface
    headers = {"Cookie": f"{app.config['SESSION_COOKIE_NAME']}={value}"}

    with app.test_request_context("/", headers=headers) as first_request:
        first = interface.open_session(app, first_request.request)
        first["lang"] = "en"
        first.setdefault("_flashes", []).append(("info", "Hello"))
    with app.test_request_context("/", headers=headers) as second_request:
        second = interface.open_session(app, second_request.request)

    assert "_user_id" in second
    assert second.get("lang") != "en"
    assert not second.get("_flashes")
