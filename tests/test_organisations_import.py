"""CSV import of organisations and contacts: dry run, per-row errors, the real import."""

import csv
import html
import io
import re

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from crm.auth.models import Role
from crm.core.csv_export import read_csv_upload
from crm.core.models import AuditEntry
from crm.organisations import services
from crm.organisations.import_services import (
    CONTACT_REQUIRED,
    ORGANISATION_REQUIRED,
    import_contacts,
    import_organisations,
    read_import_file,
)
from crm.organisations.models import (
    Contact,
    LegalBasis,
    Organisation,
    OrganisationKind,
    Sector,
    SizeClass,
)
from tests import factories

ORGANISATIONS_CSV = (
    "name,kind,org_number,website,email_domains,country,city,sectors,size_class,tags,is_partner\n"
    "Roche AB,company,5560290198,WWW.Roche.se/,roche.se; roche.com,SE,Solna,"
    "pharma;diagnostics_lab,large,big pharma,no\n"
    "Läkemedelsindustriföreningen,Industry association,802004-0484,lif.se,lif.se,,Stockholm,"
    "Pharma,,,no\n"
    "Exempel Medtech AB,company,,https://exempel.se,,,Göteborg,medtech,small,,\n"
)


def _count(db, model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _counts(db):
    return (_count(db, Organisation), _count(db, Contact), _count(db, AuditEntry))


def _organisation_audit(db):
    return db.session.scalars(
        sa.select(AuditEntry.action)
        .where(AuditEntry.entity_type == "organisations")
        .order_by(AuditEntry.id)
    ).all()


def _org(db, name):
    return db.session.scalar(sa.select(Organisation).where(Organisation.name == name))


def _rows(text, required=ORGANISATION_REQUIRED):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return read_csv_upload(data, required_columns=required)


def _make_organisation(actor, **fields):
    return factories.make_organisation(actor=actor, **fields)


@pytest.fixture
def actor(make_user):
    return make_user(Role.MEMBER)


@pytest.fixture
def member(client, login):
    user = login(Role.MEMBER)
    client.post("/language/en?next=/")
    return user


def _upload(client, url, content, *, dry_run=True, filename="import.csv"):
    data = content.encode("utf-8") if isinstance(content, str) else content
    form = {"file": (io.BytesIO(data), filename)}
    if dry_run:
        form["dry_run"] = "y"
    return client.post(url, data=form, content_type="multipart/form-data")


# ---------------------------------------------------------------- organisations (service)


def test_good_file_creates_organisations_and_a_second_import_matches_them(db, actor):
    result = import_organisations(_rows(ORGANISATIONS_CSV), dry_run=False, actor=actor)
    db.session.commit()

    assert [(row.line, row.action, row.errors) for row in result.rows] == [
        (2, "create", []),
        (3, "create", []),
        (4, "create", []),
    ]
    assert (result.created, result.updated, result.unchanged, result.errors) == (3, 0, 0, 0)
    assert _count(db, Organisation) == 3
    roche = _org(db, "Roche AB")
    assert roche.org_number == "556029-0198"
    assert roche.website == "https://www.roche.se"
    assert sorted(roche.sector_values) == [Sector.DIAGNOSTICS_LAB, Sector.PHARMA]
    assert sorted(item.domain for item in roche.email_domains) == ["roche.com", "roche.se"]
    assert [tag.name for tag in roche.tags] == ["big pharma"]
    assert roche.size_class == SizeClass.LARGE
    assert roche.is_partner is False
    assert roche.created_by_id == actor.id
    lif = _org(db, "Läkemedelsindustriföreningen")
    assert lif.kind == OrganisationKind.INDUSTRY_ASSOCIATION
    assert lif.country == "SE"
    assert lif.sector_values == [Sector.PHARMA]
    assert lif.is_partner is False
    # Every record has its "create" entry in the audit history.
    assert _organisation_audit(db) == ["create"] * 3

    again = import_organisations(_rows(ORGANISATIONS_CSV), dry_run=False, actor=actor)
    db.session.commit()
    assert [row.action for row in again.rows] == ["skip", "skip", "skip"]
    assert _count(db, Organisation) == 3
    assert _organisation_audit(db) == ["create"] * 3

    changed = ORGANISATIONS_CSV.replace("Solna", "Basel").replace(
        "Exempel Medtech AB,company,,", "EXEMPEL MEDTECH,company,556677-8899,"
    )
    third = import_organisations(_rows(changed), dry_run=False, actor=actor)
    db.session.commit()
    assert [row.action for row in third.rows] == ["update", "skip", "update"]
    assert _count(db, Organisation) == 3
    assert _org(db, "Roche AB").city == "Basel"
    # Found by its name in other case and without the "AB", it keeps its name and gets the
    # number the file gives.
    assert _org(db, "Exempel Medtech AB").org_number == "556677-8899"
    assert _organisation_audit(db) == ["create"] * 3 + ["update"] * 2


def test_empty_cells_never_remove_stored_values(db, actor):
    roche = _make_organisation(
        actor, name="Roche AB", org_number="556029-0198", city="Solna", description="Pharma"
    )
    db.session.commit()
    csv_text = "name,kind,org_number,city,description,sectors\nRoche AB,company,5560290198,,,\n"
    result = import_organisations(_rows(csv_text), dry_run=False, actor=actor)
    assert result.rows[0].action == "skip"
    assert (roche.city, roche.description) == ("Solna", "Pharma")


def test_swedish_excel_file_with_bom_semicolons_and_ja_nej(db, actor):
    with force_locale("sv"):
        company, pharma, lab, small = (
            str(item.label).upper()
            for item in (OrganisationKind.COMPANY, Sector.PHARMA, Sector.DIAGNOSTICS_LAB,
                         SizeClass.SMALL)
        )  # fmt: skip
    text = (
        "\ufeffName;Kind;Org_number;Sectors;Size_class;Is_partner;Country\r\n"
        f"Åbo Diagnostik AB;{company};556677-8899;{pharma}, {lab};{small};nej;se\r\n"
        "Västra regionen;healthcare region;;;;JA;\r\n"
    )
    data = text.encode("utf-8")
    assert data.startswith(b"\xef\xbb\xbf")
    result = import_organisations(_rows(data), dry_run=False, actor=actor)
    assert [(row.action, row.errors) for row in result.rows] == [("create", []), ("create", [])]
    abo = _org(db, "Åbo Diagnostik AB")
    assert abo.kind == OrganisationKind.COMPANY
    assert sorted(abo.sector_values) == [Sector.DIAGNOSTICS_LAB, Sector.PHARMA]
    assert abo.size_class == SizeClass.SMALL
    assert abo.is_partner is False
    assert abo.country == "SE"
    region = _org(db, "Västra regionen")
    assert region.kind == OrganisationKind.HEALTHCARE_REGION
    assert region.is_partner is True


def test_windows_1252_file_is_read(db, actor):
    with force_locale("sv"):
        university = str(OrganisationKind.UNIVERSITY.label)
    data = f"name;kind\r\nGöteborgs universitet;{university}\r\n".encode("cp1252")
    result = import_organisations(_rows(data), dry_run=False, actor=actor)
    assert result.rows[0].action == "create"
    assert _org(db, "Göteborgs universitet").kind == OrganisationKind.UNIVERSITY


def test_dry_run_writes_nothing_and_reports_every_rows_errors(db, actor):
    existing = _make_organisation(actor, name="Roche AB", org_number="556029-0198", city="Solna")
    db.session.commit()
    before = _counts(db)
    text = (
        "name,kind,org_number,city,website,is_partner\n"
        "Roche AB,company,556029-0198,Basel,,\n"  # 2: update
        "New One AB,company,,,,\n"  # 3: create
        "Bad Digit AB,company,556029-0194,,,\n"  # 4
        "Bad Format AB,company,12-34,,,\n"  # 5
        ",company,,,,\n"  # 6
        "Strange AB,spaceship,,,,\n"  # 7
        "New One,company,,,,\n"  # 8: the same as line 3
        "Odd AB,company,,,not a website,maybe\n"  # 9
    )
    with force_locale("en"):
        result = import_organisations(_rows(text), dry_run=True, actor=actor)

    assert _counts(db) == before
    db.session.expire_all()
    assert existing.city == "Solna"
    assert result.dry_run is True
    actions = [(row.line, row.action) for row in result.rows]
    assert actions == [
        (2, "update"),
        (3, "create"),
        (4, "error"),
        (5, "error"),
        (6, "error"),
        (7, "error"),
        (8, "error"),
        (9, "error"),
    ]
    errors = {row.line: " ".join(row.errors) for row in result.rows}
    assert errors[4] == "org_number: The check digit of 556029-0194 is wrong."
    assert "org_number: “12-34” is not an organisation number" in errors[5]
    assert errors[6] == "name: A name is required."
    assert "kind: Unknown value “spaceship”" in errors[7]
    assert errors[8] == "Duplicate of line 3."
    assert "website:" in errors[9] and "is_partner:" in errors[9]
    assert (result.created, result.updated, result.unchanged, result.errors) == (1, 1, 0, 6)


def test_real_import_with_errors_imports_the_good_rows_only(db, actor):
    text = "name,kind,org_number\nGood AB,company,\nBad AB,company,556029-0194\nFine AB,other,\n"
    result = import_organisations(_rows(text), dry_run=False, actor=actor)
    db.session.commit()
    assert [row.action for row in result.rows] == ["create", "error", "create"]
    names = db.session.scalars(sa.select(Organisation.name).order_by(Organisation.name)).all()
    assert names == ["Fine AB", "Good AB"]


def test_organisation_number_conflicts_are_errors(db, actor):
    _make_organisation(actor, name="Roche AB", org_number="556029-0198")
    _make_organisation(actor, name="Twin", city="A")
    _make_organisation(actor, name="Twin AB", city="B")
    gone = _make_organisation(actor, name="Gone AB", org_number="556677-8899")
    gone.deleted_at = gone.created_at
    db.session.commit()
    before = _counts(db)
    text = (
        "name,kind,org_number\n"
        "Roche,company,556123-4567\n"  # the name's organisation has another number
        "Twin,company,\n"  # two organisations have this name
        "Gone AB,company,556677-8899\n"  # the number belongs to a deleted organisation
    )
    with force_locale("en"):
        result = import_organisations(_rows(text), dry_run=False, actor=actor)
    assert [row.action for row in result.rows] == ["error", "error", "error"]
    assert "556029-0198" in result.rows[0].errors[0]
    assert "Several organisations are named Twin" in result.rows[1].errors[0]
    assert "deleted organisation Gone AB" in result.rows[2].errors[0]
    assert _counts(db) == before


def test_cells_escaped_by_our_export_are_read_back(db, actor):
    text = "first_name,last_name,phone\nAnna,Andersson,'+46 8 123 45 67\n"
    import_contacts(_rows(text, CONTACT_REQUIRED), dry_run=False, actor=actor)
    assert db.session.scalar(sa.select(Contact.phone)) == "+46 8 123 45 67"


def test_line_numbers_are_those_of_the_file(db, actor):
    data = (
        b"name;kind;description\n"
        b"First AB;company;one line\n"
        b"\n"  # 3: blank
        b";;\n"  # 4: empty cells only
        b'Second AB;company;"two\nlines"\n'  # 5-6
        b"Third AB;spaceship;\n"  # 7
    )
    upload = read_import_file(data, required_columns=ORGANISATION_REQUIRED)
    assert upload.lines == [2, 5, 7]
    result = import_organisations(upload.rows, lines=upload.lines, dry_run=True, actor=actor)
    assert [(row.line, row.action) for row in result.rows] == [
        (2, "create"),
        (5, "create"),
        (7, "error"),
    ]


def test_a_row_the_database_refuses_is_an_error_and_the_others_are_imported(db, actor, monkeypatch):
    real_create = services.create_organisation

    def create(data, *, actor):
        if data["name"] == "Refused AB":
            raise sa.exc.IntegrityError("INSERT", {}, Exception("refused"))
        return real_create(data, actor=actor)

    monkeypatch.setattr(services, "create_organisation", create)
    text = "name,kind\nFirst AB,company\nRefused AB,company\nLast AB,company\n"
    result = import_organisations(_rows(text), dry_run=False, actor=actor)
    db.session.commit()
    assert [row.action for row in result.rows] == ["create", "error", "create"]
    assert _count(db, Organisation) == 2


# ---------------------------------------------------------------- contacts (service)


def test_contact_import_links_organisations_by_name_and_by_number(db, actor):
    roche = _make_organisation(actor, name="Roche AB", org_number="556029-0198")
    lif = _make_organisation(
        actor, name="Läkemedelsindustriföreningen", kind=OrganisationKind.INDUSTRY_ASSOCIATION
    )
    db.session.commit()
    text = (
        "first_name,last_name,email,organisation,legal_basis,do_not_contact\n"
        "Anna,Andersson,anna@roche.se,5560290198,Consent,nej\n"
        "Bo,Berg,bo@lif.se,lakemedelsindustriforeningen,,ja\n"
        "Cecilia,Carlsson,cecilia@example.se,Okänd Firma AB,,\n"
        "Dan,Dahl,not-an-email,,,\n"
        ",Eriksson,,,,\n"
    )
    with force_locale("en"):
        result = import_contacts(_rows(text, CONTACT_REQUIRED), dry_run=False, actor=actor)
    db.session.commit()

    assert [row.action for row in result.rows] == ["create", "create", "error", "error", "error"]
    anna = db.session.scalar(sa.select(Contact).where(Contact.last_name == "Andersson"))
    assert anna.organisation_id == roche.id
    assert anna.legal_basis == LegalBasis.CONSENT
    assert anna.do_not_contact is False
    bo = db.session.scalar(sa.select(Contact).where(Contact.last_name == "Berg"))
    assert bo.organisation_id == lif.id
    assert bo.legal_basis == LegalBasis.LEGITIMATE_INTEREST
    assert bo.do_not_contact is True
    assert result.rows[2].errors == [
        "organisation: No organisation named Okänd Firma AB; import organisations first."
    ]
    assert "email:" in result.rows[3].errors[0]
    assert result.rows[4].errors == ["first_name: A name is required."]
    assert result.rows[0].name == "Anna Andersson"

    # Matched by e-mail in any case; "no" never clears the do-not-contact flag.
    update = (
        "first_name,last_name,email,title,do_not_contact\n"
        "Anna,Andersson,ANNA@roche.se,Head of R&D,\n"
        "Bo,Berg,bo@lif.se,,no\n"
    )
    result = import_contacts(_rows(update, CONTACT_REQUIRED), dry_run=False, actor=actor)
    db.session.commit()
    assert [row.action for row in result.rows] == ["update", "skip"]
    assert _count(db, Contact) == 2
    assert anna.title == "Head of R&D"
    assert anna.email == "ANNA@roche.se"
    assert anna.organisation_id == roche.id
    assert bo.do_not_contact is True


def test_contact_without_email_is_matched_by_name_at_the_same_organisation(db, actor):
    text = "first_name,last_name,organisation\nÅsa,Öberg,Roche AB\nÅsa,Öberg,Roche AB\n"
    _make_organisation(actor, name="Roche AB")
    with force_locale("en"):
        first = import_contacts(_rows(text, CONTACT_REQUIRED), dry_run=False, actor=actor)
    assert [row.action for row in first.rows] == ["create", "error"]
    assert first.rows[1].errors == ["Duplicate of line 2."]
    again = import_contacts(
        _rows("first_name,last_name,organisation\nasa,oberg,Roche\n", CONTACT_REQUIRED),
        dry_run=False,
        actor=actor,
    )
    assert [row.action for row in again.rows] == ["skip"]
    assert _count(db, Contact) == 1
    assert db.session.scalar(sa.select(Contact.first_name)) == "Åsa"


def test_contacts_link_to_organisations_created_earlier_in_the_same_import(db, actor):
    import_organisations(_rows("name,kind\nNy Firma AB,company\n"), dry_run=False, actor=actor)
    result = import_contacts(
        _rows("first_name,last_name,organisation\nNils,Ny,Ny Firma\n", CONTACT_REQUIRED),
        dry_run=False,
        actor=actor,
    )
    db.session.commit()
    assert result.rows[0].action == "create"
    contact = db.session.scalar(sa.select(Contact))
    assert contact.organisation.name == "Ny Firma AB"


def test_contact_dry_run_writes_nothing(db, actor):
    _make_organisation(actor, name="Roche AB")
    db.session.commit()
    before = _counts(db)
    text = "first_name,last_name,email,organisation\nAnna,A,a@roche.se,Roche AB\n"
    result = import_contacts(_rows(text, CONTACT_REQUIRED), dry_run=True, actor=actor)
    assert result.rows[0].action == "create"
    assert _counts(db) == before


# ---------------------------------------------------------------- pages


def test_import_page_explains_the_columns(client, member):
    response = client.get("/organisations/import")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<code>org_number</code>" in page
    assert 'href="/organisations/import/example.csv"' in page
    assert re.search(r'<input[^>]*checked[^>]*name="dry_run"|name="dry_run"[^>]*checked', page)
    assert 'accept=".csv,text/csv"' in page
    response = client.get("/contacts/import")
    assert response.status_code == 200
    assert "<code>organisation</code>" in response.get_data(as_text=True)


def test_dry_run_page_shows_the_rows_and_writes_nothing(db, client, member):
    before = _counts(db)
    text = ORGANISATIONS_CSV + "Bad AB,company,556029-0194,,,,,,,,\n"
    response = _upload(client, "/organisations/import", text)
    assert response.status_code == 200
    assert _counts(db) == before
    page = response.get_data(as_text=True)
    assert "Dry run: nothing has been written" in page
    assert "Would be created" in page
    assert "org_number: The check digit of 556029-0194 is wrong." in page
    assert "Import these 3 rows now" in page
    assert "A real import skips it and imports the other rows" in page


def test_import_now_re_posts_the_dry_runs_content(db, client, member):
    text = ORGANISATIONS_CSV.replace("\n", "\r\n")
    response = _upload(client, "/organisations/import", text.encode("utf-8-sig"))
    page = response.get_data(as_text=True)
    content = html.unescape(re.search(r'name="content"[^>]*value="([^"]*)"', page).group(1))
    assert _count(db, Organisation) == 0

    response = client.post("/organisations/import", data={"content": content})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Import finished: 3 created, 0 updated, 0 unchanged" in page
    assert _count(db, Organisation) == 3
    assert _org(db, "Roche AB").org_number == "556029-0198"
    # Sent again (a reload), the same content changes nothing.
    client.post("/organisations/import", data={"content": content})
    assert _count(db, Organisation) == 3


def test_the_re_posted_content_is_checked_like_an_upload(db, client, member):
    before = _counts(db)
    for content in ["", "name,city\nRoche,Basel\n", "x" * 1_000_001, "name,kind\n\x01\x02,x\n"]:
        response = client.post("/organisations/import", data={"content": content})
        assert response.status_code == 200
        assert 'class="error"' in response.get_data(as_text=True)
    assert _counts(db) == before


def test_real_upload_reports_the_rows_it_did_not_import(db, client, member):
    text = "name,kind,org_number\nGood AB,company,\nBad AB,company,12\n"
    response = _upload(client, "/organisations/import", text, dry_run=False)
    page = response.get_data(as_text=True)
    assert "Import finished" in page
    assert "1 row had errors and was not imported; the other rows were imported." in page
    assert "Error: not imported" in page
    assert _count(db, Organisation) == 1


def test_contact_import_page_reports_an_unknown_organisation(db, client, member):
    text = "first_name,last_name,organisation\nAnna,Andersson,Nowhere AB\n"
    response = _upload(client, "/contacts/import", text, dry_run=False)
    assert "No organisation named Nowhere AB; import organisations first." in response.get_data(
        as_text=True
    )
    assert _count(db, Contact) == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "The file is not a CSV text file."),
        (b"PK\x03\x04\x14\x00\x06\x00", "This looks like an Excel workbook"),
        ("name\tkind\n".encode("utf-16"), "The file is saved as UTF-16 text."),
        (b"%PDF-1.4\n\x01\x02\x03\x04", "The file is not a CSV text file."),
        (b"name,city\nRoche,Basel\n", "The file lacks the required columns: kind."),
        (b"\n\n\n", "The file has no header row."),
        (b"name,kind\n", "The file has a header row but no rows to import."),
        (b"name,kind\n" + b"a" * 1_000_000, "The file is larger than 1 MB."),
        (b'"' + b"a" * 200_000, "The file could not be read as CSV"),
    ],
)
def test_a_bad_file_gets_a_clear_message_and_writes_nothing(db, client, member, content, message):
    before = _counts(db)
    response = _upload(client, "/organisations/import", content, dry_run=False)
    assert response.status_code == 200
    assert message in html.unescape(response.get_data(as_text=True))
    assert _counts(db) == before


