"""Organisation pages: list, export, forms, duplicates, memberships, delete, merge, roles."""

import csv
import io
import re
from datetime import date

import pytest
import sqlalchemy as sa

from crm.activities import task_services
from crm.core.models import AuditEntry
from crm.core.types import utcnow
from crm.organisations import services
from crm.organisations.models import (
    Contact,
    Membership,
    Organisation,
    OrganisationKind,
    Sector,
)
from tests.conftest import TEST_PASSWORD
from tests.helpers import analyze, sqlite_plans

VALID_NUMBER = "556036-0793"


def organisation_named(db, name):
    return db.session.scalar(sa.select(Organisation).where(Organisation.name == name))


def count_organisations(db):
    return db.session.scalar(sa.select(sa.func.count()).select_from(Organisation))


def form_data(**fields):
    """The form as a browser sends it: every field the page shows (unticked boxes left out)."""
    data = {"kind": "company", "name": "Ångström Diagnostik AB", "country": "SE"}
    for name in ("org_number", "website", "email_domains", "city", "size_class"):
        data[name] = ""
    data.update(description="", tags="", owner_id="")
    data.update(fields)
    return data


def listed_names(html):
    """Names in the list's table, in order."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return re.findall(r'<td><a href="/organisations/\d+">([^<]*)</a>', body)


# ---------------------------------------------------------------- list


def test_list_search_is_accent_and_case_blind(client, signed_in, make_organisation):
    signed_in("viewer")
    make_organisation("Läkemedelsindustriföreningen", city="Stockholm", org_number="802002-4280")
    make_organisation("Roche AB", city="Solna")

    for query in ("lakemedel", "LÄKEMEDEL", "8020024280", "802002-4280"):
        html = client.get("/organisations/", query_string={"q": query}).get_data(as_text=True)
        assert listed_names(html) == ["Läkemedelsindustriföreningen"], query
        assert "1 organisation" in html

    html = client.get("/organisations/?q=nothing+like+this").get_data(as_text=True)
    assert "No organisations match" in html
    assert 'href="/organisations/"' in html


def test_show_all_in_the_list_lists_what_the_search_page_counted(
    client, signed_in, make_organisation, make_contact
):
    signed_in("viewer")
    for number in range(12):
        make_organisation(f"Genomics Partner {number} AB")
        make_contact(first_name="Gunilla", last_name=f"Berg{number}")
    # A word inside another word is not a match, on the search page or in the list.
    make_organisation("Metagenomicsbolaget AB")
    make_contact(first_name="Agunilla", last_name="Lund")

    for kind, words in (("organisations", "genomics"), ("contacts", "GUNIL")):
        search = client.get("/search/", query_string={"q": words}).get_data(as_text=True)
        assert "Showing the first 10 of 12." in search, kind
        more = re.search(rf'href="(/{kind}/\?q=[^"]+)">Show all in the list', search).group(1)
        listed = client.get(more).get_data(as_text=True)
        assert f"12 {kind}" in listed, kind


def test_list_filters_and_sorting(client, signed_in, make_organisation, make_user):
    owner = make_user("member", name="Olle Owner")
    make_organisation(
        "Beta Pharma",
        city="Uppsala",
        sectors=[Sector.PHARMA],
        tags=["Oncology"],
        owner_id=owner.id,
    )
    make_organisation("Alpha Medtech", city="Lund", sectors=[Sector.MEDTECH])
    make_organisation(
        "Gamma Region", kind=OrganisationKind.HEALTHCARE_REGION, city="Malmö", is_partner=True
    )
    signed_in("viewer")

    def names(**args):
        response = client.get("/organisations/", query_string=args)
        assert response.status_code == 200
        return listed_names(response.get_data(as_text=True))

    assert names() == ["Alpha Medtech", "Beta Pharma", "Gamma Region"]
    assert names(sort="-name") == ["Gamma Region", "Beta Pharma", "Alpha Medtech"]
    assert names(sort="city") == ["Alpha Medtech", "Gamma Region", "Beta Pharma"]
    assert names(sort="kind") == ["Alpha Medtech", "Beta Pharma", "Gamma Region"]
    assert names(kind="healthcare_region") == ["Gamma Region"]
    assert names(sector="pharma") == ["Beta Pharma"]
    assert names(tag="oncology") == ["Beta Pharma"]
    assert names(partner="yes") == ["Gamma Region"]
    assert names(partner="no") == ["Alpha Medtech", "Beta Pharma"]
    assert names(owner=owner.id) == ["Beta Pharma"]
    # Values that mean nothing are ignored rather than failing.
    assert len(names(kind="spaceship", sector="x", partner="maybe", owner="me", sort="x")) == 3
    assert len(names(page="zero", per_page="many")) == 3


def test_filtering_by_someone_who_owns_few_reads_only_theirs(client, db, signed_in, make_user):
    """The lists' filter by owner goes by an index of owner and name order: the records of
    someone who owns a few are found without walking every record in name order (which,
    with the planner's statistics of a register where most records have one of a few
    owners, is what the database did)."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL scans tables this small whatever the indexes")
    busy, new = make_user("member"), make_user("member")
    now = utcnow()
    ids = db.session.scalars(
        sa.insert(Organisation).returning(Organisation.id),
        [
            {"kind": OrganisationKind.COMPANY, "name": f"Company {number:04d}",
             "owner_id": new.id if number in (7, 2999) else busy.id,
             "search_text": "", "name_key": f"company {number}",
             "created_at": now, "updated_at": now}
            for number in range(3000)
        ],
    ).all()  # fmt: skip
    db.session.execute(
        sa.insert(Contact),
        [
            {"first_name": "Kim", "last_name": f"Person {number:04d}",
             "email": f"p{number}@example.org", "organisation_id": ids[number],
             "owner_id": new.id if number in (7, 2999) else busy.id, "search_text": "",
             "created_at": now, "updated_at": now}
            for number in range(3000)
        ],
    )  # fmt: skip
    analyze(db)
    signed_in("viewer")

    with sqlite_plans(db) as plans:
        organisations = client.get(f"/organisations/?owner={new.id}").get_data(as_text=True)
        contacts = client.get(f"/contacts/?owner_id={new.id}").get_data(as_text=True)

    assert listed_names(organisations) == ["Company 0007", "Company 2999"]
    assert "Person 0007" in contacts and "Person 2999" in contacts
    reads = [line for lines in plans for line in lines]
    assert any("ix_organisations_live_owner_name" in line for line in reads), reads
    assert any("ix_contacts_live_owner_name" in line for line in reads), reads
    walks = ("USING INDEX ix_organisations_live_name", "USING INDEX ix_contacts_live_name")
    assert not [line for line in reads if any(walk in line for walk in walks)], reads


