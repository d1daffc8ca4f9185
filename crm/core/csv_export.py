"""CSV export that spreadsheets open safely, and CSV upload reading."""

import csv
import io

from flask import Response

# A cell starting with one of these is read as a formula by Excel and LibreOffice.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """The cell as text, with a leading apostrophe where a spreadsheet would run it as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    text = str(value)
    if text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def csv_response(filename, header, rows):
    """Stream rows as a UTF-8 CSV download (with a BOM, so Excel reads å, ä and ö right)."""

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")
        writer.writerow([safe_cell(cell) for cell in header])
        yield buffer.getvalue()
        for row in rows:
            buffer.seek(0)
            buffer.truncate()
            writer.writerow([safe_cell(cell) for cell in row])
            yield buffer.getvalue()

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
    from flask_babel import gettext as _

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
