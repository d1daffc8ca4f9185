"""The activities resource of the REST API, through real tokens and the real app."""

import base64
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from crm.activities.models import (
    Activity,
    ActivityKind,
    ActivityOrganisationRole,
    ActivityStatus,
)
from crm.auth.models import ApiScope, Role
from crm.core.models import AuditEntry
from crm.organisations.models import Sector
from tests.factories import make_activity, make_agreement, make_contact, make_organisation

PROBLEM = "application/problem+json"


def _walk(api, query):
    return api.walk("/api/v1/activities/", query)


def _count(db):
    return db.session.scalar(sa.select(sa.func.count()).select_from(Activity))


def test_a_list_walked_by_cursor_gives_every_activity_once_in_the_sort_order(api_client):
    api = api_client(Role.VIEWER, ApiScope.READ)
    kinds = [ActivityKind.SEMINAR, ActivityKind.WORKSHOP, ActivityKind.SEMINAR]
    for number in range(7):
        make_activity(
            f"Möte {number}",
            kind=kinds[number % 3],
            start_date=date(2026, 1, 1) + timedelta(days=number % 4),
        )
    make_activity("Borttaget möte", deleted=True)

    # Newest first, as the list page; the same day in the reverse order of creation.
    by_date = ["Möte 3", "Möte 6", "Möte 2", "Möte 5", "Möte 1", "Möte 4", "Möte 0"]
    walked, pages = _walk(api, "limit=3")
    assert [item["title"] for item in walked] == by_date
    assert pages == 3
    walked, _pages = _walk(api, "limit=2&sort=date")
    assert [item["title"] for item in walked] == by_date[::-1]

    walked, _pages = _walk(api, "limit=2&sort=title")
    assert [item["title"] for item in walked] == [f"Möte {n}" for n in range(7)]

    # By kind (seminar before workshop), then date.
    walked, _pages = _walk(api, "limit=2&sort=kind")
    assert [item["kind"] for item in walked] == ["seminar"] * 5 + ["workshop"] * 2
    seminars = [item["start_date"] for item in walked[:5]]
    assert seminars == sorted(seminars)
    reverse, _pages = _walk(api, "limit=3&sort=-kind")
    assert [item["id"] for item in reverse] == [item["id"] for item in walked][::-1]


def test_the_list_takes_the_pages_filters_and_updated_since(api_client, db, make_user):
    api = api_client(Role.MEMBER)
    staff = make_user(Role.MEMBER)
    biotech = make_organisation("Nordic Genomics AB", sectors=["biotech"])
    pharma = make_organisation("Acme Pharma AB", sectors=["pharma"])
    make_activity(
        "Seminar om AI",
        kind=ActivityKind.SEMINAR,
        start_date=date(2026, 3, 10),
        organisations=[biotech],
        staff=[staff],
    )
    make_activity(
        "Workshop om data",
        kind=ActivityKind.WORKSHOP,
        start_date=date(2026, 2, 1),
        end_date=date(2026, 4, 30),
        status=ActivityStatus.ONGOING,
        organisations=[pharma],
    )
    old = make_activity("Gammalt möte", kind=ActivityKind.OTHER, start_date=date(2025, 5, 1))
    old.updated_at = datetime.now(UTC) - timedelta(days=30)
    db.session.commit()

    def titles(query):
        response = api.get(f"/api/v1/activities/?{query}")
        assert response.status_code == 200, response.json
        return sorted(item["title"] for item in response.json["items"])

    assert titles("kind=seminar") == ["Seminar om AI"]
    assert titles("status=ongoing") == ["Workshop om data"]
    assert titles(f"organisation_id={pharma.id}") == ["Workshop om data"]
    assert titles("organisation_id=999999") == []
    assert titles("sector=biotech") == ["Seminar om AI"]
    assert titles(f"staff={staff.id}") == ["Seminar om AI"]
    # Going on in March: the seminar, and the workshop that runs from February to April.
    assert titles("from=2026-03-01&to=2026-03-31") == ["Seminar om AI", "Workshop om data"]
    assert titles("to=2025-12-31") == ["Gammalt möte"]
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat().replace("+", "%2B")
    assert titles(f"updated_since={since}") == ["Seminar om AI", "Workshop om data"]
    assert "Gammalt möte" in titles("sort=updated")

    refused = api.get("/api/v1/activities/?kind=party&sort=place&from=yesterday&limit=0")
    assert refused.status_code == 422
    assert refused.mimetype == PROBLEM
    assert {error["field"] for error in refused.json["errors"]} == {"kind", "sort", "from", "limit"}
    assert api.get("/api/v1/activities/?cursor=bm90LWEtY3Vyc29y").status_code == 400
    # A cursor made up with a kind no activity has is refused, not bound to the query.
    forged = base64.urlsafe_b64encode(b'{"s":"kind","v":["party","2026-01-01",1]}').decode()
    response = api.get(f"/api/v1/activities/?sort=kind&cursor={forged.rstrip('=')}")
    assert response.status_code == 400
    assert response.json["errors"][0]["field"] == "cursor"