def test_a_deep_page_of_a_filtered_list_reads_only_an_index(client, db, signed_in, make_user):
    """Page 45 of the companies by city: the ids of the rows skipped are read and checked
    in the index of that order, which holds the columns the list filters by, not by reading
    each organisation to test its kind (the same walk finds a rare value's few records:
    the associations by city took 340 ms at 100,000)."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plans read here are SQLite's")
    owner = make_user("member")
    now = utcnow()
    db.session.execute(
        sa.insert(Organisation),
        [
            {"kind": OrganisationKind.COMPANY if number % 10 else OrganisationKind.UNIVERSITY,
             "name": f"Company {number:04d}", "city": f"City {number % 37}",
             "owner_id": owner.id, "search_text": "", "name_key": f"company {number}",
             "created_at": now, "updated_at": now}
            for number in range(1300)
        ],
    )  # fmt: skip
    analyze(db)
    signed_in("viewer")

    with sqlite_plans(db, "SELECT organisations.id FROM organisations") as plans:
        page = client.get("/organisations/?kind=company&sort=city&page=45")

    assert len(listed_names(page.get_data(as_text=True))) == 25
    lines = [line for lines in plans for line in lines]
    assert any("COVERING INDEX ix_organisations_live_city" in line for line in lines), lines


def test_list_paginates(client, signed_in, make_organisation):
    signed_in("viewer")
    for number in range(30):
        make_organisation(f"Company {number:02d}")

    first = client.get("/organisations/").get_data(as_text=True)
    second = client.get("/organisations/?page=2").get_data(as_text=True)

    assert len(listed_names(first)) == 25
    assert listed_names(second) == [f"Company {number}" for number in range(25, 30)]
    assert "30 organisations" in first


def count_queries(client, db, url):
    """(number of SQL statements, response) for one request, its body read in full."""
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = client.get(url)
        body = response.get_data(as_text=True)  # a streamed body runs its queries now
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len(statements), body


@pytest.mark.parametrize(
    ("url", "rows_in"),
    [
        ("/organisations/?per_page=50", listed_names),
        ("/organisations/export.csv", lambda body: body.strip().splitlines()[1:]),
    ],
    ids=["list", "export"],
)
def test_query_count_does_not_grow_with_rows(
    client, db, signed_in, make_organisation, url, rows_in
):
    signed_in("viewer")
    owner = signed_in("member")

    def add(count, start):
        for number in range(start, start + count):
            make_organisation(
                f"Company {number:03d}",
                city="Lund",
                sectors=[Sector.PHARMA, Sector.BIOTECH],
                tags=[f"tag{number % 3}"],
                email_domains=[f"company{number}.se"],
                owner_id=owner.id,
            )

    add(5, 0)
    client.get(url)  # warm up: nothing done once per process is counted
    few, body = count_queries(client, db, url)
    assert len(rows_in(body)) == 5
    add(45, 5)
    many, body = count_queries(client, db, url)
    assert len(rows_in(body)) == 50

    assert few == many


def test_coordinators_list_deleted_organisations_and_restore_them(
    client, db, signed_in, make_organisation
):
    signed_in("coordinator")
    gone = make_organisation("Gone AB")
    make_organisation("Here AB")
    client.post(f"/organisations/{gone.id}/delete")

    assert listed_names(client.get("/organisations/").get_data(as_text=True)) == ["Here AB"]
    html = client.get("/organisations/?deleted=1").get_data(as_text=True)
    assert listed_names(html) == ["Gone AB"]
    assert f'action="/organisations/{gone.id}/restore"' in html

    response = client.post(f"/organisations/{gone.id}/restore")
    assert response.status_code == 302
    assert organisation_named(db, "Gone AB").deleted_at is None


def test_members_cannot_list_deleted_ones(client, signed_in, make_organisation, db):
    signed_in("member")
    gone = make_organisation("Gone AB")
    gone.deleted_at = gone.created_at
    db.session.commit()

    html = client.get("/organisations/?deleted=1").get_data(as_text=True)

    assert listed_names(html) == []
    assert "Show deleted" not in html


# ---------------------------------------------------------------- export


def read_csv(response):
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_export_has_exactly_the_filtered_rows_of_every_page(client, signed_in, make_organisation):
    signed_in("viewer")
    for number in range(30):
        make_organisation(f"Company {number:02d}", sectors=[Sector.PHARMA])
    make_organisation("Region Skåne", kind=OrganisationKind.HEALTHCARE_REGION)
    make_organisation(
        "Lif",
        kind=OrganisationKind.INDUSTRY_ASSOCIATION,
        org_number="802002-4280",
        website="https://www.lif.se",
        email_domains=["lif.se", "lakemedel.se"],
        tags=["framework"],
        city="Stockholm",
    )

    rows = read_csv(client.get("/organisations/export.csv?kind=company&sort=-name&page=2"))
    assert [row["name"] for row in rows] == [
        f"Company {number:02d}" for number in range(29, -1, -1)
    ]
    assert {row["sectors"] for row in rows} == {"pharma"}

    (lif,) = read_csv(client.get("/organisations/export.csv?q=lif"))
    assert lif["kind"] == "industry_association"
    assert lif["org_number"] == "802002-4280"
    assert lif["email_domains"] == "lakemedel.se, lif.se"
    assert lif["tags"] == "framework"
    assert lif["is_partner"] == "0"
    assert list(lif) == [
        "id",
        "name",
        "kind",
        "org_number",
        "website",
        "email_domains",
        "country",
        "city",
        "sectors",
        "tags",
        "size_class",
        "is_partner",
        "owner_email",
        "created_at",
        "updated_at",
    ]


def test_export_escapes_formulas(client, signed_in, make_organisation):
    signed_in("viewer")
    make_organisation('=HYPERLINK("http://evil.example","click")', city="+46 Lund")

    (row,) = read_csv(client.get("/organisations/export.csv"))

    assert row["name"] == '\'=HYPERLINK("http://evil.example","click")'
    assert row["city"] == "'+46 Lund"


def test_the_list_links_to_the_export_with_its_filters(client, signed_in):
    signed_in("member")

    html = client.get("/organisations/?kind=company&q=x").get_data(as_text=True)

    assert re.search(r'href="/organisations/export\.csv\?[^"]*kind=company', html)
    assert 'href="/organisations/new"' in html


# ---------------------------------------------------------------- create and edit


def test_create_stores_normalised_values(client, db, signed_in, make_user):
    user = signed_in("member")
    owner = make_user("member", name="Olle Owner")

    response = client.post(
        "/organisations/new",
        data=form_data(
            org_number="5560360793",
            website="WWW.Angstrom.SE/",
            email_domains="@Angstrom.se, www.angstrom-dx.com\nhttps://mail.angstrom.se/",
            country="se",
            city="Uppsala",
            sectors=["diagnostics_lab", "biotech"],
            size_class="small",
            tags="Diagnostics, Spin-off,  diagnostics",
            owner_id=str(owner.id),
            description="Makes tests.",
        ),
    )

    organisation = organisation_named(db, "Ångström Diagnostik AB")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/organisations/{organisation.id}"
    assert organisation.org_number == VALID_NUMBER
    assert organisation.website == "https://www.angstrom.se"
    assert sorted(item.domain for item in organisation.email_domains) == [
        "angstrom-dx.com",
        "angstrom.se",
        "mail.angstrom.se",
    ]
    assert organisation.country == "SE"
    assert sorted(organisation.sector_values) == [Sector.BIOTECH, Sector.DIAGNOSTICS_LAB]
    assert organisation.size_class == "small"
    assert sorted(tag.name for tag in organisation.tags) == ["diagnostics", "spin-off"]
    assert organisation.is_partner is False
    assert organisation.owner_id == owner.id
    assert organisation.created_by_id == user.id
    entry = db.session.scalar(
        sa.select(AuditEntry).where(
            AuditEntry.entity_type == "organisations", AuditEntry.entity_id == organisation.id
        )
    )
    assert entry.action == "create"


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("556036-0794", "check digit is wrong"),
        ("55603-60793", "ten digits, NNNNNN-NNNN"),
        ("ABC", "ten digits, NNNNNN-NNNN"),
    ],
)
def test_a_bad_org_number_is_refused_with_a_clear_message(client, db, signed_in, number, message):
    signed_in("member")

    response = client.post("/organisations/new", data=form_data(org_number=number))

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in html
    assert 'id="org_number-error"' in html
    assert f'value="{number}"' in html  # what was typed stays
    assert count_organisations(db) == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"website": "not a website"}, "Enter a web address"),
        ({"email_domains": "lif.se, exa_mple.com"}, "“exa_mple.com” is not an e-mail domain"),
        ({"country": "Sweden"}, "two-letter country code"),
        ({"name": "   "}, "Enter the name"),
        ({"kind": "spaceship"}, "Not a valid choice"),
        ({"sectors": ["pharma", "astrology"]}, "not a valid choice"),
        ({"owner_id": "999999"}, "Not a valid choice"),
        ({"tags": "x" * 61}, "at most 60 characters"),
    ],
)
def test_bad_input_gives_a_message_and_creates_nothing(client, db, signed_in, fields, message):
    signed_in("member")

    response = client.post("/organisations/new", data=form_data(**fields))

    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert count_organisations(db) == 0


def test_duplicates_warn_and_same_number_is_an_error(client, db, signed_in, make_organisation):
    signed_in("member")
    roche = make_organisation("Roche AB", org_number=VALID_NUMBER, website="https://www.roche.com")

    same_number = client.post(
        "/organisations/new", data=form_data(name="Other", org_number="5560360793")
    )
    same_name = client.post("/organisations/new", data=form_data(name="roche, inc."))
    same_site = client.post(
        "/organisations/new", data=form_data(name="Hoffmann", website="roche.com/sv")
    )

    assert "Roche AB already has this organisation number" in same_number.get_data(as_text=True)
    for response, reason in ((same_name, "same name"), (same_site, "same website")):
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "This organisation may already exist" in html
        assert f'href="/organisations/{roche.id}"' in html
        assert reason in html
        assert 'name="confirm_duplicate"' in html
    assert count_organisations(db) == 1

    anyway = client.post(
        "/organisations/new", data=form_data(name="roche, inc.", confirm_duplicate="y")
    )
    assert anyway.status_code == 302
    assert count_organisations(db) == 2


def test_a_deleted_organisations_number_is_still_taken(client, db, signed_in, make_organisation):
    signed_in("member")
    old = make_organisation("Old AB", org_number=VALID_NUMBER)
    old.deleted_at = old.created_at
    db.session.commit()

    response = client.post("/organisations/new", data=form_data(org_number=VALID_NUMBER))

    assert "deleted organisation Old AB has this organisation number" in response.get_data(
        as_text=True
    )
    assert count_organisations(db) == 1


def test_edit_is_prefilled_keeps_its_own_number_and_shows_in_history(
    client, db, signed_in, make_organisation
):
    user = signed_in("member")
    roche = make_organisation(
        "Roche AB",
        org_number=VALID_NUMBER,
        email_domains=["roche.com"],
        tags=["pharma"],
        sectors=[Sector.PHARMA],
        city="Solna",
    )
    make_organisation("Other AB", org_number="556547-5489")

    form = client.get(f"/organisations/{roche.id}/edit").get_data(as_text=True)
    assert 'value="Roche AB"' in form
    assert f'value="{VALID_NUMBER}"' in form
    assert "roche.com" in form
    assert re.search(r'<input checked[^>]*value="pharma"', form)

    taken = client.post(
        f"/organisations/{roche.id}/edit", data=form_data(name="Roche AB", org_number="5565475489")
    )
    assert "Other AB already has this organisation number" in taken.get_data(as_text=True)

    saved = client.post(
        f"/organisations/{roche.id}/edit",
        data=form_data(name="Roche AB", org_number=VALID_NUMBER, city="Stockholm"),
    )
    assert saved.status_code == 302
    roche = db.session.get(Organisation, roche.id)
    assert roche.city == "Stockholm"
    assert roche.tags == []
    update = db.session.scalar(
        sa.select(AuditEntry).where(
            AuditEntry.entity_type == "organisations",
            AuditEntry.entity_id == roche.id,
            AuditEntry.action == "update",
        )
    )
    assert update.changes["city"] == ["Solna", "Stockholm"]
    assert update.actor_id == user.id

    html = client.get(f"/organisations/{roche.id}").get_data(as_text=True)
    history = html.split('id="history-heading"', 1)[1]
    assert "changed" in history
    assert "Solna" in history and "Stockholm" in history
    assert user.name in history


# ---------------------------------------------------------------- detail


def test_an_association_page_shows_its_first_members_and_links_to_all(
    client, db, signed_in, make_organisation
):
    """An association with more members than the page shows: the first 50 by name, then a
    link to the list of all of them, filtered by the association."""
    signed_in("viewer")
    lif = make_organisation("Lif", kind=OrganisationKind.INDUSTRY_ASSOCIATION)
    make_organisation("Not a member AB")
    for number in range(55):
        member = make_organisation(f"Member {number:02d} AB")
        services.add_membership(member, lif, actor=None)
    gone = make_organisation("Gone AB")
    services.add_membership(gone, lif, actor=None)
    gone.deleted_at = gone.created_at
    db.session.commit()

    page = client.get(f"/organisations/{lif.id}").get_data(as_text=True)

    members = page.split('id="members-heading"')[1]
    assert "Member 00 AB" in members and "Member 49 AB" in members
    assert "Member 50 AB" not in members and "Gone AB" not in members
    assert f'<a href="/organisations/?member_of={lif.id}">All 55 members</a>' in members

    listing = client.get(f"/organisations/?member_of={lif.id}").get_data(as_text=True)
    assert "55 organisations" in listing
    assert "Members of:" in listing and "<strong>Lif</strong>" in listing
    assert "Member 54 AB" in listing or "page=2" in listing
    assert "Not a member AB" not in listing
    export = client.get(f"/organisations/export.csv?member_of={lif.id}").get_data(as_text=True)
    assert export.count("\n") == 56  # the header and the 55 members


def test_detail_is_the_hub(client, db, signed_in, make_organisation, make_contact):
    signed_in("coordinator")
    lif = make_organisation("Lif", kind=OrganisationKind.INDUSTRY_ASSOCIATION)
    roche = make_organisation(
        "Roche AB",
        org_number=VALID_NUMBER,
        website="https://www.roche.se",
        email_domains=["roche.com"],
        sectors=[Sector.PHARMA],
        tags=["oncology"],
    )
    services.add_membership(roche, lif, since=date(2020, 1, 1), actor=None)
    make_contact("Eva", "Berg", title="CEO", organisation=roche)
    task_services.create_task(
        title="Send the agreement draft", subject=roche, subject_kind="organisation_id", actor=None
    )
    db.session.commit()

    roche_page = client.get(f"/organisations/{roche.id}").get_data(as_text=True)
    lif_page = client.get(f"/organisations/{lif.id}").get_data(as_text=True)

    for text in (VALID_NUMBER, "https://www.roche.se", "roche.com", "Pharma", "oncology"):
        assert text in roche_page
    assert "Member of" in roche_page
    assert f'href="/organisations/{lif.id}"' in roche_page
    assert "Eva Berg" in roche_page
    assert "Send the agreement draft" in roche_page
    assert "No agreements with this organisation yet" in roche_page
    # The timeline has the task, and nothing of the other kinds.
    activities = client.get(f"/organisations/{roche.id}?kind=activity").get_data(as_text=True)
    assert "No activities with this organisation yet" in activities
    enquiries = client.get(f"/organisations/{roche.id}?kind=enquiry").get_data(as_text=True)
    assert "No enquiries matched to this organisation" in enquiries
    assert "Members" in lif_page
    assert f'href="/organisations/{roche.id}"' in lif_page


def test_viewers_see_no_enquiries_and_no_edit_buttons(client, signed_in, make_organisation):
    signed_in("viewer")
    roche = make_organisation("Roche AB")

    html = client.get(f"/organisations/{roche.id}").get_data(as_text=True)

    assert "Roche AB" in html
    assert "Enquiries" not in html
    for path in ("edit", "delete", "merge", "memberships"):
        assert f"/organisations/{roche.id}/{path}" not in html
    assert 'href="/organisations/new"' not in client.get("/organisations/").get_data(as_text=True)


def test_a_missing_organisation_is_404(client, signed_in):
    signed_in("admin")

    assert client.get("/organisations/424242").status_code == 404
    assert client.get("/organisations/424242/edit").status_code == 404


# ---------------------------------------------------------------- roles


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/organisations/new"),
        ("POST", "/organisations/new"),
        ("GET", "/organisations/{id}/edit"),
        ("POST", "/organisations/{id}/edit"),
        ("GET", "/organisations/{id}/delete"),
        ("POST", "/organisations/{id}/delete"),
        ("POST", "/organisations/{id}/restore"),
        ("GET", "/organisations/{id}/merge"),
        ("POST", "/organisations/{id}/merge"),
        ("POST", "/organisations/{id}/memberships"),
        ("GET", "/organisations/memberships/{membership}/end"),
        ("POST", "/organisations/memberships/{membership}/end"),
    ],
)
def test_viewers_may_not_change_anything(client, db, signed_in, make_organisation, method, path):
    lif = make_organisation("Lif", kind=OrganisationKind.INDUSTRY_ASSOCIATION)
    roche = make_organisation("Roche AB")
    membership = services.add_membership(roche, lif, actor=None)
    db.session.commit()
    signed_in("viewer")

    url = path.format(id=roche.id, membership=membership.id)
    response = client.open(url, method=method, data=form_data(association_id=lif.id))

    assert response.status_code == 403
    assert db.session.get(Organisation, roche.id).name == "Roche AB"
    assert db.session.get(Organisation, roche.id).deleted_at is None
    assert db.session.get(Membership, membership.id).until is None


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/organisations/{id}/delete"),
        ("POST", "/organisations/{id}/delete"),
        ("POST", "/organisations/{id}/restore"),
        ("GET", "/organisations/{id}/merge"),
        ("POST", "/organisations/{id}/merge"),
    ],
)
def test_members_may_not_delete_restore_or_merge(
    client, db, signed_in, make_organisation, method, path
):
    roche = make_organisation("Roche AB")
    other = make_organisation("Roche")
    signed_in("member")

    response = client.open(path.format(id=roche.id), method=method, data={"remove_id": other.id})

    assert response.status_code == 403
    assert db.session.get(Organisation, roche.id).deleted_at is None
    assert db.session.get(Organisation, other.id).deleted_at is None


def test_members_see_edit_but_not_delete(client, signed_in, make_organisation):
    signed_in("member")
    roche = make_organisation("Roche AB")

    html = client.get(f"/organisations/{roche.id}").get_data(as_text=True)

    assert f"/organisations/{roche.id}/edit" in html
    assert f"/organisations/{roche.id}/delete" not in html
    assert f"/organisations/{roche.id}/merge" not in html


# ---------------------------------------------------------------- delete and restore


def test_soft_delete_hides_and_restore_brings_back(client, db, login, make_organisation):
    coordinator = login("coordinator")
    client.post("/language/en?next=/")
    roche = make_organisation("Roche AB")

    confirm = client.get(f"/organisations/{roche.id}/delete")
    assert confirm.status_code == 200
    assert "Delete Roche AB?" in confirm.get_data(as_text=True)
    assert db.session.get(Organisation, roche.id).deleted_at is None

    deleted = client.post(f"/organisations/{roche.id}/delete", follow_redirects=True)
    assert "Organisation Roche AB deleted" in deleted.get_data(as_text=True)
    assert listed_names(deleted.get_data(as_text=True)) == []
    page = client.get(f"/organisations/{roche.id}").get_data(as_text=True)
    assert "This organisation is deleted" in page
    assert client.get(f"/organisations/{roche.id}/edit").status_code == 404

    client.post("/logout")
    login("member")
    assert client.get(f"/organisations/{roche.id}").status_code == 404
    assert client.get("/organisations/typeahead?q=roche").get_json() == {"results": []}
    client.post("/logout")

    client.post("/login", data={"email": coordinator.email, "password": TEST_PASSWORD})
    restored = client.post(f"/organisations/{roche.id}/restore", follow_redirects=True)
    assert "Organisation Roche AB restored" in restored.get_data(as_text=True)
    assert db.session.get(Organisation, roche.id).deleted_at is None
    actions = db.session.scalars(
        sa.select(AuditEntry.action)
        .where(AuditEntry.entity_type == "organisations", AuditEntry.entity_id == roche.id)
        .order_by(AuditEntry.id)
    ).all()
    assert actions == ["create", "delete", "restore"]


# ---------------------------------------------------------------- memberships


def test_add_and_end_a_membership(client, db, signed_in, make_organisation):
    signed_in("member")
    lif = make_organisation("Lif", kind=OrganisationKind.INDUSTRY_ASSOCIATION)
    roche = make_organisation("Roche AB")

    added = client.post(
        f"/organisations/{roche.id}/memberships",
        data={"association_id": lif.id, "since": "2020-03-01"},
        follow_redirects=True,
    )
    assert "Roche AB is now a member of Lif" in added.get_data(as_text=True)
    membership = db.session.scalar(sa.select(Membership))
    assert (membership.member_id, membership.association_id) == (roche.id, lif.id)
    assert membership.since == date(2020, 3, 1)

    twice = client.post(
        f"/organisations/{roche.id}/memberships",
        data={"association_id": lif.id},
        follow_redirects=True,
    )
    assert "already a member of Lif" in twice.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Membership)) == 1

    not_an_association = client.post(
        f"/organisations/{lif.id}/memberships", data={"association_id": roche.id}
    )
    assert not_an_association.status_code == 302

    end_page = client.get(
        f"/organisations/memberships/{membership.id}/end?next=/organisations/{lif.id}"
    )
    assert end_page.status_code == 200
    assert f'value="{date.today().isoformat()}"' in end_page.get_data(as_text=True)
    too_early = client.post(
        f"/organisations/memberships/{membership.id}/end", data={"until": "2019-01-01"}
    )
    assert "cannot be before the membership began" in too_early.get_data(as_text=True)
    assert db.session.get(Membership, membership.id).until is None

    ended = client.post(
        f"/organisations/memberships/{membership.id}/end",
        data={"until": "2024-12-31", "next": f"/organisations/{lif.id}"},
    )
    assert ended.status_code == 302
    assert ended.headers["Location"] == f"/organisations/{lif.id}"
    assert db.session.get(Membership, membership.id).until == date(2024, 12, 31)


def test_ending_a_membership_never_redirects_off_site(client, db, signed_in, make_organisation):
    signed_in("member")
    lif = make_organisation("Lif", kind=OrganisationKind.INDUSTRY_ASSOCIATION)
    roche = make_organisation("Roche AB")
    membership = services.add_membership(roche, lif, actor=None)
    db.session.commit()

    response = client.post(
        f"/organisations/memberships/{membership.id}/end",
        data={"until": "2024-12-31", "next": "//evil.example/"},
    )

    assert response.headers["Location"] == f"/organisations/{roche.id}"


# ---------------------------------------------------------------- merge


def test_merge_through_the_pages(client, db, signed_in, make_organisation, make_contact):
    signed_in("coordinator")
    keep = make_organisation("Roche AB", website="https://www.roche.se")
    remove = make_organisation("roche, inc.", org_number=VALID_NUMBER, city="Solna")
    make_contact("Eva", "Berg", organisation=remove)

    choose = client.get(f"/organisations/{keep.id}/merge").get_data(as_text=True)
    assert f"/organisations/{keep.id}/merge?remove={remove.id}" in choose
    assert "same name" in choose
    search = client.get(f"/organisations/{keep.id}/merge?q=solna").get_data(as_text=True)
    assert "roche, inc." in search

    confirm = client.get(f"/organisations/{keep.id}/merge?remove={remove.id}")
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200
    assert "contacts (primary organisation)" in html
    assert db.session.get(Organisation, remove.id).deleted_at is None

    merged = client.post(
        f"/organisations/{keep.id}/merge", data={"remove_id": remove.id}, follow_redirects=True
    )
    assert "roche, inc. was merged into Roche AB" in merged.get_data(as_text=True)
    assert db.session.get(Organisation, remove.id).deleted_at is not None
    kept = db.session.get(Organisation, keep.id)
    assert kept.org_number == VALID_NUMBER
    assert [contact.full_name for contact in kept.contacts] == ["Eva Berg"]


def test_merge_refuses_itself_and_missing_records(client, signed_in, make_organisation):
    signed_in("coordinator")
    roche = make_organisation("Roche AB")

    itself = client.post(f"/organisations/{roche.id}/merge", data={"remove_id": roche.id})
    missing = client.get(f"/organisations/{roche.id}/merge?remove=424242")

    assert itself.status_code == 302
    assert missing.status_code == 404


# ---------------------------------------------------------------- type-ahead


def test_typeahead(client, signed_in, make_organisation):
    signed_in("viewer")
    make_organisation("Läkemedelsindustriföreningen", kind=OrganisationKind.INDUSTRY_ASSOCIATION)
    for number in range(12):
        make_organisation(f"Lakemedel Company {number:02d}")

    found = client.get("/organisations/typeahead?q=lakemedelsind").get_json()
    many = client.get("/organisations/typeahead?q=LÄKEMEDEL").get_json()
    associations = client.get(
        "/organisations/typeahead?q=lakemedel&kind=industry_association&kind=bogus"
    ).get_json()

    assert found["results"] == [
        {
            "id": found["results"][0]["id"],
            "name": "Läkemedelsindustriföreningen",
            "kind": "industry_association",
            "label": "Läkemedelsindustriföreningen (Industry association)",
        }
    ]
    assert len(many["results"]) == 10
    assert [row["name"] for row in associations["results"]] == ["Läkemedelsindustriföreningen"]
    assert client.get("/organisations/typeahead?q=").get_json() == {"results": []}
    assert client.get("/organisations/typeahead").get_json() == {"results": []}


def test_every_page_renders_in_swedish(client, db, login, make_organisation):
    login("admin")  # users start in Swedish
    lif = make_organisation("Lif", kind=OrganisationKind.INDUSTRY_ASSOCIATION)
    roche = make_organisation("Roche AB", tags=["onkologi"], sectors=[Sector.PHARMA])
    membership = services.add_membership(roche, lif, actor=None)
    db.session.commit()

    for url in (
        "/organisations/",
        "/organisations/?deleted=1",
        "/organisations/new",
        f"/organisations/{roche.id}",
        f"/organisations/{lif.id}",
        f"/organisations/{roche.id}/edit",
        f"/organisations/{roche.id}/delete",
        f"/organisations/{roche.id}/merge?q=lif",
        f"/organisations/{roche.id}/merge?remove={lif.id}",
        f"/organisations/memberships/{membership.id}/end",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert '<html lang="sv">' in response.get_data(as_text=True), url


BIG = "99999999999999999999"


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("GET", f"/organisations/{BIG}", 404),
        ("GET", f"/organisations/{BIG}/edit", 404),
        ("POST", f"/organisations/{BIG}/restore", 404),
        ("GET", f"/organisations/memberships/{BIG}/end", 404),
        ("GET", "/organisations/{id}/merge?remove=" + BIG, 404),
        ("GET", "/organisations/{id}/merge?remove=²", 404),
        ("POST", "/organisations/{id}/memberships", 302),
        ("GET", f"/organisations/?owner={BIG}", 200),
        ("GET", f"/organisations/export.csv?owner={BIG}", 200),
    ],
)
def test_ids_beyond_the_database_range_are_not_errors(
    client, signed_in, make_organisation, method, url, status
):
    signed_in("admin")
    roche = make_organisation("Roche AB")

    response = client.open(
        url.format(id=roche.id), method=method, data={"association_id": BIG, "remove_id": BIG}
    )
    response.get_data()

    assert response.status_code == status
