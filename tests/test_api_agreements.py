"""The agreements resource of the REST API: the list page's filters and sorts, parties, the
status lifecycle through the pages' service, roles, through real tokens and the real app."""

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from crm.agreements.lifecycle import status_changed
from crm.agreements.models import Agreement, AgreementKind, AgreementStatus, PartyRole
from crm.auth.models import ApiScope, Role
from crm.core.models import AuditEntry
from tests.factories import make_agreement, make_organisation

PROBLEM = "application/problem+json"
URL = "/api/v1/agreements/"
TODAY = date.today()


def _walk(api, query):
    return api.walk(URL, query)


def _titles(api, query=""):
    response = api.get(f"{URL}?{query}")
    assert response.status_code == 200, response.json
    return [item["title"] for item in response.json["items"]]


def _errors(response):
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    return {error["field"]: error["detail"] for error in response.json["errors"]}


def _count(db):
    return db.session.scalar(sa.select(sa.func.count()).select_from(Agreement))


def test_a_list_walked_by_cursor_gives_every_agreement_once_in_the_sort_order(api_client):
    api = api_client(Role.VIEWER, ApiScope.READ)
    lif = make_organisation("Lif")
    ends = [TODAY + timedelta(days=30), None, TODAY + timedelta(days=10), None, TODAY]
    for number, end in enumerate(ends):
        make_agreement(f"Avtal {number}", parties=[lif], end_date=end)
    make_agreement("Borttaget avtal", parties=[lif], deleted=True)

    walked, pages = _walk(api, "limit=2")
    assert [item["title"] for item in walked] == [f"Avtal {n}" for n in range(5)]
    assert pages == 3

    # By end date, the open-ended ones (no end date) last, as on the list page; -end is the
    # exact reverse.
    by_end = ["Avtal 4", "Avtal 2", "Avtal 0", "Avtal 1", "Avtal 3"]
    walked, _pages = _walk(api, "limit=2&sort=end")
    assert [item["title"] for item in walked] == by_end
    walked, _pages = _walk(api, "limit=2&sort=-end")
    assert [item["title"] for item in walked] == by_end[::-1]


def test_the_list_takes_the_pages_filters_and_updated_since(api_client, make_user, db):
    api = api_client(Role.MEMBER)
    owner = make_user(Role.MEMBER)
    lif = make_organisation("Lif")
    microsoft = make_organisation("Microsoft AB")
    make_agreement("Ramavtal", kind=AgreementKind.FRAMEWORK, parties=[lif], owner=owner)
    make_agreement(
        "Microsoft MoU",
        parties=[microsoft],
        status=AgreementStatus.ACTIVE,
        signed_date=TODAY - timedelta(days=400),
        start_date=TODAY - timedelta(days=400),
        end_date=TODAY + timedelta(days=20),
    )
    old = make_agreement("Gammalt NDA", kind=AgreementKind.NDA, parties=[lif])
    old.updated_at = datetime.now(UTC) - timedelta(days=30)
    db.session.commit()

    assert _titles(api, "kind=framework") == ["Ramavtal"]
    assert _titles(api, "status=active") == ["Microsoft MoU"]
    assert _titles(api, f"party={lif.id}") == ["Gammalt NDA", "Ramavtal"]
    assert _titles(api, f"owner={owner.id}") == ["Ramavtal"]
    assert _titles(api, "ending=30") == ["Microsoft MoU"]
    assert _titles(api, "ending=10") == []
    assert _titles(api, "q=mou") == ["Microsoft MoU"]
    # A party that does not exist has no agreements (the page would ignore the filter).
    assert _titles(api, "party=99999") == []
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat().replace("+", "%2B")
    assert "Gammalt NDA" not in _titles(api, f"updated_since={since}")
    assert _titles(api, "sort=-updated")[-1] == "Gammalt NDA"

    [item] = api.get(f"{URL}?status=active").json["items"]
    assert item["parties"] == [
        {"organisation_id": microsoft.id, "organisation_name": "Microsoft AB", "role": "party"}
    ]
    assert item["renewal_notice_date"] == (TODAY + timedelta(days=20 - 90)).isoformat()
    assert item["allowed_statuses"] == ["expired", "terminated"]

    refused = api.get(f"{URL}?status=signed-ish&sort=size&ending=-1&colour=red")
    assert refused.mimetype == PROBLEM
    assert set(_errors(refused)) == {"status", "sort", "ending", "colour"}


