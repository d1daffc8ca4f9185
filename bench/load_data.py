"""Load a synthetic data set at the scale of SPEC §6 into DATABASE_URL, fast.

    DATABASE_URL=... python bench/load_data.py [--scale 1] [--organisations 100000]
                               [--contacts 200000] [--activities 50000] [--enquiries 20000]

--scale 10 loads ten times SPEC §6's counts (1,000,000 organisations, 2,000,000 contacts,
500,000 activities, 200,000 enquiries). The database must be migrated and should hold the
demo data (for the users); this adds the synthetic records CHUNK rows at a time (COPY on
PostgreSQL, the driver's executemany on SQLite; never the whole set in memory), computing
the derived columns (search text, name keys) and the search index rows the ORM events
would. Every name and address is made up (example.com, example.org); no real person's data.
"""

import argparse
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crm import create_app  # noqa: E402
from crm.core.text import fold, name_key  # noqa: E402
from crm.extensions import db  # noqa: E402
from crm.models import (  # noqa: E402
    Activity,
    ActivityKind,
    ActivityOrganisation,
    ActivityOrganisationRole,
    ActivityStatus,
    Contact,
    Enquiry,
    EnquiryStatus,
    LegalBasis,
    Membership,
    Organisation,
    OrganisationKind,
    OrganisationSector,
    Sector,
    Topic,
    User,
    activity_staff,
)
from crm.search.index import entry_row  # noqa: E402
from crm.search.models import SearchEntry  # noqa: E402

CHUNK = 20_000
SEED = 20261126

PREFIXES = ["Nordic", "Scandi", "Baltic", "Polar", "Aurora", "Fjäll", "Skär", "Älv", "Göta"]
STEMS = ["Genomics", "Diagnostics", "Biotech", "Medtech", "Pharma", "Bioinformatik", "Labs"]
# People's names, about as frequent as in Sweden: each of the commonest surnames is borne by
# about 2 % of people, each of the commonest first names by about 1.5 %; everyone else has one
# of many rarer names (the surnames made up here from parts, as "Lindqvist" or "Sjögren").
# A register in which seven surnames cover everyone would make every search for a name a
# search for a seventh of the contacts, which no office sees.
FIRST = ["Anna", "Erik", "Maria", "Lars", "Karin", "Johan", "Sofia", "Anders", "Åsa", "Örjan"]
LAST = ["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Öberg"]
FIRST_SHARE = 0.15  # of people with one of FIRST
LAST_SHARE = 0.14  # of people with one of LAST
MORE_FIRST = (
    "Agnes Albin Alexander Alice Alva Amanda Anton Arvid Astrid Axel Birgitta Björn Camilla"
    " Carl David Ebba Elin Elias Elisabeth Ella Emil Emma Fredrik Frida Gunilla Gustav Hanna"
    " Hans Helena Henrik Hugo Ida Ingrid Isak Jakob Jenny Jonas Josefin Julia Kerstin Klara"
    " Kristina Leo Linnea Lisa Lovisa Lucas Magnus Malin Marcus Margareta Martin Matilda"
    " Mats Mikael Moa Nils Olle Oscar Patrik Per Peter Ronja Saga Sara Simon Stina Susanne"
    " Tove Ulf Ulrika Viktor Vera Wilma Åke Ylva"
).split()
SURNAME_STARTS = (
    "Berg Lind Sjö Ek Hag Holm Sand Strand Dahl Fors Lund Nord Ros Sten Wall Ahl Bäck Blom"
    " Eng Hed Kvist Ljung Malm Norr Rud Sö Ås Gran Hall Ny"
).split()
SURNAME_ENDS = "berg gren lund ström qvist man dahl holm vall sten by näs ling fors".split()
CITIES = ["Stockholm", "Göteborg", "Malmö", "Uppsala", "Lund", "Umeå", "Linköping", "Örebro"]


def _first_name(rng):
    return rng.choice(FIRST) if rng.random() < FIRST_SHARE else rng.choice(MORE_FIRST)


