"""/healthz: what load balancers and monitors poll."""

from tests.conftest import build_app

# Nothing listens on port 1, so the connection is refused at once.
UNREACHABLE_DATABASE = "postgresql://postgres@127.0.0.1:1/none"


def test_healthz_is_ok_when_the_database_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.is_json
    assert response.get_json()["status"] == "ok"


def test_healthz_is_503_when_the_database_does_not_answer():
    app = build_app(UNREACHABLE_DATABASE)

    response = app.test_client().get("/healthz")

    assert response.status_code == 503
    assert response.is_json
    assert response.get_json()["status"] != "ok"
    body = response.get_data(as_text=True).lower()
    for leak in ("refused", "127.0.0.1", "psycopg", "operationalerror", "postgres", "port"):
        assert leak not in body
