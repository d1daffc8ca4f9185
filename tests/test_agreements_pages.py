"""Agreement pages: create and edit with several parties, status buttons, roles, the list's
filters, query count and export, the detail page's sections and history."""

import csv
import io
import re
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from crm.activities import services as activity_services
from crm.activities.models import ActivityKind
from crm.agreements.models import Agreement, AgreementKind, AgreementStatus, PartyRole
from crm.core.models import AuditEntry
from crm.organisations import services
from crm.organisations.models import OrganisationKind
from tests.conftest import TEST_PASSWORD

ROWS = 3
TODAY = date.today()


@pytest.fixture
def signed_in(client, login):
    def sign_in(role):
        user = login(role)
        client.post("/language/en?next=/")
        return user

    return sign_in


def form_data(**overrides):
    data = {
        "kind": "mou",
        "title": "Biobank MoU",
        "our_signatory": "Vice-Chancellor",
        "status": "draft",
        "signed_date": "",
        "start_date": "",
        "end_date": "",
        "renewal_notice_days": "90",
        "owner_id": "",
        "description": "",
    }
    for row in range(ROWS):
        data[f"parties-{row}-organisation"] = ""
        data[f"parties-{row}-role"] = "party"
    data.update(overrides)
    return data


def all_agreements(db):
    return db.session.scalars(sa.select(Agreement).order_by(Agreement.id)).all()


def titles_in(html):
    return re.findall(r'href="/agreements/\d+">([^<]+)</a>', html)


@contextmanager
def count_queries(db):
    statements = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)


# ---------------------------------------------------------------- create and edit


def test_create_with_two_parties(client, db, signed_in, make_organisation):
    me = signed_in("member")
    uppsala = make_organisation("Uppsala Biobank AB")
    karolinska = make_organisation("Karolinska Lab")

    form = client.get("/agreements/new").get_data(as_text=True)
    assert f'<option selected value="{me.id}">' in form  # owner defaults to me
    response = client.post(
        "/agreements/new",
        data=form_data(
            status="signed",
            signed_date=(TODAY - timedelta(days=3)).isoformat(),
            start_date=TODAY.isoformat(),
            end_date=(TODAY + timedelta(days=365)).isoformat(),
            renewal_notice_days="60",
            owner_id=str(me.id),
            covers_members="y",
            **{
                "parties-0-organisation": "Uppsala Biobank AB",
                "parties-0-role": "signatory",
                "parties-1-organisation": f"Karolinska Lab (#{karolinska.id})",
                "parties-1-role": "observer",
            },
        ),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    (agreement,) = all_agreements(db)
    assert re.search(rf"/agreements/{agreement.id}$", response.headers["Location"])
    assert {party.organisation.name: party.role for party in agreement.parties} == {
        "Uppsala Biobank AB": PartyRole.SIGNATORY,
        "Karolinska Lab": PartyRole.OBSERVER,
    }
    assert agreement.status == AgreementStatus.SIGNED
    assert agreement.owner_id == me.id
    assert agreement.covers_members is True

    page = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    assert "Biobank MoU" in page
    assert f'href="/organisations/{uppsala.id}"' in page
    assert "Observer" in page and "Vice-Chancellor" in page
    notice = agreement.end_date - timedelta(days=60)
    assert f"{notice.year}" in page and "60 days before the end" in page
    assert "Karolinska Lab (observer)" in page  # the history
    assert f'href="/documents/new?agreement_id={agreement.id}"' in page
    assert f"/tasks/new?agreement_id={agreement.id}" in page


def test_new_prefills_the_organisation(client, signed_in, make_organisation):
    signed_in("member")
    one = make_organisation("One AB")
    form = client.get(f"/agreements/new?organisation_id={one.id}").get_data(as_text=True)
    assert f'value="One AB (#{one.id})"' in form
    assert client.get("/agreements/new?organisation_id=abc").status_code == 200


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({}, "Name at least one party."),
        (
            {
                "parties-0-organisation": "One AB",
                "parties-1-organisation": "One AB",
                "parties-1-role": "observer",
            },
            "An organisation is listed twice; give it one role.",
        ),
        (
            {
                "parties-0-organisation": "One AB",
                "start_date": "2026-05-01",
                "end_date": "2026-04-01",
            },
            "The end date cannot be before the start date.",
        ),
        (
            {"parties-0-organisation": "One AB", "status": "active"},
            "Enter the date the agreement was signed",
        ),
        (
            {
                "parties-0-organisation": "One AB",
                # Two days ahead: the office's today (Stockholm) can be a day ahead of this
                # machine's, and this list is built when the module is imported.
                "signed_date": (TODAY + timedelta(days=2)).isoformat(),
            },
            "The signed date cannot be in the future.",
        ),
        (
            {
                "parties-0-organisation": "One AB",
                "status": "active",
                "signed_date": (TODAY - timedelta(days=1)).isoformat(),
                "start_date": (TODAY - timedelta(days=10)).isoformat(),
            },
            "An active agreement must be signed on or before its start date.",
        ),
        ({"parties-0-organisation": "One AB", "status": "expired"}, "Not a valid choice"),
        ({"parties-0-organisation": "Nobody AB"}, "There is no organisation called Nobody AB."),
        (
            {"parties-0-organisation": "One AB", "renewal_notice_days": "-5"},
            "Enter a number of days from 0 to 3650.",
        ),
    ],
)
def test_create_refused_changes_nothing(
    client, db, signed_in, make_organisation, overrides, message
):
    signed_in("member")
    make_organisation("One AB")
    response = client.post("/agreements/new", data=form_data(**overrides))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert all_agreements(db) == []


