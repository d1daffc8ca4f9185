"""CSRF: every POST route refuses a request without the token (400) and changes nothing."""

import pytest

from tests.security.conftest import (
    CSRF_ON,
    assert_unchanged,
    csrf_token,
    database_state,
    sign_in,
    staff_rules,
)

pytestmark = pytest.mark.config(**CSRF_ON)

# What a forged form would carry: plausible fields, everything but the token.
FORGED = {
    "name": "Forged",
    "title": "Forged",
    "email": "forged@example.org",
    "role": "admin",
    "status": "closed",
    "body": "Forged",
    "message": "Forged message from elsewhere",
    "confirm": "y",
    "active": "y",
}


def test_every_post_route_refuses_a_request_without_a_valid_token(app, client, demo, db):
    sign_in(client, demo.users["admin"].email)
    before = database_state(db)
    rules = staff_rules(app, methods=("POST",))
    assert len(rules) > 20

    for token in (None, "", "not-a-real-token"):
        data = dict(FORGED) if token is None else {**FORGED, "csrf_token": token}
        for rule in rules:
            url = demo.url_for_endpoint(rule)
            assert url is not None, f"no demo value for {rule.rule}: add one to the demo fixture"
            response = client.post(url, data=data)
            assert response.status_code == 400, f"POST {url} ({token!r}): {response.status_code}"

    assert_unchanged(db, before, "a POST without a valid token")
    # Still signed in: a forged logout did nothing either.
    assert client.get("/dashboard/").status_code == 200


def test_a_token_from_another_session_is_refused(app, client, demo, db):
    sign_in(client, demo.users["admin"].email)
    attacker = app.test_client()
    foreign_token = sign_in(attacker, demo.users["member"].email)
    before = database_state(db)

    response = client.post(
        "/organisations/new",
        data={"name": "Forged AB", "kind": "company", "csrf_token": foreign_token},
    )

    assert response.status_code == 400
    assert_unchanged(db, before, "a token from another session")


def test_public_forms_need_the_token_too(app, client, demo, db):
    before = database_state(db)

    enquiry = client.post(
        "/contact",
        data={"name": "Bot", "email": "bot@example.org", "message": "Buy now", "consent": "y"},
    )
    login = client.post(
        "/login", data={"email": demo.users["admin"].email, "password": "gms-demo-2026!"}
    )

    assert (enquiry.status_code, login.status_code) == (400, 400)
    assert_unchanged(db, before, "a public POST without a token")
    assert client.get("/dashboard/").status_code == 302


def test_the_refusal_explains_itself(client, demo):
    token = csrf_token(client, "/login?lang=en")

    response = client.post("/login?lang=en", data={"email": "x@example.org", "password": "x"})

    assert token
    assert response.status_code == 400
    assert "The form had expired or was sent from elsewhere." in response.get_data(as_text=True)


def test_the_language_switch_changes_a_stored_preference_only_by_a_genuine_post(client, demo, db):
    member = demo.users["member"]
    member.language = "sv"
    db.session.commit()
    sign_in(client, member.email)

    # A link, a prefetch, an image on another site: nothing changes.
    assert client.get("/language/en?next=/dashboard/").status_code == 405
    # A form on another site, without the token.
    assert client.post("/language/en?next=/dashboard/").status_code == 400
    db.session.refresh(member)
    assert member.language == "sv"

    # The switch in the page header is a form with the token.
    page = client.get("/dashboard/").get_data(as_text=True)
    assert '<form method="post" action="/language/en?next=/dashboard/"' in page
    response = client.post(
        "/language/en?next=/dashboard/", data={"csrf_token": csrf_token(client, "/dashboard/")}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard/"
    db.session.refresh(member)
    assert member.language == "en"
    assert '<html lang="en">' in client.get("/dashboard/").get_data(as_text=True)


def test_a_visitor_switches_language_without_a_session(client, demo):
    """The public page carries no token for visitors; their switch only changes the page."""
    page = client.get("/").get_data(as_text=True)
    assert 'action="/language/en?next=/"' in page

    response = client.post("/language/en?next=/")

    assert response.status_code == 302
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)