def test_created_through_the_api_it_shows_on_the_organisations_timeline(
    api_client, signed_in, client, db, make_user
):
    api = api_client(Role.MEMBER)
    colleague = make_user(Role.COORDINATOR, name="Kim Kollega")
    acme = make_organisation("Acme Pharma AB")
    lif = make_organisation("Lif")
    anna = make_contact("Anna", "Berg", organisation=acme)
    agreement = make_agreement("Ramavtal", parties=[lif])
    response = api.post(
        "/api/v1/activities/",
        json={
            "kind": "dialogue_meeting",
            "title": "  Dialogmöte om   biobanker ",
            "start_date": "2026-04-02",
            "start_time": "13:30",
            "end_date": "2026-04-02",
            "end_time": "15:00",
            "place": "Lund",
            "organisations": [
                {"organisation_id": acme.id, "role": "partner"},
                {"organisation_id": lif.id},
            ],
            "contacts": [{"contact_id": anna.id}],
            "staff": [{"user_id": colleague.id}],
            "agreement_id": agreement.id,
            "outcome": "A pilot next autumn.",
            "is_public": True,
            "public_summary": "A dialogue meeting on biobanks.",
        },
    )
    assert response.status_code == 201, response.json
    created = response.json
    assert response.headers["Location"].endswith(f"/api/v1/activities/{created['id']}")
    # Cleaned as the page's form cleans, and defaults as the page's.
    assert created["title"] == "Dialogmöte om   biobanker"
    assert created["status"] == "planned"
    assert created["is_online"] is False
    assert (created["start_time"], created["end_time"]) == ("13:30", "15:00")
    roles = {row["organisation_name"]: row["role"] for row in created["organisations"]}
    assert roles == {"Acme Pharma AB": "partner", "Lif": "participant"}
    assert created["contacts"] == [{"contact_id": anna.id, "name": "Anna Berg"}]
    assert created["staff"] == [{"user_id": colleague.id, "name": "Kim Kollega"}]
    assert created["agreement_id"] == agreement.id

    activity = db.session.get(Activity, created["id"])
    assert activity.start_time == time(13, 30)
    signed_in(Role.VIEWER)
    page = client.get(f"/organisations/{acme.id}").get_data(as_text=True)
    assert f'href="/activities/{created["id"]}"' in page
    entry = db.session.scalar(
        sa.select(AuditEntry).where(
            AuditEntry.entity_type == "activities", AuditEntry.entity_id == created["id"]
        )
    )
    assert entry.actor_id == api.user.id
    assert entry.api_token_name == "Test integration"