def test_created_through_the_api_it_shows_on_its_page_with_the_token_in_the_history(
    api_client, signed_in, client, db
):
    api = api_client(Role.MEMBER)
    lif = make_organisation("Lif")
    region = make_organisation("Region Skåne")
    response = api.post(
        URL,
        json={
            "kind": "framework",
            "title": "  Ramavtal med Lif ",
            "parties": [
                {"organisation_id": lif.id, "role": "signatory"},
                {"organisation_id": region.id},
            ],
            "our_signatory": "Vice-Chancellor",
            "start_date": "2026-01-01",
            "end_date": "2027-12-31",
            "renewal_notice_days": 120,
            "is_public": True,
            "covers_members": True,
        },
    )
    assert response.status_code == 201, response.json
    created = response.json
    assert response.headers["Location"].endswith(f"{URL}{created['id']}")
    assert created["title"] == "Ramavtal med Lif"  # stripped, as the page's form does
    assert created["status"] == "draft"
    assert created["owner_id"] == api.user.id  # as the page's new-agreement form
    assert created["parties"] == [
        {"organisation_id": lif.id, "organisation_name": "Lif", "role": "signatory"},
        {"organisation_id": region.id, "organisation_name": "Region Skåne", "role": "party"},
    ]
    assert created["renewal_notice_date"] == "2027-09-02"
    assert created["is_public"] is True and created["covers_members"] is True
    assert created["allowed_statuses"] == ["negotiation", "signed", "terminated"]

    signed_in(Role.VIEWER)
    page = client.get(f"/agreements/{created['id']}").get_data(as_text=True)
    assert "Ramavtal med Lif" in page and "Region Skåne" in page
    entry = db.session.scalar(
        sa.select(AuditEntry).where(
            AuditEntry.entity_type == "agreements", AuditEntry.entity_id == created["id"]
        )
    )
    assert entry.action == "create"
    assert entry.actor_id == api.user.id
    assert entry.api_token_name == "Test integration"


def test_parties_are_checked_and_a_refusal_stores_nothing(api_client, db):
    api = api_client(Role.MEMBER)
    lif = make_organisation("Lif")
    gone = make_organisation("Nedlagd AB", deleted=True)
    body = {"kind": "mou", "title": "MoU"}

    unknown = api.post(
        URL,
        json={**body, "parties": [{"organisation_id": lif.id}, {"organisation_id": 99999}]},
    )
    assert _errors(unknown) == {"parties.1.organisation_id": "There is no record with this id."}
    deleted = api.post(URL, json={**body, "parties": [{"organisation_id": gone.id}]})
    assert set(_errors(deleted)) == {"parties.0.organisation_id"}
    twice = api.post(
        URL,
        json={
            **body,
            "parties": [
                {"organisation_id": lif.id},
                {"organisation_id": lif.id, "role": "observer"},
            ],
        },
    )
    assert "listed twice" in _errors(twice)["parties"]
    for parties in ([], [{"role": "party"}], [{"organisation_id": lif.id, "role": "boss"}]):
        assert _errors(api.post(URL, json={**body, "parties": parties}))
    assert "parties" in _errors(api.post(URL, json=body))
    assert _count(db) == 0


