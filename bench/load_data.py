"""Load a synthetic data set at the scale of SPEC §6 into DATABASE_URL, fast.

    DATABASE_URL=... python bench/load_data.py [--organisations 100000] [--contacts 200000]
                                               [--activities 50000] [--enquiries 20000]

The database must be migrated and should hold the demo data (for the users); this adds the
synthetic records with bulk INSERTs of a few thousand rows each, computing the derived
columns (search text, name keys) the ORM events would. Every name and address is made up
(example.com, example.org); no real person's data.
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

CHUNK = 5000
SEED = 20261126

PREFIXES = ["Nordic", "Scandi", "Baltic", "Polar", "Aurora", "Fjäll", "Skär", "Älv", "Göta"]
STEMS = ["Genomics", "Diagnostics", "Biotech", "Medtech", "Pharma", "Bioinformatik", "Labs"]
FIRST = ["Anna", "Erik", "Maria", "Lars", "Karin", "Johan", "Sofia", "Anders", "Åsa", "Örjan"]
LAST = ["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Öberg"]
CITIES = ["Stockholm", "Göteborg", "Malmö", "Uppsala", "Lund", "Umeå", "Linköping", "Örebro"]


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


def _insert(table, rows):
    for start in range(0, len(rows), CHUNK):
        db.session.execute(sa.insert(table), rows[start : start + CHUNK])


def _next_id(model):
    return (db.session.scalar(sa.select(sa.func.max(model.id))) or 0) + 1


def load(organisations, contacts, activities, enquiries):
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
    org_rows, sector_rows = [], []
    for offset in range(organisations):
        org_id = first_org + offset
        if offset % 5000 == 0:
            kind = OrganisationKind.INDUSTRY_ASSOCIATION
        elif offset % 10 == 0:
            kind = rng.choice(other_kinds)
        else:
            kind = OrganisationKind.COMPANY
        name = f"{rng.choice(PREFIXES)} {rng.choice(STEMS)} {org_id} AB"
        number = _org_number(org_id)
        city = rng.choice(CITIES)
        org_rows.append(
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
                "created_at": now,
                "updated_at": now,
            }
        )
        sector_rows.append({"organisation_id": org_id, "sector": rng.choice(sectors)})
    _insert(Organisation.__table__, org_rows)
    _insert(OrganisationSector.__table__, sector_rows)
    org_ids = [row["id"] for row in org_rows]

    associations = db.session.scalars(
        sa.select(Organisation.id).where(
            Organisation.kind == OrganisationKind.INDUSTRY_ASSOCIATION,
            Organisation.id < first_org,
        )
    ).all()
    existing = set(
        db.session.execute(sa.select(Membership.member_id, Membership.association_id)).all()
    )
    membership_rows = []
    for org_id in org_ids[:: max(1, len(org_ids) // 5000)]:
        for association_id in associations[:1]:
            if (org_id, association_id) not in existing:
                membership_rows.append(
                    {
                        "member_id": org_id,
                        "association_id": association_id,
                        "since": today - timedelta(days=rng.randint(30, 3000)),
                        "created_at": now,
                        "updated_at": now,
                    }
                )
    _insert(Membership.__table__, membership_rows)

    first_contact = _next_id(Contact)
    contact_rows = []
    for offset in range(contacts):
        contact_id = first_contact + offset
        first, last = rng.choice(FIRST), rng.choice(LAST)
        email = f"{fold(first)}.{fold(last)}.{contact_id}@example.com"
        title = "Head of R&D" if offset % 3 else "CEO"
        contact_rows.append(
            {
                "id": contact_id,
                "first_name": first,
                "last_name": last,
                "email": email,
                "title": title,
                "organisation_id": org_ids[offset % len(org_ids)],
                "legal_basis": LegalBasis.LEGITIMATE_INTEREST,
                "do_not_contact": offset % 40 == 0,
                "legal_hold": False,
                "owner_id": rng.choice(user_ids),
                "search_text": fold(f"{first} {last} {email} {title}"),
                "created_at": now,
                "updated_at": now,
            }
        )
    _insert(Contact.__table__, contact_rows)

    first_activity = _next_id(Activity)
    activity_rows, link_rows, staff_rows = [], [], []
    activity_kinds = list(ActivityKind)
    for offset in range(activities):
        activity_id = first_activity + offset
        start = today - timedelta(days=rng.randint(-60, 1500))
        activity_rows.append(
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
            link_rows.append(
                {
                    "activity_id": activity_id,
                    "organisation_id": org_id,
                    "role": ActivityOrganisationRole.PARTICIPANT,
                }
            )
        staff_rows.append({"activity_id": activity_id, "user_id": rng.choice(user_ids)})
    _insert(Activity.__table__, activity_rows)
    _insert(ActivityOrganisation.__table__, link_rows)
    _insert(activity_staff, staff_rows)

    first_enquiry = _next_id(Enquiry)
    enquiry_rows = []
    statuses = list(EnquiryStatus)
    topics = list(Topic)
    for offset in range(enquiries):
        enquiry_id = first_enquiry + offset
        received = now - timedelta(minutes=rng.randint(10, 2 * 365 * 24 * 60))
        status = rng.choice(statuses)
        assigned = status != EnquiryStatus.NEW
        row = {
            "id": enquiry_id,
            "reference": f"ENQ-B{enquiry_id:07d}",
            "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            "email": f"sender{enquiry_id}@example.org",
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
            "closed_at": received + timedelta(days=20) if status == EnquiryStatus.CLOSED else None,
            "legal_hold": False,
            "created_at": received,
            "updated_at": received,
        }
        enquiry_rows.append(row)
    _insert(Enquiry.__table__, enquiry_rows)
    _reset_sequences()
    _after_bulk_load()


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


def _after_bulk_load():
    """Bring derived structures (the search index) in step with the rows inserted in bulk."""
    try:
        from crm.search.index import rebuild_index
    except ImportError:
        return
    rebuild_index()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--organisations", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--activities", type=int, default=50_000)
    parser.add_argument("--enquiries", type=int, default=20_000)
    args = parser.parse_args()
    app = create_app()
    with app.app_context():
        started = time.monotonic()
        load(args.organisations, args.contacts, args.activities, args.enquiries)
        db.session.commit()
        # Fresh planner statistics, as the daily job keeps them on SQLite
        # (crm.core.database.refresh_planner_statistics). On PostgreSQL, what autovacuum does
        # some minutes after a bulk load: statistics, and the full-text index's pending list
        # merged (until then every search reads that list through).
        statement = "VACUUM ANALYZE" if db.engine.dialect.name == "postgresql" else "ANALYZE"
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(statement))
        print(
            f"Loaded {args.organisations} organisations, {args.contacts} contacts, "
            f"{args.activities} activities and {args.enquiries} enquiries "
            f"in {time.monotonic() - started:.0f} s."
        )


if __name__ == "__main__":
    main()