def test_on_create_the_staff_is_the_tokens_user_as_on_the_page(api_client):
    api = api_client(Role.MEMBER)
    response = api.post(
        "/api/v1/activities/",
        json={"kind": "seminar", "title": "Seminarium", "start_date": "2026-05-01"},
    )
    assert response.status_code == 201, response.json
    assert [row["user_id"] for row in response.json["staff"]] == [api.user.id]
    assert response.json["start_time"] is None
    assert response.json["organisations"] == [] and response.json["contacts"] == []


def test_bad_input_is_refused_field_by_field_and_stores_nothing(api_client, db, make_user):
    api = api_client(Role.MEMBER)
    acme = make_organisation("Acme AB")
    gone = make_organisation("Borta AB", deleted=True)
    left = make_user(Role.MEMBER, active=False)
    base = {"kind": "workshop", "title": "Workshop", "start_date": "2026-03-10"}

    def errors(body):
        response = api.post("/api/v1/activities/", json=body)
        assert response.status_code == 422, (body, response.json)
        assert response.mimetype == PROBLEM
        return {error["field"]: error["detail"] for error in response.json["errors"]}

    # The page's form: its rules, its messages, field by field.
    fields = errors({**base, "end_date": "2026-03-01", "is_public": True})
    assert "end date cannot be before the start date" in fields["end_date"]
    assert "public summary" in fields["public_summary"]
    assert "staff" in errors({**base, "staff": [{"user_id": left.id}]})
    assert "agreement_id" in errors({**base, "agreement_id": 999999})
    # Ids that name nothing, each on its own row.
    fields = errors(
        {
            **base,
            "organisations": [{"organisation_id": acme.id}, {"organisation_id": gone.id}],
            "contacts": [{"contact_id": 999999}],
        }
    )
    assert set(fields) == {"organisations.1.organisation_id", "contacts.0.contact_id"}
    # The service's rules: an end time before the start on the same day, one organisation twice.
    fields = errors(
        {**base, "end_date": base["start_date"], "start_time": "15:00", "end_time": "09:00"}
    )
    assert "end time cannot be before the start time" in fields["end_time"]
    fields = errors(
        {**base, "organisations": [{"organisation_id": acme.id}, {"organisation_id": acme.id}]}
    )
    assert "listed twice" in fields["organisations"]
    # The schema's: types, enums, required fields, unknown fields.
    for body in (
        {"kind": "workshop", "title": "X"},
        {**base, "kind": "party"},
        {**base, "title": ""},
        {**base, "start_time": "9 o'clock"},
        {**base, "start_time": "09:00:30"},
        {**base, "staff": [{"user_id": 0}]},
        {**base, "organisations": [{"organisation_id": acme.id, "role": "host"}]},
        {**base, "organisations": [{"organisation_id": n + 1} for n in range(31)]},
        {**base, "status": None},
        {**base, "unknown": 1},
    ):
        assert errors(body), body
    not_json = api.post("/api/v1/activities/", data="title=X", content_type="text/plain")
    assert not_json.status_code in (415, 422)
    assert _count(db) == 0


