"""CSV import of organisations and contacts.

A dry run does exactly the work of a real import inside a savepoint and rolls it back, so
it reports what the import would do and writes nothing. A real import writes the rows
without errors and reports the others; importing the corrected file again is safe, since
rows already imported match their records and come out unchanged. Like every service, the
functions here flush and never commit.
"""

import csv
import io
import re
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm.core.csv_export import CSVReadError, read_csv_upload
from crm.core.text import (
    InvalidOrgNumber,
    fold,
    name_key,
    normalise_domain,
    normalise_org_number,
    normalise_website,
)
from crm.extensions import db
from crm.organisations import services
from crm.organisations.models import (
    Contact,
    LegalBasis,
    Organisation,
    OrganisationKind,
    Sector,
    SizeClass,
    may_be_partner,
)

# Uploads and the re-posted content of a dry run are both capped at this many bytes.
MAX_IMPORT_BYTES = 1_000_000

CREATE, UPDATE, SKIP, ERROR = "create", "update", "skip", "error"

_TRUE = {"yes", "y", "ja", "j", "1", "true", "sant", "x"}
_FALSE = {"no", "n", "nej", "0", "false", "falskt"}
_LIST_SEPARATORS = re.compile(r"[;,]")
_DOMAIN_SEPARATORS = re.compile(r"[;,\s]+")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
# Control characters other than tab and line breaks do not occur in a text file.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Our CSV export puts an apostrophe before a cell a spreadsheet would run as a formula.
_ESCAPED_FORMULA = re.compile(r"^'(?=[=+\-@])")


@dataclass(frozen=True)
class ImportColumn:
    name: str
    required: bool
    example: str
    help: str


ORGANISATION_COLUMNS = (
    ImportColumn("name", True, "Exempel Medtech AB", _l("The organisation's name.")),
    ImportColumn(
        "kind",
        True,
        "company",
        _l(
            "company, industry_association, healthcare_region, university, "
            "patient_organisation, public_agency or other (or the name shown in the app)."
        ),
    ),
    ImportColumn(
        "org_number",
        False,
        "556677-8899",
        _l("Swedish organisation number, NNNNNN-NNNN; checked and used to find the record."),
    ),
    ImportColumn("website", False, "exempelmedtech.se", _l("Web address.")),
    ImportColumn(
        "email_domains",
        False,
        "exempelmedtech.se",
        _l("E-mail domains, separated by semicolons, commas or spaces."),
    ),
    ImportColumn("country", False, "SE", _l("Two-letter country code; SE when empty.")),
    ImportColumn("city", False, "Göteborg", _l("City.")),
    ImportColumn(
        "sectors",
        False,
        "medtech;diagnostics_lab",
        _l(
            "pharma, medtech, biotech, diagnostics_lab, it_ai_data, cro, investor or other, "
            "separated by semicolons or commas."
        ),
    ),
    ImportColumn("size_class", False, "small", _l("micro, small, medium or large.")),
    ImportColumn("description", False, "", _l("Free text.")),
    ImportColumn("tags", False, "", _l("Tags, separated by semicolons or commas.")),
    ImportColumn(
        "is_partner",
        False,
        "no",
        _l("GMS partner (region or university): yes or no (ja or nej); never for a company."),
    ),
)

CONTACT_COLUMNS = (
    ImportColumn("first_name", True, "Anna", _l("First name.")),
    ImportColumn("last_name", True, "Andersson", _l("Last name.")),
    ImportColumn(
        "email",
        False,
        "anna.andersson@exempelmedtech.se",
        _l("E-mail address; used to find the contact."),
    ),
    ImportColumn("phone", False, "031-123 45 67", _l("Phone number.")),
    ImportColumn("title", False, "Head of R&D", _l("Job title.")),
    ImportColumn(
        "organisation",
        False,
        "556677-8899",
        _l("Name or organisation number of an organisation already in the register."),
    ),
    ImportColumn(
        "legal_basis",
        False,
        "legitimate_interest",
        _l("consent or legitimate_interest; legitimate_interest when empty."),
    ),
    ImportColumn(
        "do_not_contact",
        False,
        "no",
        _l("yes or no (ja or nej). An import sets the flag but never clears it."),
    ),
    ImportColumn("notes", False, "", _l("Free text.")),
)

ORGANISATION_REQUIRED = tuple(column.name for column in ORGANISATION_COLUMNS if column.required)
CONTACT_REQUIRED = tuple(column.name for column in CONTACT_COLUMNS if column.required)