def test_edit_changes_parties_and_records_history(
    client, db, signed_in, make_organisation, make_agreement
):
    signed_in("member")
    one, two, three = (make_organisation(name) for name in ("One AB", "Two AB", "Three AB"))
    agreement = make_agreement("Framework", parties=[one, two])

    form = client.get(f"/agreements/{agreement.id}/edit").get_data(as_text=True)
    assert f"One AB (#{one.id})" in form
    # Only the statuses the lifecycle allows from draft are offered.
    assert 'value="negotiation"' in form and 'value="active"' not in form

    response = client.post(
        f"/agreements/{agreement.id}/edit",
        data=form_data(
            title="Framework agreement",
            status="negotiation",
            **{
                "parties-0-organisation": f"Two AB (#{two.id})",
                "parties-0-role": "signatory",
                "parties-1-organisation": "Three AB",
            },
        ),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.refresh(agreement)
    assert agreement.title == "Framework agreement"
    assert agreement.status == AgreementStatus.NEGOTIATION
    assert sorted(party.organisation.name for party in agreement.parties) == [
        "Three AB",
        "Two AB",
    ]
    page = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    history = page[page.index('id="history-heading"') :]
    assert "Framework → Framework agreement" in history
    assert "Draft → Negotiation" in history
    assert "One AB (party)" in history and "Two AB (signatory)" in history


def test_edit_refuses_a_transition_the_lifecycle_forbids(
    client, db, signed_in, make_organisation, make_agreement
):
    signed_in("member")
    one = make_organisation("One AB")
    agreement = make_agreement("NDA", parties=[one])
    response = client.post(
        f"/agreements/{agreement.id}/edit",
        data=form_data(title="NDA", status="active", **{"parties-0-organisation": "One AB"}),
    )
    assert response.status_code == 200
    assert "Not a valid choice" in response.get_data(as_text=True)
    db.session.refresh(agreement)
    assert agreement.status == AgreementStatus.DRAFT


def test_edit_without_parties_is_refused(client, db, signed_in, make_organisation, make_agreement):
    signed_in("member")
    agreement = make_agreement("NDA", parties=[make_organisation("One AB")])
    response = client.post(f"/agreements/{agreement.id}/edit", data=form_data(title="Renamed NDA"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Name at least one party." in html and 'id="parties-error"' in html
    db.session.refresh(agreement)
    assert agreement.title == "NDA" and len(agreement.parties) == 1


# ---------------------------------------------------------------- status buttons


def test_status_buttons_follow_the_lifecycle(
    client, db, signed_in, make_organisation, make_agreement
):
    signed_in("member")
    one = make_organisation("One AB")
    agreement = make_agreement(
        "MoU",
        parties=[one],
        signed_date=TODAY - timedelta(days=5),
        start_date=TODAY - timedelta(days=2),
    )
    page = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    assert "Mark as Signed" in page and "Mark as Negotiation" in page
    assert "Mark as Active" not in page

    url = f"/agreements/{agreement.id}/status"
    response = client.post(url, data={"status": "active"}, follow_redirects=True)
    assert "cannot go from Draft to Active" in response.get_data(as_text=True)
    db.session.refresh(agreement)
    assert agreement.status == AgreementStatus.DRAFT

    for status in ("signed", "active", "expired", "active", "terminated"):
        response = client.post(url, data={"status": status})
        assert response.status_code == 302
        db.session.refresh(agreement)
        assert agreement.status == AgreementStatus(status)
    page = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    assert "Mark as" not in page

    response = client.post(url, data={"status": "bogus"}, follow_redirects=True)
    assert response.status_code == 200
    db.session.refresh(agreement)
    assert agreement.status == AgreementStatus.TERMINATED


@pytest.mark.config(WTF_CSRF_ENABLED=True)
def test_status_change_needs_the_csrf_token(
    client, db, make_user, make_organisation, make_agreement
):
    member = make_user("member")
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page).group(1)
    credentials = {"email": member.email, "password": TEST_PASSWORD, "csrf_token": token}
    assert client.post("/login", data=credentials).status_code == 302
    agreement = make_agreement("MoU", parties=[make_organisation("One AB")])
    url = f"/agreements/{agreement.id}/status"
    assert client.post(url, data={"status": "negotiation"}).status_code == 400
    db.session.refresh(agreement)
    assert agreement.status == AgreementStatus.DRAFT

    page = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    client.post(url, data={"status": "negotiation", "csrf_token": token})
    db.session.refresh(agreement)
    assert agreement.status == AgreementStatus.NEGOTIATION


def test_status_change_to_signed_needs_a_signed_date(
    client, db, signed_in, make_organisation, make_agreement
):
    signed_in("member")
    agreement = make_agreement("MoU", parties=[make_organisation("One AB")])
    response = client.post(
        f"/agreements/{agreement.id}/status", data={"status": "signed"}, follow_redirects=True
    )
    assert "Enter the date the agreement was signed" in response.get_data(as_text=True)
    db.session.refresh(agreement)
    assert agreement.status == AgreementStatus.DRAFT


# ---------------------------------------------------------------- roles


def test_viewer_reads_but_cannot_change(client, db, signed_in, make_organisation, make_agreement):
    signed_in("viewer")
    agreement = make_agreement("MoU", parties=[make_organisation("One AB")])
    assert client.get("/agreements/").status_code == 200
    page = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    assert "MoU" in page and "Mark as" not in page and "/edit" not in page
    assert client.get("/agreements/new").status_code == 403
    assert client.post("/agreements/new", data=form_data()).status_code == 403
    assert client.get(f"/agreements/{agreement.id}/edit").status_code == 403
    assert (
        client.post(
            f"/agreements/{agreement.id}/status", data={"status": "negotiation"}
        ).status_code
        == 403
    )
    db.session.refresh(agreement)
    assert agreement.status == AgreementStatus.DRAFT


def test_member_cannot_delete(client, db, signed_in, make_organisation, make_agreement):
    signed_in("member")
    agreement = make_agreement("MoU", parties=[make_organisation("One AB")])
    assert "/delete" not in client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    assert client.get(f"/agreements/{agreement.id}/delete").status_code == 403
    assert client.post(f"/agreements/{agreement.id}/delete").status_code == 403
    db.session.refresh(agreement)
    assert agreement.deleted_at is None


def test_coordinator_deletes_and_restores(
    client, db, signed_in, login, make_organisation, make_agreement
):
    signed_in("coordinator")
    agreement = make_agreement("MoU", parties=[make_organisation("One AB")])
    confirm = client.get(f"/agreements/{agreement.id}/delete")
    assert "Delete MoU?" in confirm.get_data(as_text=True)
    response = client.post(f"/agreements/{agreement.id}/delete", follow_redirects=True)
    assert "deleted" in response.get_data(as_text=True)
    db.session.refresh(agreement)
    assert agreement.deleted_at is not None
    assert titles_in(client.get("/agreements/").get_data(as_text=True)) == []
    deleted_list = client.get("/agreements/?deleted=1").get_data(as_text=True)
    assert titles_in(deleted_list) == ["MoU"]
    assert "This agreement is deleted." in client.get(f"/agreements/{agreement.id}").get_data(
        as_text=True
    )

    client.post("/logout")
    signed_in("member")
    assert client.get(f"/agreements/{agreement.id}").status_code == 404
    assert titles_in(client.get("/agreements/?deleted=1").get_data(as_text=True)) == []

    client.post("/logout")
    signed_in("coordinator")
    response = client.post(f"/agreements/{agreement.id}/restore")
    assert response.status_code == 302
    db.session.refresh(agreement)
    assert agreement.deleted_at is None
    actions = db.session.scalars(
        sa.select(AuditEntry.action)
        .where(AuditEntry.entity_type == "agreements")
        .order_by(AuditEntry.id)
    ).all()
    assert actions == ["create", "delete", "restore"]


def test_unknown_agreement_is_404(client, signed_in):
    signed_in("viewer")
    assert client.get("/agreements/999999").status_code == 404
    assert client.get("/agreements/99999999999").status_code == 404


# ---------------------------------------------------------------- the list


def test_list_filters(client, signed_in, make_user, make_organisation, make_agreement):
    me = signed_in("viewer")
    other = make_user("member", name="Olle Other")
    one, two = make_organisation("One AB"), make_organisation("Two AB")
    make_agreement(
        "Alpha NDA",
        parties=[one],
        kind=AgreementKind.NDA,
        owner_id=other.id,
        end_date=TODAY + timedelta(days=20),
    )
    make_agreement(
        "Beta framework",
        parties=[one, two],
        kind=AgreementKind.FRAMEWORK,
        status=AgreementStatus.SIGNED,
        signed_date=TODAY,
        end_date=TODAY + timedelta(days=200),
    )
    make_agreement("Gamma MoU", parties=[two], end_date=TODAY - timedelta(days=1))

    def titles(query):
        response = client.get(f"/agreements/?{query}")
        assert response.status_code == 200
        return titles_in(response.get_data(as_text=True))

    assert titles("") == ["Alpha NDA", "Beta framework", "Gamma MoU"]
    assert titles("kind=nda") == ["Alpha NDA"]
    assert titles("status=signed") == ["Beta framework"]
    assert titles(f"party={two.id}") == ["Beta framework", "Gamma MoU"]
    assert titles(f"owner={other.id}") == ["Alpha NDA"]
    assert titles(f"owner={me.id}") == []
    assert titles("ending=30") == ["Alpha NDA"]
    assert titles("ending=365") == ["Alpha NDA", "Beta framework"]
    assert titles("q=frame") == ["Beta framework"]
    assert titles("q=%25") == []
    assert titles("sort=-end") == ["Beta framework", "Alpha NDA", "Gamma MoU"]
    assert titles("sort=end") == ["Gamma MoU", "Alpha NDA", "Beta framework"]
    assert titles("sort=-title") == ["Gamma MoU", "Beta framework", "Alpha NDA"]
    # Nonsense falls back rather than failing.
    assert titles("kind=x&status=y&party=abc&owner=-1&ending=soon&sort=drop") == [
        "Alpha NDA",
        "Beta framework",
        "Gamma MoU",
    ]
    html = client.get("/agreements/?kind=other").get_data(as_text=True)
    assert "No agreements match." in html


def test_list_empty_state(client, signed_in):
    signed_in("viewer")
    assert "No agreements yet." in client.get("/agreements/").get_data(as_text=True)


def test_list_shows_parties(client, signed_in, make_organisation, make_agreement):
    signed_in("viewer")
    make_agreement("Pact", parties=[make_organisation("Zeta AB"), make_organisation("Alfa AB")])
    assert "Alfa AB, Zeta AB" in client.get("/agreements/").get_data(as_text=True)


def test_list_query_count_does_not_grow(
    client, db, signed_in, make_organisation, make_agreement, make_user
):
    signed_in("viewer")
    owner = make_user("member")

    def make_rows(start, count):
        for number in range(start, start + count):
            parties = [make_organisation(f"Org {number}"), make_organisation(f"Other {number}")]
            make_agreement(f"Agreement {number}", parties=parties, owner_id=owner.id)

    def count_for(url):
        with count_queries(db) as statements:
            response = client.get(url)
            response.get_data()
        assert response.status_code == 200
        return len(statements)

    make_rows(0, 3)
    few = count_for("/agreements/"), count_for("/agreements/export.csv")
    make_rows(3, 20)
    many = count_for("/agreements/"), count_for("/agreements/export.csv")
    assert many == few


def test_csv_export_of_the_filtered_list(
    client, signed_in, make_user, make_organisation, make_agreement
):
    signed_in("viewer")
    owner = make_user("member", name="Olle Owner")
    make_agreement(
        "=HYPERLINK(1)",
        parties=[make_organisation("One AB"), (make_organisation("@Two"), PartyRole.OBSERVER)],
        kind=AgreementKind.NDA,
        owner_id=owner.id,
        end_date=date(2027, 12, 31),
        renewal_notice_days=31,
        description="-1+2",
    )
    make_agreement("Other", parties=[make_organisation("Three AB")])
    response = client.get("/agreements/export.csv?kind=nda")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    header, row = rows[0], rows[1]
    assert len(rows) == 2
    record = dict(zip(header, row, strict=True))
    assert record["title"] == "'=HYPERLINK(1)"
    assert record["kind"] == "nda"
    assert record["parties"] == "'@Two (observer); One AB (party)"
    assert record["owner"] == "Olle Owner"
    assert record["end_date"] == "2027-12-31"
    assert record["renewal_notice_date"] == "2027-11-30"
    assert record["description"] == "'-1+2"


# ---------------------------------------------------------------- the detail page


def test_detail_lists_activities_under_it(client, db, signed_in, make_organisation, make_agreement):
    signed_in("viewer")
    agreement = make_agreement("MoU", parties=[make_organisation("One AB")])
    for title, day in (("Older meeting", date(2026, 1, 5)), ("Newer workshop", date(2026, 3, 5))):
        activity_services.create_activity(
            {
                "kind": ActivityKind.WORKSHOP,
                "title": title,
                "start_date": day,
                "agreement_id": agreement.id,
            },
            actor=None,
        )
    activity_services.create_activity(
        {"kind": ActivityKind.WORKSHOP, "title": "Unrelated", "start_date": date(2026, 2, 1)},
        actor=None,
    )
    db.session.commit()
    page = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    section = page[page.index('id="activities-heading"') :]
    section = section[: section.index("</section>")]
    assert re.findall(r'href="/activities/\d+">([^<]+)</a>', section) == [
        "Newer workshop",
        "Older meeting",
    ]


def test_detail_lists_covered_members(client, db, signed_in, make_organisation, make_agreement):
    signed_in("viewer")
    association = make_organisation(
        "Swedish Lab Association", kind=OrganisationKind.INDUSTRY_ASSOCIATION
    )
    member = make_organisation("Member Lab AB")
    late = make_organisation("Late Joiner AB")
    services.add_membership(member, association, since=date(2020, 1, 1), actor=None)
    services.add_membership(late, association, since=date(2030, 1, 1), actor=None)
    db.session.commit()
    agreement = make_agreement(
        "Framework",
        parties=[(association, PartyRole.SIGNATORY)],
        covers_members=True,
        start_date=date(2025, 1, 1),
        end_date=date(2027, 12, 31),
    )
    page = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    assert "Covered members" in page
    assert "Member Lab AB" in page and "through Swedish Lab Association" in page
    assert "Late Joiner AB" not in page

    plain = make_agreement("Plain", parties=[association])
    assert "Covered members" not in client.get(f"/agreements/{plain.id}").get_data(as_text=True)
