"""The organisations resource of the REST API, through real tokens and the real app."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from crm.auth import api_tokens
from crm.auth.models import ApiScope, Role
from crm.core.models import AuditEntry
from crm.organisations import services as organisation_services
from crm.organisations.models import Organisation, OrganisationKind
from tests.factories import make_organisation
from tests.helpers import count_queries

PROBLEM = "application/problem+json"


def _walk(api, query):
    return api.walk("/api/v1/organisations/", query)


def test_a_list_walked_by_cursor_gives_every_organisation_once_in_the_sort_order(api_client):
    api = api_client(Role.VIEWER, ApiScope.READ)
    cities = ["Lund", None, "Umeå", "Lund", None, "Borås", "Umeå"]
    for number, city in enumerate(cities):
        make_organisation(f"Bolag {number}", city=city)
    make_organisation("Borttaget AB", deleted=True)

    by_name, pages = _walk(api, "limit=3")
    assert [item["name"] for item in by_name] == [f"Bolag {n}" for n in range(7)]
    assert pages == 3

    # By city (those without one first), then name; -city is the exact reverse.
    by_city = ["Bolag 1", "Bolag 4", "Bolag 5", "Bolag 0", "Bolag 3", "Bolag 2", "Bolag 6"]
    walked, _pages = _walk(api, "limit=2&sort=city")
    assert [item["name"] for item in walked] == by_city
    walked, _pages = _walk(api, "limit=2&sort=-city")
    assert [item["name"] for item in walked] == by_city[::-1]


def test_the_list_takes_the_pages_filters_and_updated_since(api_client, db):
    api = api_client(Role.MEMBER)
    lif = make_organisation("Lif", kind=OrganisationKind.INDUSTRY_ASSOCIATION)
    make_organisation("Region Skåne", kind=OrganisationKind.HEALTHCARE_REGION, is_partner=True)
    make_organisation("Nordic Genomics AB", sectors=["biotech"], tags=["onkologi"])
    old = make_organisation("Gammal AB")
    old.updated_at = datetime.now(UTC) - timedelta(days=30)
    db.session.commit()

    def names(query):
        response = api.get(f"/api/v1/organisations/?{query}")
        assert response.status_code == 200, response.json
        return [item["name"] for item in response.json["items"]]

    assert names("kind=industry_association") == ["Lif"]
    assert names("partner=true") == ["Region Skåne"]
    assert names("sector=biotech") == ["Nordic Genomics AB"]
    assert names("tag=onkologi") == ["Nordic Genomics AB"]
    assert names("q=nordic") == ["Nordic Genomics AB"]
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert "Gammal AB" not in names(f"updated_since={since.replace('+', '%2B')}")
    assert "Gammal AB" in names("sort=updated")
    assert lif.id  # the association exists for member_of
    assert names(f"member_of={lif.id}") == []

    refused = api.get("/api/v1/organisations/?kind=bank&sort=size&limit=1000")
    assert refused.status_code == 422
    assert refused.mimetype == PROBLEM
    assert {error["field"] for error in refused.json["errors"]} == {"kind", "sort", "limit"}


def test_created_through_the_api_it_shows_on_its_page_with_the_token_in_the_history(
    api_client, signed_in, client, db
):
    api = api_client(Role.MEMBER)
    response = api.post(
        "/api/v1/organisations/",
        json={
            "kind": "company",
            "name": "  Acme   Pharma AB ",
            "org_number": "5560160680",
            "website": "acme.se",
            "sectors": ["pharma", "medtech"],
            "tags": ["Onkologi"],
            "email_domains": ["Acme.se"],
            "city": "Lund",
        },
    )
    assert response.status_code == 201, response.json
    created = response.json
    assert response.headers["Location"].endswith(f"/api/v1/organisations/{created['id']}")
    # Normalised as the page's form normalises.
    assert created["name"] == "Acme Pharma AB"
    assert created["org_number"] == "556016-0680"
    assert created["email_domains"] == ["acme.se"]
    assert created["tags"] == ["onkologi"]
    assert sorted(created["sectors"]) == ["medtech", "pharma"]

    signed_in(Role.VIEWER)
    page = client.get(f"/organisations/{created['id']}")
    assert "Acme Pharma AB" in page.get_data(as_text=True)
    entry = db.session.scalar(
        sa.select(AuditEntry).where(
            AuditEntry.entity_type == "organisations", AuditEntry.entity_id == created["id"]
        )
    )
    assert entry.actor_id == api.user.id
    assert entry.api_token_name == "Test integration"


def test_bad_input_is_refused_field_by_field_and_stores_nothing(api_client, db):
    api = api_client(Role.MEMBER)
    make_organisation("Befintlig AB", org_number="556016-0680")
    response = api.post(
        "/api/v1/organisations/",
        json={"kind": "company", "name": "Ny AB", "org_number": "556016-0680", "is_partner": True},
    )
    assert response.status_code == 422
    assert response.mimetype == PROBLEM
    fields = {error["field"]: error["detail"] for error in response.json["errors"]}
    assert "already has this organisation number" in fields["org_number"]
    assert "cannot be a GMS partner" in fields["is_partner"]

    for body in (
        {"kind": "company"},
        {"kind": "bank", "name": "X"},
        {"kind": "company", "name": "X", "unknown": 1},
        {"kind": "company", "name": "X", "owner_id": 999999},
        {"kind": "company", "name": "X", "country": "Sverige"},
    ):
        refused = api.post("/api/v1/organisations/", json=body)
        assert refused.status_code == 422, body
        assert refused.json["errors"], body
    not_json = api.post("/api/v1/organisations/", data="name=X", content_type="text/plain")
    assert not_json.status_code in (415, 422)
    assert not_json.mimetype == PROBLEM
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)) == 1


def test_a_change_keeps_the_fields_it_does_not_name(api_client):
    api = api_client(Role.MEMBER)
    organisation = make_organisation(
        "Acme AB", city="Lund", website="https://acme.se", tags=["onkologi"], sectors=["pharma"]
    )
    response = api.patch(f"/api/v1/organisations/{organisation.id}", json={"city": "Malmö"})
    assert response.status_code == 200, response.json
    assert response.json["city"] == "Malmö"
    assert response.json["website"] == "https://acme.se"
    assert response.json["tags"] == ["onkologi"]
    assert response.json["sectors"] == ["pharma"]
    refused = api.patch(f"/api/v1/organisations/{organisation.id}", json={"name": ""})
    assert refused.status_code == 422
    assert api.get(f"/api/v1/organisations/{organisation.id}").json["name"] == "Acme AB"


def test_roles_as_on_the_pages(api_client):
    organisation = make_organisation("Acme AB")
    url = f"/api/v1/organisations/{organisation.id}"
    viewer = api_client(Role.VIEWER, ApiScope.READ)
    assert viewer.get(url).status_code == 200
    assert viewer.patch(url, json={"city": "Lund"}).status_code == 403
    member = api_client(Role.MEMBER)
    assert member.patch(url, json={"city": "Lund"}).status_code == 200
    assert member.delete(url).status_code == 403
    assert member.get("/api/v1/organisations/?deleted=true").status_code == 403
    coordinator = api_client(Role.COORDINATOR)
    assert coordinator.delete(url).status_code == 204
    assert member.get(url).status_code == 404
    assert [item["name"] for item in member.get("/api/v1/organisations/").json["items"]] == []
    deleted = coordinator.get("/api/v1/organisations/?deleted=true").json["items"]
    assert [item["name"] for item in deleted] == ["Acme AB"]
    assert deleted[0]["deleted_at"] is not None


def test_a_read_only_token_only_reads(api_client):
    api = api_client(Role.ADMIN, ApiScope.READ)
    assert api.get("/api/v1/organisations/").status_code == 200
    refused = api.post("/api/v1/organisations/", json={"kind": "company", "name": "X"})
    assert refused.status_code == 403
    assert refused.mimetype == PROBLEM
    assert "insufficient_scope" in refused.headers["WWW-Authenticate"]


def test_only_a_valid_bearer_token_opens_the_api_never_the_session_cookie(
    api_client, client, login, db
):
    user = login(Role.ADMIN)  # the test client now holds a signed-in session cookie
    assert client.get("/organisations/").status_code == 200
    anonymous = client.get("/api/v1/organisations/")
    assert anonymous.status_code == 401
    assert anonymous.mimetype == PROBLEM
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Set-Cookie" not in anonymous.headers
    posted = client.post("/api/v1/organisations/", json={"kind": "company", "name": "CSRF AB"})
    assert posted.status_code == 401

    api = api_client(user)
    for header in ("Bearer nonsense", "Basic dXNlcjpwYXNz", f"Bearer {api.raw_token}x", "Bearer"):
        assert (
            client.get("/api/v1/organisations/", headers={"Authorization": header}).status_code
            == 401
        )
    assert api.get("/api/v1/organisations/").status_code == 200
    api_tokens.revoke_api_token(api.token, actor=user)
    db.session.commit()
    assert api.get("/api/v1/organisations/").status_code == 401


def test_an_expired_token_is_refused(api_client, db):
    api = api_client(Role.MEMBER)
    api.token.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    db.session.commit()
    response = api.get("/api/v1/organisations/")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_errors_everywhere_under_the_api_are_problem_details(api_client):
    api = api_client(Role.MEMBER)
    for path, status in (
        ("/api/v1/nothing-here", 404),
        ("/api/v1/organisations/99999", 404),
        ("/api/v1/organisations/abc", 404),
        ("/api/v1/organisations/?cursor=not-a-cursor", 400),
    ):
        response = api.get(path)
        assert response.status_code == status, path
        assert response.mimetype == PROBLEM
        assert response.json["status"] == status
        assert response.json["title"]
    wrong_method = api.open("PUT", "/api/v1/organisations/")
    assert wrong_method.status_code == 405
    assert "GET" in wrong_method.headers["Allow"]


@pytest.mark.config(RATELIMIT_ENABLED=True, API_RATE_LIMIT="3 per minute")
def test_each_token_has_its_own_rate_limit(api_client):
    first = api_client(Role.MEMBER)
    second = api_client(Role.MEMBER)
    for _attempt in range(3):
        assert first.get("/api/v1/organisations/").status_code == 200
    limited = first.get("/api/v1/organisations/")
    assert limited.status_code == 429
    assert limited.mimetype == PROBLEM
    assert int(limited.headers["Retry-After"]) > 0
    assert second.get("/api/v1/organisations/").status_code == 200


def test_a_change_to_a_collection_alone_is_seen_by_updated_since(api_client, db):
    api = api_client(Role.MEMBER)
    organisation = make_organisation("Acme AB", tags=["onkologi"])
    organisation.updated_at = datetime.now(UTC) - timedelta(days=3)
    db.session.commit()
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat().replace("+", "%2B")
    assert api.get(f"/api/v1/organisations/?updated_since={since}").json["items"] == []

    changed = api.patch(f"/api/v1/organisations/{organisation.id}", json={"tags": ["cancer"]})
    assert changed.status_code == 200
    listed = api.get(f"/api/v1/organisations/?updated_since={since}").json["items"]
    assert [item["tags"] for item in listed] == [["cancer"]]


def test_a_made_up_cursor_is_refused_not_an_error(api_client):
    import base64
    import json

    api = api_client(Role.MEMBER)
    make_organisation("Acme AB")
    for values in (["party", "Acme", 1], ["company", "Acme", "x"], [None, None, None]):
        raw = json.dumps({"s": "kind", "v": values}).encode()
        cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        response = api.get(f"/api/v1/organisations/?sort=kind&cursor={cursor}")
        assert response.status_code == 400, values
        assert response.json["errors"][0]["field"] == "cursor"


def test_a_page_of_the_list_costs_the_same_queries_however_many_rows_and_collections(
    api_client, db
):
    api = api_client(Role.VIEWER, ApiScope.READ)
    lif = make_organisation("Lif", kind=OrganisationKind.INDUSTRY_ASSOCIATION)

    def queries_for_a_page():
        api.get("/api/v1/organisations/?limit=100")  # the token's last use is written once
        with count_queries(db) as statements:
            response = api.get("/api/v1/organisations/?limit=100")
        assert response.status_code == 200
        return len(statements), len(response.json["items"])

    make_organisation("Ett AB", sectors=["pharma"], tags=["a"], email_domains=["ett.se"])
    few, listed = queries_for_a_page()
    assert listed == 2
    for number in range(30):
        organisation = make_organisation(
            f"Bolag {number}",
            sectors=["pharma", "biotech"],
            tags=["a", "b"],
            email_domains=["x.se"],
        )
        organisation_services.add_membership(organisation, lif, actor=None)
    db.session.commit()
    many, listed = queries_for_a_page()
    assert listed == 32
    assert many == few