@dataclass
class ImportRow:
    line: int  # as in the file, the header being line 1
    action: str  # create, update, skip (unchanged) or error
    name: str
    errors: list[str] = field(default_factory=list)


@dataclass
class ImportResult:
    dry_run: bool
    rows: list[ImportRow] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    def _count(self, action):
        return sum(1 for row in self.rows if row.action == action)

    @property
    def created(self):
        return self._count(CREATE)

    @property
    def updated(self):
        return self._count(UPDATE)

    @property
    def unchanged(self):
        return self._count(SKIP)

    @property
    def errors(self):
        return self._count(ERROR)

    @property
    def changes(self):
        """How many rows create or update a record."""
        return self.created + self.updated


# ---------------------------------------------------------------- reading the file


@dataclass
class ImportFile:
    text: str  # decoded, with plain line breaks: what a dry run re-posts for the real import
    rows: list[dict]  # as read_csv_upload gives them
    lines: list[int] | None  # the line in the file where each row starts


def read_import_file(data, *, required_columns):
    """An uploaded or re-posted CSV file as an ImportFile; CSVReadError says what is wrong."""
    if len(data) > MAX_IMPORT_BYTES:
        raise CSVReadError(_too_large())
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CSVReadError(
            _("The file is saved as UTF-16 text. Save it as CSV (UTF-8) and upload that file.")
        )
    if data.startswith(b"PK\x03\x04"):
        raise CSVReadError(
            _("This looks like an Excel workbook. Save it as CSV (UTF-8) and upload that file.")
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    if _CONTROL.search(text) or "\ufffd" in text:
        raise CSVReadError(_("The file is not a CSV text file."))
    try:
        rows = read_csv_upload(data, required_columns=required_columns)
        lines = _row_lines(text)
    except csv.Error as error:  # read_csv_upload lets one from the header row through
        raise CSVReadError(_("The file could not be read as CSV: %(error)s", error=error)) from None
    if not rows:
        raise CSVReadError(_("The file has a header row but no rows to import."))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # The browser sends the text back as UTF-8, which can be longer than a Windows file.
    if len(text.encode("utf-8")) > MAX_IMPORT_BYTES:
        raise CSVReadError(_too_large())
    return ImportFile(text=text, rows=rows, lines=lines if len(lines) == len(rows) else None)


def _row_lines(text):
    """The line each row of read_csv_upload starts on: it skips blank rows, and a quoted
    cell can span lines, so the row's index alone does not tell."""
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, [])
    width = len(header)
    lines = []
    start = reader.line_num + 1
    for record in reader:
        if any(cell.strip() for cell in record[:width]):
            lines.append(start)
        start = reader.line_num + 1
    return lines


def _too_large():
    return _("The file is larger than 1 MB. Split it into smaller files.")


# ---------------------------------------------------------------- running an import


def import_organisations(rows, *, dry_run, actor, lines=None):
    """Create or update organisations from CSV rows (dicts keyed by lower-case column).

    `lines` gives each row's line in the file; without it, row n is on line n + 1.
    """
    importer = _OrganisationImporter(actor)
    return _run(rows, lines, importer.import_row, ORGANISATION_COLUMNS, dry_run=dry_run)


def import_contacts(rows, *, dry_run, actor, lines=None):
    """Create or update contacts from CSV rows, linking them to existing organisations."""
    importer = _ContactImporter(actor)
    return _run(rows, lines, importer.import_row, CONTACT_COLUMNS, dry_run=dry_run)


def _run(rows, lines, import_row, columns, *, dry_run):
    known = {column.name for column in columns}
    present = list(dict.fromkeys(key for row in rows for key in row))
    result = ImportResult(
        dry_run=dry_run, ignored_columns=[name for name in present if name and name not in known]
    )
    # Record id → the line that created, updated or matched it, to catch a second row for it.
    seen = {}
    outer = db.session.begin_nested() if dry_run else None
    try:
        for index, row in enumerate(rows):
            line = lines[index] if lines else index + 2
            result.rows.append(import_row({k: _cell(v) for k, v in row.items()}, line, seen))
    finally:
        if outer is not None:
            outer.rollback()
    return result


def _cell(value):
    value = (value or "").strip()
    return _ESCAPED_FORMULA.sub("", value)


def _write(line, name, write):
    """Run `write` in a savepoint, so a row the database refuses leaves no trace."""
    try:
        with db.session.begin_nested():
            return write()
    except (sa.exc.IntegrityError, sa.exc.DataError):
        return ImportRow(line, ERROR, name, [_("The database refused the row; check its values.")])


