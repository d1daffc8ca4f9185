"""CSV export that spreadsheets open safely, and CSV upload reading."""

import csv
import io
import re

from flask import Response
from flask_babel import gettext as _

# A cell starting with one of these is read as a formula by Excel and LibreOffice (the
# full-width forms too, by Excel in East Asian locales).
_FORMULA_STARTS = "=+-@\t\r\uff1d\uff0b\uff0d\uff20"
# Where a spreadsheet may start a new cell or row: our own delimiter is only one of them, as
# Excel with Swedish settings splits a file on ";", and a file opened by hand may be split on
# tabs. Text after any of these is a cell of its own to some program, so each such part
# is defused, not just the start of the value (a name "Beta;=1+1;" must not give "=1+1").
_SEPARATORS = ";,\t\r\n"
# A dangerous character at the start or right after a separator (with any quotes between:
# a spreadsheet strips those before it reads the cell).
_FORMULA_AT_CELL_START = re.compile(
    f'(^|[{re.escape(_SEPARATORS)}])(?="*[{re.escape(_FORMULA_STARTS)}])'
)
# A field holding one of these is quoted, whichever delimiter a reader picks.
_NEEDS_QUOTES = re.compile(f'[{re.escape(_SEPARATORS)}"]')


def safe_cell(value):
    """The cell as text, an apostrophe before each part a spreadsheet would run as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return _FORMULA_AT_CELL_START.sub(r"\1'", str(value))


def _csv_line(cells):
    """One CSV line (comma-separated, CRLF as RFC 4180 says) of already safe cells.

    Written by hand rather than with csv.writer: its QUOTE_MINIMAL quotes only fields with a
    comma, a quote or a line break, and a field with ";" or a tab must be quoted too.
    """
    fields = []
    for cell in cells:
        if _NEEDS_QUOTES.search(cell):
            cell = '"' + cell.replace('"', '""') + '"'
        fields.append(cell)
    return ",".join(fields) + "\r\n"


def csv_response(filename, header, rows):
    """Stream rows as a UTF-8 CSV download (with a BOM, so Excel reads å, ä and ö right)."""

    def generate():
        yield "\ufeff" + _csv_line([safe_cell(cell) for cell in header])
        for row in rows:
            yield _csv_line([safe_cell(cell) for cell in row])

    return Response(
        generate(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


class CSVReadError(ValueError):
    """The upload is not a CSV file we can read; the message says why, for the person."""


def read_csv_upload(data, *, required_columns, max_rows=5000):
    """Rows of an uploaded CSV as dicts keyed by lower-case column name.

    Accepts UTF-8 (with or without BOM) or Windows-1252, comma- or semicolon-separated
    (Swedish Excel writes semicolons). Raises CSVReadError with a translated message.
    """
    if not data:
        raise CSVReadError(_("The file is empty."))
    if b"\x00" in data[:4096]:
        raise CSVReadError(_("The file is not a CSV text file."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        fieldnames = reader.fieldnames
    except csv.Error as error:
        raise CSVReadError(_("The file could not be read as CSV: %(error)s", error=error)) from None
    if not fieldnames:
        raise CSVReadError(_("The file has no header row."))
    columns = [(name or "").strip().lower() for name in fieldnames]
    missing = [column for column in required_columns if column not in columns]
    if missing:
        raise CSVReadError(
            _("The file lacks the required columns: %(columns)s.", columns=", ".join(missing))
        )
    rows = []
    try:
        for raw in reader:
            if len(rows) >= max_rows:
                raise CSVReadError(
                    _("The file has more than %(count)d rows. Split it up.", count=max_rows)
                )
            row = {
                (key or "").strip().lower(): (value or "").strip()
                for key, value in raw.items()
                if key is not None and not isinstance(value, list)
            }
            if any(row.values()):
                rows.append(row)
    except csv.Error as error:
        raise CSVReadError(_("The file could not be read as CSV: %(error)s", error=error)) from None
    return rows