def _last_name(rng):
    if rng.random() < LAST_SHARE:
        return rng.choice(LAST)
    return rng.choice(SURNAME_STARTS) + rng.choice(SURNAME_ENDS)


def _luhn_digit(digits):
    total = 0
    for index, char in enumerate(digits):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


def _org_number(serial):
    body = f"55{serial:07d}"
    number = body + _luhn_digit(body)
    return f"{number[:6]}-{number[6:]}"


def _processors(table, columns):
    dialect = db.engine.dialect
    return [table.c[name].type.bind_processor(dialect) for name in columns]


def _bulk(table, rows):
    """Insert `rows` (dicts with the same keys) into `table` in the session's transaction,
    by the fastest path each database has: COPY on PostgreSQL, the driver's executemany on
    SQLite; each value converted as SQLAlchemy would bind it (enums, times, booleans)."""
    if not rows:
        return
    # The columns' Python-side defaults, which sa.insert() would fill in (driver paths don't).
    defaults = {}
    for column in table.c:
        default = column.default
        if column.name in rows[0] or default is None or default.is_sequence:
            continue
        if default.is_scalar:
            defaults[column.name] = default.arg
        elif default.is_callable:
            defaults[column.name] = default.arg(None)
    if defaults:
        rows = [{**defaults, **row} for row in rows]
    columns = list(rows[0])
    processors = _processors(table, columns)
    values = [
        tuple(
            process(row[name]) if process else row[name]
            for name, process in zip(columns, processors, strict=True)
        )
        for row in rows
    ]
    raw = db.session.connection().connection.driver_connection
    names = ", ".join(columns)
    if db.engine.dialect.name == "postgresql":
        with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in values:
                copy.write_row(row)
    else:
        marks = ", ".join("?" for _ in columns)
        raw.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", values)


class _Chunks:
    """Rows for a table, written CHUNK at a time (so a million of them never sit in memory),
    with the records' search index rows beside them."""

    def __init__(self, table, index_kind=None, *, parent=None):
        self.table = table
        self.index_kind = index_kind
        # Rows here point at the parent's (a foreign key): the parent's are written first.
        self.parent = parent
        self.rows = []
        self.count = 0

    def add(self, row):
        self.rows.append(row)
        if len(self.rows) >= CHUNK:
            self.flush()

    def flush(self):
        if self.parent is not None:
            self.parent.flush()
        _bulk(self.table, self.rows)
        if self.index_kind:
            _bulk(
                SearchEntry.__table__,
                [entry_row(self.index_kind, _Record(row)) for row in self.rows],
            )
        self.count += len(self.rows)
        self.rows = []


class _Record:
    """A row as the search index reads a record: its columns as attributes, None if unset."""

    def __init__(self, row):
        self.__dict__.update(row)

    def __getattr__(self, name):
        return None


def _next_id(model):
    return (db.session.scalar(sa.select(sa.func.max(model.id))) or 0) + 1