def _error(column, message):
    return _("%(column)s: %(message)s", column=column, message=message)


def _duplicate(seen, record, line, name):
    if record is not None and record.id in seen:
        return ImportRow(
            line, ERROR, name, [_("Duplicate of line %(line)d.", line=seen[record.id])]
        )
    return None


# ---------------------------------------------------------------- values


def _enum_lookup(enum_class):
    """Folded value, English label and Swedish label → member."""
    lookup = {}
    for member in enum_class:
        lookup[fold(member.value)] = member
        lookup[fold(member.value.replace("_", " "))] = member
    for locale in ("en", "sv"):
        with force_locale(locale):
            for member in enum_class:
                label = str(member.label)
                lookup.setdefault(fold(label), member)
                # "Small (10–49 employees)" is also just "Small".
                lookup.setdefault(fold(label.split(" (")[0]), member)
    return lookup


def _parse_enum(lookup, enum_class, column, text, errors):
    member = lookup.get(fold(text))
    if member is None:
        errors.append(
            _error(
                column,
                _(
                    "Unknown value “%(value)s”; use one of %(values)s.",
                    value=text,
                    values=", ".join(item.value for item in enum_class),
                ),
            )
        )
    return member


def _parse_bool(column, text, errors):
    folded = fold(text)
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    errors.append(_error(column, _("Write yes or no, not “%(value)s”.", value=text)))
    return None


def _check_length(column, text, limit, errors):
    if len(text) > limit:
        errors.append(_error(column, _("At most %(count)d characters.", count=limit)))


def _split(text, pattern=_LIST_SEPARATORS):
    return [item.strip() for item in pattern.split(text) if item.strip()]


# ---------------------------------------------------------------- organisations