def test_bad_input_is_refused_field_by_field_and_stores_nothing(api_client, db):
    api = api_client(Role.MEMBER)
    lif = make_organisation("Lif")
    parties = [{"organisation_id": lif.id}]

    fields = _errors(
        api.post(
            URL,
            json={"kind": "mou", "title": "   ", "parties": parties, "owner_id": 99999},
        )
    )
    assert fields["title"] == "Enter a title."
    assert set(fields) == {"title", "owner_id"}

    ends_early = api.post(
        URL,
        json={
            "kind": "mou",
            "title": "MoU",
            "parties": parties,
            "start_date": "2026-05-01",
            "end_date": "2026-04-30",
        },
    )
    assert _errors(ends_early) == {"end_date": "The end date cannot be before the start date."}
    # The pages could not show its renewal notice date (before the year 1).
    too_early = api.post(
        URL,
        json={"kind": "mou", "title": "MoU", "parties": parties, "end_date": "0001-02-01"},
    )
    assert set(_errors(too_early)) == {"end_date"}
    born_ended = api.post(
        URL, json={"kind": "mou", "title": "MoU", "parties": parties, "status": "expired"}
    )
    assert "starts as a draft" in _errors(born_ended)["status"]
    for body in (
        {"kind": "loan", "title": "X", "parties": parties},
        {"kind": "mou", "title": "X", "parties": parties, "renewal_notice_days": -1},
        {"kind": "mou", "title": "X", "parties": parties, "signed_date": "yesterday"},
        {"kind": "mou", "title": "X", "parties": parties, "id": 5},
        {"kind": "mou", "title": "X", "parties": parties, "unknown": 1},
        {"kind": "mou", "title": "X" * 301, "parties": parties},
        # JSON's types, as the document gives them: no 1 for true, no "90" for 90.
        {"kind": "mou", "title": "X", "parties": parties, "is_public": 1},
        {"kind": "mou", "title": "X", "parties": parties, "renewal_notice_days": "90"},
        {"kind": "mou", "title": "X", "parties": [{"organisation_id": str(lif.id)}]},
    ):
        assert _errors(api.post(URL, json=body)), body
    not_json = api.post(URL, data="title=X", content_type="text/plain")
    assert not_json.status_code in (415, 422)
    assert not_json.mimetype == PROBLEM
    assert _count(db) == 0


def test_a_status_change_follows_the_lifecycle_through_the_pages_service(api_client, db):
    api = api_client(Role.MEMBER)
    lif = make_organisation("Lif")
    agreement = make_agreement("Ramavtal", parties=[lif])
    url = f"{URL}{agreement.id}"
    changes = []

    def receiver(sender, **kwargs):
        actor_id = kwargs["actor"].id
        changes.append((sender.id, kwargs["old_status"], kwargs["new_status"], actor_id))

    with status_changed.connected_to(receiver):
        refused = api.patch(url, json={"status": "active"})
        assert _errors(refused) == {"status": "An agreement cannot go from Draft to Active."}
        no_date = api.patch(url, json={"status": "signed"})
        assert "Enter the date the agreement was signed" in _errors(no_date)["signed_date"]
        assert changes == []
        assert api.get(url).json["status"] == "draft"

        signed = api.patch(url, json={"status": "signed", "signed_date": TODAY.isoformat()})
        assert signed.status_code == 200, signed.json
        assert signed.json["status"] == "signed"
        assert signed.json["allowed_statuses"] == ["active", "terminated"]
        ended = api.patch(url, json={"status": "terminated"})
        assert ended.status_code == 200, ended.json
        final = api.patch(url, json={"status": "draft"})
        assert "cannot go from Terminated to Draft" in _errors(final)["status"]

    assert changes == [
        (agreement.id, AgreementStatus.DRAFT, AgreementStatus.SIGNED, api.user.id),
        (agreement.id, AgreementStatus.SIGNED, AgreementStatus.TERMINATED, api.user.id),
    ]
    history = db.session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.entity_type == "agreements", AuditEntry.entity_id == agreement.id)
        .order_by(AuditEntry.id)
    ).all()
    assert [entry.changes.get("status") for entry in history[1:]] == [
        ["draft", "signed"],
        ["signed", "terminated"],
    ]