def load(organisations, contacts, activities, enquiries, *, log=print):
    rng = random.Random(SEED)
    now = datetime.now(UTC)
    today = date.today()
    user_ids = db.session.scalars(sa.select(User.id).where(User.active)).all()
    if not user_ids:
        raise SystemExit("No users: run `flask --app wsgi crm demo-data` first.")
    # Mostly companies; regions, universities and the like now and then; associations are
    # few in real life (a country has dozens, not thousands).
    other_kinds = [
        kind
        for kind in OrganisationKind
        if kind not in (OrganisationKind.COMPANY, OrganisationKind.INDUSTRY_ASSOCIATION)
    ]
    sectors = list(Sector)

    first_org = _next_id(Organisation)
    org_ids = range(first_org, first_org + organisations)
    org_rows = _Chunks(Organisation.__table__, "organisation")
    sector_rows = _Chunks(OrganisationSector.__table__, parent=org_rows)
    for offset, org_id in enumerate(org_ids):
        if offset % 5000 == 0:
            kind = OrganisationKind.INDUSTRY_ASSOCIATION
        elif offset % 10 == 0:
            kind = rng.choice(other_kinds)
        else:
            kind = OrganisationKind.COMPANY
        name = f"{rng.choice(PREFIXES)} {rng.choice(STEMS)} {org_id} AB"
        number = _org_number(org_id)
        city = rng.choice(CITIES)
        org_rows.add(
            {
                "id": org_id,
                "kind": kind,
                "name": name,
                "org_number": number,
                "website": f"https://org{org_id}.example.com",
                "country": "SE",
                "city": city,
                "is_partner": offset % 50 == 0,
                "owner_id": rng.choice(user_ids),
                "search_text": fold(
                    f"{name} {number} {number.replace('-', '')} {city} org{org_id}.example.com"
                ),
                "name_key": name_key(name),
                "website_domain": f"org{org_id}.example.com",
                "created_at": now,
                "updated_at": now,
            }
        )
        sector_rows.add({"organisation_id": org_id, "sector": rng.choice(sectors)})
    sector_rows.flush()
    log(f"   {org_rows.count} organisations")

    associations = db.session.scalars(
        sa.select(Organisation.id).where(
            Organisation.kind == OrganisationKind.INDUSTRY_ASSOCIATION,
            Organisation.id < first_org,
        )
    ).all()
    existing = set(
        db.session.execute(sa.select(Membership.member_id, Membership.association_id)).all()
    )
    membership_rows = _Chunks(Membership.__table__)
    for org_id in org_ids[:: max(1, len(org_ids) // 5000)]:
        for association_id in associations[:1]:
            if (org_id, association_id) not in existing:
                membership_rows.add(
                    {
                        "member_id": org_id,
                        "association_id": association_id,
                        "since": today - timedelta(days=rng.randint(30, 3000)),
                        "created_at": now,
                        "updated_at": now,
                    }
                )
    membership_rows.flush()

    first_contact = _next_id(Contact)
    contact_rows = _Chunks(Contact.__table__, "contact")
    for offset in range(contacts):
        contact_id = first_contact + offset
        first, last = _first_name(rng), _last_name(rng)
        # People write from their organisation's domain, as the enquiry matching expects.
        organisation_id = org_ids[offset % len(org_ids)]
        domain = f"org{organisation_id}.example.com"
        email = f"{fold(first)}.{fold(last)}.{contact_id}@{domain}"
        title = "Head of R&D" if offset % 3 else "CEO"
        contact_rows.add(
            {
                "id": contact_id,
                "first_name": first,
                "last_name": last,
                "email": email,
                "title": title,
                "organisation_id": organisation_id,
                "legal_basis": LegalBasis.LEGITIMATE_INTEREST,
                "do_not_contact": offset % 40 == 0,
                "legal_hold": False,
                "owner_id": rng.choice(user_ids),
                "search_text": fold(f"{first} {last} {email} {title}"),
                "email_domain": domain,
                "created_at": now,
                "updated_at": now,
            }
        )
    contact_rows.flush()
    log(f"   {contact_rows.count} contacts")

    first_activity = _next_id(Activity)
    activity_rows = _Chunks(Activity.__table__, "activity")
    link_rows = _Chunks(ActivityOrganisation.__table__, parent=activity_rows)
    staff_rows = _Chunks(activity_staff, parent=activity_rows)
    activity_kinds = list(ActivityKind)
    for offset in range(activities):
        activity_id = first_activity + offset
        start = today - timedelta(days=rng.randint(-60, 1500))
        activity_rows.add(
            {
                "id": activity_id,
                "kind": rng.choice(activity_kinds),
                "title": f"Dialogue meeting {activity_id}",
                "start_date": start,
                "is_online": offset % 2 == 0,
                "status": ActivityStatus.COMPLETED if start < today else ActivityStatus.PLANNED,
                "is_public": offset % 100 == 0,
                "public_summary": "A meeting on precision medicine." if offset % 100 == 0 else None,
                "created_at": now,
                "updated_at": now,
            }
        )
        for org_id in {rng.choice(org_ids), rng.choice(org_ids)}:
            link_rows.add(
                {
                    "activity_id": activity_id,
                    "organisation_id": org_id,
                    "role": ActivityOrganisationRole.PARTICIPANT,
                }
            )
        staff_rows.add({"activity_id": activity_id, "user_id": rng.choice(user_ids)})
    link_rows.flush()
    staff_rows.flush()
    log(f"   {activity_rows.count} activities")

    first_enquiry = _next_id(Enquiry)
    enquiry_rows = _Chunks(Enquiry.__table__, "enquiry")
    statuses = list(EnquiryStatus)
    topics = list(Topic)
    for offset in range(enquiries):
        enquiry_id = first_enquiry + offset
        received = now - timedelta(minutes=rng.randint(10, 2 * 365 * 24 * 60))
        status = rng.choice(statuses)
        assigned = status != EnquiryStatus.NEW
        enquiry_rows.add(
            {
                "id": enquiry_id,
                "reference": f"ENQ-B{enquiry_id:07d}",
                "name": f"{_first_name(rng)} {_last_name(rng)}",
                # A third from a known organisation's domain, the rest from new ones.
                "email": (
                    f"sender{enquiry_id}@org{rng.choice(org_ids)}.example.com"
                    if offset % 3 == 1
                    else f"sender{enquiry_id}@company{enquiry_id}.example.org"
                ),
                "organisation_name": f"Sender Company {enquiry_id} AB",
                "organisation_type": "company",
                "topic": rng.choice(topics),
                "message": "We would like to discuss a collaboration on genomic diagnostics.",
                "language": "sv" if offset % 2 else "en",
                "status": status,
                "assignee_id": rng.choice(user_ids) if assigned else None,
                "organisation_id": rng.choice(org_ids) if offset % 3 == 0 else None,
                "received_at": received,
                "assigned_at": received + timedelta(hours=rng.randint(1, 72)) if assigned else None,
                "first_response_at": (
                    received + timedelta(hours=rng.randint(2, 120)) if assigned else None
                ),
                "converted_at": (
                    received + timedelta(days=10) if status == EnquiryStatus.CONVERTED else None
                ),
                "closed_at": (
                    received + timedelta(days=20) if status == EnquiryStatus.CLOSED else None
                ),
                "legal_hold": False,
                "created_at": received,
                "updated_at": received,
            }
        )
    enquiry_rows.flush()
    log(f"   {enquiry_rows.count} enquiries")
    _reset_sequences()


def _reset_sequences():
    """PostgreSQL: move each id sequence past the ids inserted explicitly."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in ("organisations", "contacts", "activities", "enquiries"):
        db.session.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
        )


SPEC_SCALE = {
    "organisations": 100_000,
    "contacts": 200_000,
    "activities": 50_000,
    "enquiries": 20_000,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="the counts as a multiple of SPEC §6's (10: 1,000,000 organisations, …)",
    )
    for name in SPEC_SCALE:
        parser.add_argument(f"--{name}", type=int, help=f"{name} (overrides --scale)")
    args = parser.parse_args()
    counts = {
        name: getattr(args, name) if getattr(args, name) is not None else int(spec * args.scale)
        for name, spec in SPEC_SCALE.items()
    }
    app = create_app()
    with app.app_context():
        started = time.monotonic()
        load(**counts, log=lambda line: print(f"{line} ({time.monotonic() - started:.0f} s)"))
        db.session.commit()
        # Fresh planner statistics, as the daily job keeps them on SQLite
        # (crm.core.database.refresh_planner_statistics). On PostgreSQL, what autovacuum does
        # some minutes after a bulk load: statistics, and the full-text index's pending list
        # merged (until then every search reads that list through).
        statement = "VACUUM ANALYZE" if db.engine.dialect.name == "postgresql" else "ANALYZE"
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(statement))
        print(
            f"Loaded {counts['organisations']} organisations, {counts['contacts']} contacts, "
            f"{counts['activities']} activities and {counts['enquiries']} enquiries "
            f"in {time.monotonic() - started:.0f} s."
        )


if __name__ == "__main__":
    main()