class _OrganisationImporter:
    def __init__(self, actor):
        self.actor = actor
        self.kinds = _enum_lookup(OrganisationKind)
        self.sectors = _enum_lookup(Sector)
        self.size_classes = _enum_lookup(SizeClass)

    def import_row(self, row, line, seen):
        name = row.get("name", "")
        errors = []
        data = self._parse(row, errors)
        target = self._match(data, errors)
        duplicate = _duplicate(seen, target, line, name)
        if duplicate is not None:
            return duplicate
        if errors:
            return ImportRow(line, ERROR, name, errors)
        if target is not None:
            if name_key(data["name"])[:200] == target.name_key:
                # "ROCHE" or "Roche AB" is no reason to rename "Roche".
                del data["name"]
            if not _organisation_differs(target, data):
                seen[target.id] = line
                return ImportRow(line, SKIP, name)

            def update():
                # Looking up tags must not flush the row's changes before the audit sees them.
                with db.session.no_autoflush:
                    services.update_organisation(target, data, actor=self.actor)
                seen[target.id] = line
                return ImportRow(line, UPDATE, name)

            return _write(line, name, update)

        data.setdefault("country", "SE")

        def create():
            with db.session.no_autoflush:
                organisation = services.create_organisation(data, actor=self.actor)
            seen[organisation.id] = line
            return ImportRow(line, CREATE, name)

        return _write(line, name, create)

    def _parse(self, row, errors):
        """The row's non-empty cells as service data; problems go to `errors`."""
        data = {}
        name = row.get("name", "")
        if not name:
            errors.append(_error("name", _("A name is required.")))
        else:
            _check_length("name", name, 200, errors)
            data["name"] = name
        kind = row.get("kind", "")
        if not kind:
            errors.append(_error("kind", _("A kind is required.")))
        else:
            data["kind"] = _parse_enum(self.kinds, OrganisationKind, "kind", kind, errors)
        if number := row.get("org_number"):
            try:
                data["org_number"] = normalise_org_number(number)
            except InvalidOrgNumber as error:
                if error.args and error.args[0] == "check_digit":
                    message = _("The check digit of %(value)s is wrong.", value=number)
                else:
                    message = _(
                        "“%(value)s” is not an organisation number (NNNNNN-NNNN).", value=number
                    )
                errors.append(_error("org_number", message))
        if website := row.get("website"):
            try:
                data["website"] = normalise_website(website)
            except ValueError:
                errors.append(
                    _error("website", _("“%(value)s” is not a web address.", value=website))
                )
            else:
                _check_length("website", data["website"], 300, errors)
        if domains := row.get("email_domains"):
            data["email_domains"] = []
            for domain in _split(domains, _DOMAIN_SEPARATORS):
                try:
                    data["email_domains"].append(normalise_domain(domain))
                except ValueError:
                    errors.append(
                        _error(
                            "email_domains",
                            _("“%(value)s” is not an e-mail domain.", value=domain),
                        )
                    )
        if country := row.get("country"):
            if _COUNTRY.match(country):
                data["country"] = country.upper()
            else:
                errors.append(
                    _error("country", _("Use a two-letter country code such as SE or DK."))
                )
        if city := row.get("city"):
            _check_length("city", city, 120, errors)
            data["city"] = city
        if sectors := row.get("sectors"):
            data["sectors"] = [
                _parse_enum(self.sectors, Sector, "sectors", text, errors)
                for text in _split(sectors)
            ]
        if size_class := row.get("size_class"):
            data["size_class"] = _parse_enum(
                self.size_classes, SizeClass, "size_class", size_class, errors
            )
        if description := row.get("description"):
            data["description"] = description
        if tags := row.get("tags"):
            # Tags are stored folded; "Big Pharma" and "big pharma" are one tag.
            data["tags"] = list(dict.fromkeys(fold(tag) for tag in _split(tags)))
            for tag in data["tags"]:
                _check_length("tags", tag, 60, errors)
        if is_partner := row.get("is_partner"):
            data["is_partner"] = _parse_bool("is_partner", is_partner, errors)
            if data["is_partner"] and data.get("kind") and not may_be_partner(data["kind"]):
                errors.append(
                    _error(
                        "is_partner",
                        _("A company cannot be a GMS partner (region or university)."),
                    )
                )
        return data

    def _match(self, data, errors):
        """The existing organisation the row is about: by organisation number, else by name."""
        number = data.get("org_number")
        if number:
            holder = db.session.scalar(
                sa.select(Organisation).where(Organisation.org_number == number)
            )
            if holder is not None and holder.is_deleted:
                errors.append(
                    _error(
                        "org_number",
                        _(
                            "%(number)s belongs to the deleted organisation %(name)s; "
                            "restore it first.",
                            number=number,
                            name=holder.name,
                        ),
                    )
                )
                return None
            if holder is not None:
                return holder
        if not data.get("name"):
            return None
        candidates = db.session.scalars(
            sa.select(Organisation)
            .where(
                Organisation.name_key == name_key(data["name"])[:200],
                Organisation.deleted_at.is_(None),
            )
            .limit(2)
        ).all()
        if len(candidates) > 1:
            errors.append(
                _error(
                    "name",
                    _(
                        "Several organisations are named %(name)s; add the organisation number.",
                        name=data["name"],
                    ),
                )
            )
            return None
        if not candidates:
            return None
        candidate = candidates[0]
        if number and candidate.org_number and candidate.org_number != number:
            errors.append(
                _error(
                    "org_number",
                    _(
                        "%(name)s is registered with the organisation number %(other)s, "
                        "not %(number)s.",
                        name=candidate.name,
                        other=candidate.org_number,
                        number=number,
                    ),
                )
            )
            return None
        return candidate


def _organisation_differs(organisation, data):
    for key, value in data.items():
        if key == "sectors":
            current = set(organisation.sector_values)
            if current != set(value):
                return True
        elif key == "email_domains":
            if {item.domain for item in organisation.email_domains} != set(value):
                return True
        elif key == "tags":
            if {tag.name for tag in organisation.tags} != set(value):
                return True
        elif getattr(organisation, key) != value:
            return True
    return False


# ---------------------------------------------------------------- contacts