def test_a_change_keeps_the_fields_it_does_not_name(api_client, db):
    api = api_client(Role.MEMBER)
    lif = make_organisation("Lif")
    region = make_organisation("Region Skåne")
    agreement = make_agreement(
        "Ramavtal",
        parties=[(lif, PartyRole.SIGNATORY), region],
        our_signatory="Rektor",
        start_date=date(2026, 1, 1),
        end_date=date(2028, 1, 1),
        renewal_notice_days=60,
        covers_members=True,
        description="Med branschföreningarna.",
    )
    url = f"{URL}{agreement.id}"
    before = api.get(url).json

    changed = api.patch(url, json={"description": "Förnyat."})
    assert changed.status_code == 200, changed.json
    after = changed.json
    assert after["description"] == "Förnyat."
    for name in ("parties", "our_signatory", "start_date", "end_date", "renewal_notice_days"):
        assert after[name] == before[name], name
    assert after["covers_members"] is True

    # A list of parties replaces the whole list.
    parties = api.patch(url, json={"parties": [{"organisation_id": region.id, "role": "observer"}]})
    assert [(p["organisation_name"], p["role"]) for p in parties.json["parties"]] == [
        ("Region Skåne", "observer")
    ]
    cleared = api.patch(url, json={"end_date": None, "our_signatory": None})
    assert cleared.json["end_date"] is None and cleared.json["our_signatory"] is None
    assert cleared.json["renewal_notice_date"] is None

    refused = api.patch(url, json={"title": "", "parties": []})
    assert set(_errors(refused)) == {"title", "parties"}
    db.session.expire_all()
    assert api.get(url).json["title"] == "Ramavtal"


def test_roles_as_on_the_pages(api_client, db):
    lif = make_organisation("Lif")
    agreement = make_agreement("Ramavtal", parties=[lif])
    url = f"{URL}{agreement.id}"
    body = {"kind": "mou", "title": "MoU", "parties": [{"organisation_id": lif.id}]}

    # A viewer's tokens are read-only; one made while its user was a member is refused by
    # the role, as the pages refuse a viewer.
    viewer = api_client(Role.MEMBER)
    viewer.user.role = Role.VIEWER
    db.session.commit()
    assert viewer.get(url).status_code == 200
    assert viewer.get(URL).status_code == 200
    assert viewer.post(URL, json=body).status_code == 403
    assert viewer.patch(url, json={"title": "Nytt"}).status_code == 403
    member = api_client(Role.MEMBER)
    assert member.patch(url, json={"title": "Nytt"}).status_code == 200
    assert member.delete(url).status_code == 403
    assert member.get(f"{URL}?deleted=true").status_code == 403
    coordinator = api_client(Role.COORDINATOR)
    assert coordinator.delete(url).status_code == 204
    assert member.get(url).status_code == 404
    assert member.patch(url, json={"title": "Igen"}).status_code == 404
    assert _titles(member) == []
    assert coordinator.get(url).json["deleted_at"] is not None
    assert _titles(coordinator, "deleted=true") == ["Nytt"]
    assert coordinator.delete(url).status_code == 404


def test_a_read_only_token_only_reads(api_client, db):
    lif = make_organisation("Lif")
    agreement = make_agreement("Ramavtal", parties=[lif])
    api = api_client(Role.ADMIN, ApiScope.READ)
    assert api.get(f"{URL}{agreement.id}").status_code == 200
    body = {"kind": "mou", "title": "MoU", "parties": [{"organisation_id": lif.id}]}
    for response in (
        api.post(URL, json=body),
        api.patch(f"{URL}{agreement.id}", json={"status": "negotiation"}),
        api.delete(f"{URL}{agreement.id}"),
    ):
        assert response.status_code == 403
        assert response.mimetype == PROBLEM
        assert "insufficient_scope" in response.headers["WWW-Authenticate"]
    assert _count(db) == 1
    assert api.get(f"{URL}{agreement.id}").json["status"] == "draft"