def test_a_missing_file_gets_a_clear_message(db, client, member):
    response = client.post(
        "/organisations/import", data={"dry_run": "y"}, content_type="multipart/form-data"
    )
    assert "Choose a CSV file to import." in response.get_data(as_text=True)


def test_a_file_of_another_type_is_refused(db, client, member):
    response = _upload(client, "/contacts/import", b"first_name,last_name\n", filename="x.exe")
    assert "Choose a file ending in .csv." in response.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/organisations/import", "/contacts/import"])
def test_viewers_may_not_import(db, client, login, url):
    login(Role.VIEWER)
    before = _counts(db)
    assert client.get(url).status_code == 403
    assert client.get(url + "/example.csv").status_code == 403
    assert _upload(client, url, ORGANISATIONS_CSV, dry_run=False).status_code == 403
    assert client.post(url, data={"content": ORGANISATIONS_CSV}).status_code == 403
    assert _counts(db) == before


@pytest.mark.parametrize(
    ("url", "required"),
    [
        ("/organisations/import/example.csv", ORGANISATION_REQUIRED),
        ("/contacts/import/example.csv", CONTACT_REQUIRED),
    ],
)
def test_example_files_are_formula_safe_csv_that_imports(db, client, member, url, required):
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert set(required) <= set(rows[0])
    assert len(rows) == 3
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    # The example file imports cleanly: organisations first, then contacts.
    if "contacts" in url:
        organisations = client.get("/organisations/import/example.csv").data
        _upload(client, "/organisations/import", organisations, dry_run=False)
    page = _upload(client, url.removesuffix("/example.csv"), response.data).get_data(as_text=True)
    assert "Import these 2 rows now" in page
    assert "Error: would be skipped" not in page