class _ContactImporter:
    def __init__(self, actor):
        self.actor = actor
        self.legal_bases = _enum_lookup(LegalBasis)
        # Cell text → (organisation id, error), so a long file looks each one up once.
        self.organisations = {}

    def import_row(self, row, line, seen):
        name = f"{row.get('first_name', '')} {row.get('last_name', '')}".strip()
        errors = []
        data = self._parse(row, errors)
        target = self._match(data, errors)
        duplicate = _duplicate(seen, target, line, name)
        if duplicate is not None:
            return duplicate
        if errors:
            return ImportRow(line, ERROR, name, errors)
        if target is not None:
            for column in ("first_name", "last_name"):
                if fold(data[column]) == fold(getattr(target, column)):
                    # Found by name: "asa" is no reason to rewrite "Åsa".
                    del data[column]
            if data.get("do_not_contact") is False:
                # Clearing the flag is a decision for a person on the contact's page.
                del data["do_not_contact"]
            if not _contact_differs(target, data):
                seen[target.id] = line
                return ImportRow(line, SKIP, name)

            def update():
                services.update_contact(target, data, actor=self.actor)
                seen[target.id] = line
                return ImportRow(line, UPDATE, name)

            return _write(line, name, update)

        data.setdefault("legal_basis", LegalBasis.LEGITIMATE_INTEREST)
        data.setdefault("do_not_contact", False)

        def create():
            contact = services.create_contact(data, actor=self.actor)
            seen[contact.id] = line
            return ImportRow(line, CREATE, name)

        return _write(line, name, create)

    def _parse(self, row, errors):
        data = {}
        for column in ("first_name", "last_name"):
            value = row.get(column, "")
            if not value:
                errors.append(_error(column, _("A name is required.")))
            else:
                _check_length(column, value, 100, errors)
                data[column] = value
        if email := row.get("email"):
            if len(email) > 254 or not _EMAIL.match(email):
                errors.append(
                    _error("email", _("“%(value)s” is not an e-mail address.", value=email))
                )
            else:
                data["email"] = email
        for column, limit in (("phone", 50), ("title", 200)):
            if value := row.get(column):
                _check_length(column, value, limit, errors)
                data[column] = value
        if organisation := row.get("organisation"):
            organisation_id, error = self._organisation(organisation)
            if error:
                errors.append(_error("organisation", error))
            else:
                data["organisation_id"] = organisation_id
        if legal_basis := row.get("legal_basis"):
            data["legal_basis"] = _parse_enum(
                self.legal_bases, LegalBasis, "legal_basis", legal_basis, errors
            )
        if do_not_contact := row.get("do_not_contact"):
            data["do_not_contact"] = _parse_bool("do_not_contact", do_not_contact, errors)
        if notes := row.get("notes"):
            data["notes"] = notes
        return data

    def _organisation(self, text):
        """(organisation id, None) for an organisation number or name, or (None, error)."""
        if text not in self.organisations:
            self.organisations[text] = _find_organisation(text)
        return self.organisations[text]

    def _match(self, data, errors):
        """The existing contact: same e-mail (any case), else the one person of the same name
        at the same organisation (or, like the row, at none)."""
        if "first_name" not in data or "last_name" not in data:
            return None
        if email := data.get("email"):
            found = db.session.scalars(
                sa.select(Contact)
                .where(sa.func.lower(Contact.email) == email.lower(), Contact.deleted_at.is_(None))
                .limit(2)
            ).all()
            if len(found) > 1:
                errors.append(
                    _error(
                        "email",
                        _("Several contacts have the e-mail %(email)s; merge them first.",
                          email=email),
                    )
                )  # fmt: skip
                return None
            if found:
                return found[0]
        full_name = fold(f"{data['first_name']} {data['last_name']}")
        organisation_id = data.get("organisation_id")
        found = [
            contact
            for contact in db.session.scalars(
                sa.select(Contact)
                .where(
                    Contact.deleted_at.is_(None),
                    Contact.search_text.startswith(full_name, autoescape=True),
                    (
                        Contact.organisation_id == organisation_id
                        if organisation_id
                        else Contact.organisation_id.is_(None)
                    ),
                )
                .limit(20)
            )
            if fold(contact.first_name) == fold(data["first_name"])
            and fold(contact.last_name) == fold(data["last_name"])
            # Someone of the same name with another e-mail address is someone else.
            and not (data.get("email") and contact.email)
        ]
        return found[0] if len(found) == 1 else None


def _find_organisation(text):
    try:
        number = normalise_org_number(text)
    except InvalidOrgNumber:
        number = None
    if number:
        organisation_id = db.session.scalar(
            sa.select(Organisation.id).where(
                Organisation.org_number == number, Organisation.deleted_at.is_(None)
            )
        )
        if organisation_id is None:
            return None, _(
                "No organisation has the number %(number)s; import organisations first.",
                number=number,
            )
        return organisation_id, None
    found = db.session.scalars(
        sa.select(Organisation.id)
        .where(Organisation.name_key == name_key(text)[:200], Organisation.deleted_at.is_(None))
        .limit(2)
    ).all()
    if len(found) > 1:
        return None, _(
            "Several organisations are named %(name)s; use the organisation number.", name=text
        )
    if not found:
        return None, _("No organisation named %(name)s; import organisations first.", name=text)
    return found[0], None


def _contact_differs(contact, data):
    return any(getattr(contact, key) != value for key, value in data.items())
