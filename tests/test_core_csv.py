"""CSV export that spreadsheets open safely, and reading uploads."""

import csv
import io

import pytest

from crm.core.csv_export import CSVReadError, csv_response, read_csv_upload, safe_cell


@pytest.mark.parametrize("value", ["=1+1", "+46 70", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_cells_a_spreadsheet_would_run_are_defused(value):
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Beta;=1+1;", "Beta;'=1+1;"),
        ("a,+1\n-2\r\n@3", "a,'+1\n'-2\r\n'@3"),
        ("a\t\t=1", "a\t'\t'=1"),
        ('a;"=1"', 'a;\'"=1"'),
        ("\uff1d1+1", "'\uff1d1+1"),
        ("Malmö; Lund", "Malmö; Lund"),
        ("2026-03-31", "2026-03-31"),
    ],
)
def test_every_part_a_separator_splits_off_is_defused(value, expected):
    assert safe_cell(value) == expected


def test_fields_with_any_separator_are_quoted(app):
    with app.test_request_context():
        response = csv_response(
            "x.csv", ["a", "b"], [["Beta;=1+1;", "tab\there"], ["x", 'say "hi"']]
        )
        body = response.get_data(as_text=True).removeprefix("\ufeff")
    assert body == 'a,b\r\n"Beta;\'=1+1;","tab\there"\r\nx,"say ""hi"""\r\n'


@pytest.mark.parametrize(
    ("value", "expected"), [("Roche", "Roche"), (None, ""), (True, "1"), (3, "3")]
)
def test_ordinary_cells_are_left_alone(value, expected):
    assert safe_cell(value) == expected


def test_csv_response_is_a_formula_safe_download(app):
    with app.test_request_context():
        response = csv_response("x.csv", ["name"], [['=HYPERLINK("http://evil")'], ["Åsa"]])
        body = response.get_data(as_text=True)
    assert response.headers["Content-Disposition"] == 'attachment; filename="x.csv"'
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows == [["name"], ['\'=HYPERLINK("http://evil")'], ["Åsa"]]


def test_reads_swedish_excel_csv(app):
    data = "\ufeffName;City\nLäkemedel AB;Malmö\n;\n".encode()
    with app.test_request_context():
        rows = read_csv_upload(data, required_columns=["name"])
    assert rows == [{"name": "Läkemedel AB", "city": "Malmö"}]


def test_reads_windows_1252(app):
    data = "name,city\nÖrebro Bolag,Örebro\n".encode("cp1252")
    with app.test_request_context():
        rows = read_csv_upload(data, required_columns=["name"])
    assert rows[0]["city"] == "Örebro"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not a CSV"),
        (b"city\nMalmo\n", "name"),
    ],
)
def test_bad_files_get_a_clear_message(app, data, message):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        with pytest.raises(CSVReadError, match=message):
            read_csv_upload(data, required_columns=["name"])


def test_too_many_rows_are_refused(app):
    data = ("name\n" + "x\n" * 11).encode()
    with app.test_request_context(headers={"Accept-Language": "en"}):
        with pytest.raises(CSVReadError, match="more than 10"):
            read_csv_upload(data, required_columns=["name"], max_rows=10)