def test_a_change_keeps_the_fields_it_does_not_name(api_client, db, make_user):
    api = api_client(Role.MEMBER)
    staff = make_user(Role.MEMBER)
    acme = make_organisation("Acme AB")
    lif = make_organisation("Lif")
    anna = make_contact("Anna", "Berg")
    activity = make_activity(
        "Seminarium",
        start_time=time(9, 0),
        place="Uppsala",
        organisations=[(acme, ActivityOrganisationRole.SPONSOR)],
        contacts=[anna],
        staff=[staff],
        outcome="Bra.",
    )
    url = f"/api/v1/activities/{activity.id}"
    response = api.patch(url, json={"status": "completed"})
    assert response.status_code == 200, response.json
    changed = response.json
    assert changed["status"] == "completed"
    assert changed["start_time"] == "09:00"
    assert changed["place"] == "Uppsala" and changed["outcome"] == "Bra."
    assert changed["organisations"] == [
        {"organisation_id": acme.id, "organisation_name": "Acme AB", "role": "sponsor"}
    ]
    assert [row["contact_id"] for row in changed["contacts"]] == [anna.id]
    assert [row["user_id"] for row in changed["staff"]] == [staff.id]

    # A list given replaces the activity's; an empty one empties it.
    response = api.patch(
        url, json={"organisations": [{"organisation_id": lif.id}], "contacts": [], "place": None}
    )
    assert response.status_code == 200, response.json
    assert [row["organisation_name"] for row in response.json["organisations"]] == ["Lif"]
    assert response.json["contacts"] == [] and response.json["place"] is None
    assert [row["user_id"] for row in response.json["staff"]] == [staff.id]

    refused = api.patch(url, json={"title": "   ", "end_date": "2020-01-01"})
    assert refused.status_code == 422
    assert {error["field"] for error in refused.json["errors"]} == {"title", "end_date"}
    db.session.expire_all()
    assert db.session.get(Activity, activity.id).title == "Seminarium"


def test_roles_as_on_the_pages(api_client, db):
    activity = make_activity("Seminarium")
    url = f"/api/v1/activities/{activity.id}"
    body = {"kind": "seminar", "title": "Nytt", "start_date": "2026-01-01"}
    # A viewer's token may only read; one made while its user was a member meets the role
    # rule itself once the user is a viewer.
    viewer = api_client(Role.MEMBER)
    viewer.user.role = Role.VIEWER
    db.session.commit()
    assert viewer.get(url).status_code == 200
    assert viewer.get("/api/v1/activities/").status_code == 200
    assert viewer.patch(url, json={"title": "X"}).status_code == 403
    assert viewer.post("/api/v1/activities/", json=body).status_code == 403
    member = api_client(Role.MEMBER)
    assert member.patch(url, json={"outcome": "Bra"}).status_code == 200
    assert member.post("/api/v1/activities/", json=body).status_code == 201
    assert member.delete(url).status_code == 403
    assert member.get("/api/v1/activities/?deleted=true").status_code == 403
    coordinator = api_client(Role.COORDINATOR)
    assert coordinator.delete(url).status_code == 204
    assert member.get(url).status_code == 404
    assert member.patch(url, json={"outcome": "X"}).status_code == 404
    assert coordinator.delete(url).status_code == 404
    assert [item["title"] for item in member.get("/api/v1/activities/").json["items"]] == ["Nytt"]
    deleted = coordinator.get("/api/v1/activities/?deleted=true").json["items"]
    assert [item["title"] for item in deleted] == ["Seminarium"]
    assert deleted[0]["deleted_at"] is not None
    assert coordinator.get(url).json["deleted_at"] is not None


def test_a_read_only_token_only_reads(api_client, db):
    activity = make_activity("Seminarium")
    api = api_client(Role.ADMIN, ApiScope.READ)
    assert api.get(f"/api/v1/activities/{activity.id}").status_code == 200
    body = {"kind": "seminar", "title": "X", "start_date": "2026-01-01"}
    for response in (
        api.post("/api/v1/activities/", json=body),
        api.patch(f"/api/v1/activities/{activity.id}", json={"title": "X"}),
        api.delete(f"/api/v1/activities/{activity.id}"),
    ):
        assert response.status_code == 403
        assert response.mimetype == PROBLEM
        assert "insufficient_scope" in response.headers["WWW-Authenticate"]
    db.session.expire_all()
    assert db.session.get(Activity, activity.id).title == "Seminarium"
    assert db.session.get(Activity, activity.id).deleted_at is None


def test_sectors_filter_reads_the_pages_enum(api_client):
    api = api_client(Role.VIEWER, ApiScope.READ)
    for sector in Sector:
        assert api.get(f"/api/v1/activities/?sector={sector.value}").status_code == 200
