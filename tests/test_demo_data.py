import re
from datetime import date

import pytest
import sqlalchemy as sa

from config import ProductionConfig
from crm import create_app, demo_data
from crm.activities.models import Activity, ActivityKind, ActivityOrganisationRole, ActivityStatus
from crm.agreements.models import Agreement, AgreementKind, AgreementStatus
from crm.auth.models import Role, User
from crm.core.models import AuditEntry
from crm.core.text import luhn_valid
from crm.core.types import utcnow
from crm.enquiries.models import Enquiry, EnquiryStatus
from crm.extensions import db as _db
from crm.organisations.models import Organisation, OrganisationKind
from crm.settings import services as settings
from crm.settings.models import Setting
from tests.conftest import _empty_tables


def run_demo_data(runner):
    result = runner.invoke(args=["crm", "demo-data"])
    assert result.exit_code == 0, result.output
    return result


def snapshot(db):
    """Every row of every table, so two loads can be compared."""
    with db.engine.connect() as connection:
        return {
            table.name: sorted(repr(tuple(row)) for row in connection.execute(sa.select(table)))
            for table in db.metadata.sorted_tables
        }


@pytest.fixture
def loaded(runner):
    return run_demo_data(runner)


def test_luhn_helper_knows_a_valid_number_from_an_invalid_one():
    assert luhn_valid("5592147309")
    assert luhn_valid("79927398713")
    assert not luhn_valid("5592147308")


def test_one_active_user_per_role_and_their_logins_are_printed(db, loaded):
    assert "records created" in loaded.output
    assert demo_data.DEMO_PASSWORD in loaded.output
    for role in Role:
        users = db.session.scalars(sa.select(User).where(User.role == role, User.active)).all()
        assert users, f"no active {role.value} user"
        assert any(user.email in loaded.output for user in users)
    assert len(demo_data.DEMO_PASSWORD) >= 12
    assert db.session.scalar(
        sa.select(sa.func.count()).select_from(User).where(User.is_public_contact)
    )


def test_the_gms_collaborations_are_there(db, loaded):
    associations = db.session.scalars(
        sa.select(Organisation.name).where(
            Organisation.kind == OrganisationKind.INDUSTRY_ASSOCIATION
        )
    ).all()
    assert set(demo_data.ASSOCIATIONS) <= set(associations)
    assert {"SwedenBIO", "Swedish Medtech", "Swedish Labtech"} <= set(associations)

    framework = db.session.scalar(
        sa.select(Agreement).where(Agreement.kind == AgreementKind.FRAMEWORK)
    )
    assert framework.covers_members and framework.is_public
    assert framework.status == AgreementStatus.ACTIVE
    # Entered by the GMS partners on one side and the four associations on the other.
    assert {party.organisation.name for party in framework.parties} == set(associations) | set(
        demo_data.GMS_PARTNER_NAMES
    )
    assert {
        party.organisation.name for party in framework.parties if party.organisation.is_partner
    } == set(demo_data.GMS_PARTNER_NAMES)

    mou = db.session.scalar(sa.select(Agreement).where(Agreement.kind == AgreementKind.MOU))
    assert [party.organisation.name for party in mou.parties] == ["Microsoft"]

    course = db.session.scalar(
        sa.select(Activity).where(
            Activity.kind == ActivityKind.COURSE,
            Activity.title == "Precision medicine in practice – Breast cancer",
        )
    )
    assert course.is_public and course.public_summary
    assert {link.organisation.name for link in course.organisations} == {"Roche", "Novartis"}


def test_there_are_enquiries_in_every_status(db, loaded):
    enquiries = db.session.scalars(sa.select(Enquiry)).all()
    assert {enquiry.status for enquiry in enquiries} == set(EnquiryStatus)
    now = utcnow()
    for enquiry in enquiries:
        assert re.fullmatch(r"ENQ-\d{4}-\d{5}", enquiry.reference)
        assert enquiry.received_at <= now
        assert enquiry.consent_text is not None and enquiry.consent_given_at is not None
        assert (enquiry.assignee is None) == (enquiry.status == EnquiryStatus.NEW)
        if enquiry.status == EnquiryStatus.CLOSED:
            assert enquiry.closed_reason is not None and enquiry.closed_at is not None


def test_every_organisation_number_is_luhn_valid_and_unique(db, loaded):
    numbers = db.session.scalars(
        sa.select(Organisation.org_number).where(Organisation.org_number.is_not(None))
    ).all()
    assert numbers
    assert len(numbers) == len(set(numbers))
    for number in numbers:
        assert re.fullmatch(r"\d{6}-\d{4}", number), number
        assert luhn_valid(number.replace("-", "")), number


def test_a_second_run_changes_nothing(db, runner, loaded):
    before = snapshot(db)

    again = run_demo_data(runner)

    assert "nothing changed" in again.output
    after = snapshot(db)
    assert {name: len(rows) for name, rows in after.items()} == {
        name: len(rows) for name, rows in before.items()
    }
    assert after == before


def test_a_deleted_demo_record_is_not_recreated(db, runner, loaded):
    roche = db.session.scalar(sa.select(Organisation).where(Organisation.name == "Roche"))
    roche.deleted_at = utcnow()
    db.session.commit()

    run_demo_data(runner)

    assert db.session.scalars(
        sa.select(Organisation).where(Organisation.name == "Roche")
    ).all() == [roche]


def test_load_leaves_the_commit_to_the_caller(db):
    assert demo_data.load() > 0
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_a_demo_user_can_sign_in(client, loaded):
    email, name, _role = demo_data.DEMO_USERS[1]

    response = client.post("/login", data={"email": email, "password": demo_data.DEMO_PASSWORD})

    assert response.status_code == 302
    assert name in client.get("/dashboard/").get_data(as_text=True)


def test_the_public_page_offers_the_public_demo_documents_for_download(client, loaded):
    page = client.get("/?lang=en").get_data(as_text=True)

    assert "Strategy for collaboration with industry" in page
    assert "Framework agreement with the industry associations" in page
    assert "NDA draft" not in page
    download = re.search(r'href="(/documents/\d+/download)"', page).group(1)
    response = client.get(download)
    assert response.status_code == 200
    assert response.data.startswith(b"%PDF-1.4")
    assert response.headers["Content-Disposition"].startswith("attachment")


def test_production_refuses_the_demo_data_and_its_known_passwords(_schema):
    # No `app` fixture: the command would run in its app context instead of production's.
    config = type(
        "ProductionOnTestDatabase",
        (ProductionConfig,),
        {
            "SQLALCHEMY_DATABASE_URI": _schema,
            "SECRET_KEY": "p" * 64,
            "PUBLIC_URL": "https://crm.example.org",
        },
    )
    production = create_app(config)

    result = production.test_cli_runner().invoke(args=["crm", "demo-data"])

    with production.app_context():
        users = _db.session.scalar(sa.select(sa.func.count()).select_from(User))
        _db.session.remove()
        _empty_tables()  # should the command have loaded anything, the next test starts clean
        _db.engine.dispose()
    assert result.exit_code != 0
    assert "not loaded in production" in result.output
    assert users == 0


# ---------------------------------------------------------------- issue 18: true to the seed


def partner_names(db):
    return set(
        db.session.scalars(sa.select(Organisation.name).where(Organisation.is_partner)).all()
    )


def test_the_gms_partners_are_exactly_the_regions_and_universities_that_run_gms(db, loaded):
    partners = db.session.scalars(sa.select(Organisation).where(Organisation.is_partner)).all()

    assert {partner.name for partner in partners} == set(demo_data.GMS_PARTNER_NAMES)
    assert {
        "Region Skåne",
        "Karolinska Institutet",
        "Uppsala universitet",
        "Region Stockholm",
    } <= partner_names(db)
    assert {partner.kind for partner in partners} == {
        OrganisationKind.HEALTHCARE_REGION,
        OrganisationKind.UNIVERSITY,
    }
    # No company is a partner, and every region and university in the demo is one.
    assert not db.session.scalars(
        sa.select(Organisation.name).where(
            Organisation.kind == OrganisationKind.COMPANY, Organisation.is_partner
        )
    ).all()
    assert {"Roche", "Novartis", "Microsoft"}.isdisjoint(partner_names(db))
    assert set(
        db.session.scalars(
            sa.select(Organisation.name).where(
                Organisation.kind.in_(
                    [OrganisationKind.HEALTHCARE_REGION, OrganisationKind.UNIVERSITY]
                )
            )
        ).all()
    ) == set(demo_data.GMS_PARTNER_NAMES)


def test_the_microsoft_mou_has_a_public_ongoing_activity(db, loaded):
    mou = db.session.scalar(sa.select(Agreement).where(Agreement.title == demo_data.MICROSOFT_MOU))
    pilot = db.session.scalar(
        sa.select(Activity).where(Activity.title == demo_data.MICROSOFT_PILOT)
    )

    assert pilot.agreement == mou
    assert pilot.status == ActivityStatus.ONGOING
    assert pilot.is_public and "Microsoft" in pilot.public_summary
    assert ("Microsoft", ActivityOrganisationRole.PARTNER) in {
        (link.organisation.name, link.role) for link in pilot.organisations
    }
    assert pilot.start_date <= date.today() <= pilot.end_date


def current_and_upcoming(client, language="en"):
    """The public page's "Current and upcoming" activities, as text."""
    page = client.get("/", query_string={"lang": language}).get_data(as_text=True)
    section = page.split('id="activities-heading"', 1)[1]
    recent_heading = "Nyligen genomförda" if language == "sv" else "Recent"
    return section.split(recent_heading, 1)[0]


@pytest.mark.parametrize("language", ["en", "sv"])
def test_the_public_page_shows_the_mou_and_the_course_among_current_activities(
    client, loaded, language
):
    current = current_and_upcoming(client, language)

    assert demo_data.MICROSOFT_PILOT in current
    assert "Under our Memorandum of Understanding with Microsoft" in current
    # The e-learning course has no end date and is ongoing: current, not past.
    assert demo_data.COURSE in current


def test_the_demo_office_and_its_public_contact_people(db, client, loaded):
    assert settings.office_name("sv") == "Innovation- och företagssamverkan"
    assert settings.office_name("en") == "Innovation and industry collaboration"
    assert settings.get("intro_sv") == demo_data.SETTINGS["intro_sv"]
    assert settings.get("intro_en") == demo_data.SETTINGS["intro_en"]

    contacts = db.session.scalars(
        sa.select(User).where(User.is_public_contact, User.active).order_by(User.name)
    ).all()
    assert 2 <= len(contacts) <= 3
    names = {name for _email, name, _role in demo_data.DEMO_USERS}
    for person in contacts:
        assert person.name in names
        assert person.email.endswith("@example.org")
        assert person.title and person.phone.startswith("070-174 06")
    page = client.get("/?lang=en").get_data(as_text=True)
    for person in contacts:
        assert person.name in page and person.title in page


def downgrade_to_the_previous_version(db):
    """Turn a freshly loaded demo into what `crm demo-data` loaded before issue 18: companies
    marked as GMS partners and Region Skåne not, no other region or university, the framework
    agreement with the four associations only, no activity under the Microsoft MoU, and the
    office's name only in the one setting of earlier versions."""
    pilot = db.session.scalar(
        sa.select(Activity).where(Activity.title == demo_data.MICROSOFT_PILOT)
    )
    db.session.delete(pilot)
    framework = db.session.scalar(
        sa.select(Agreement).where(Agreement.title == demo_data.FRAMEWORK)
    )
    for party in list(framework.parties):
        if party.organisation.name in demo_data.GMS_PARTNER_NAMES:
            framework.parties.remove(party)
    db.session.flush()
    for organisation in db.session.scalars(sa.select(Organisation)).all():
        if organisation.name in demo_data.GMS_PARTNER_NAMES and organisation.name != "Region Skåne":
            db.session.delete(organisation)
        else:
            organisation.is_partner = organisation.name in demo_data.PREVIOUS_PARTNERS
    for key in ("office_name_sv", "office_name_en"):
        db.session.delete(db.session.get(Setting, key))
    db.session.commit()


def demo_state(db):
    """What a user of the demo sees, by name rather than id: the organisations and their
    partner flags, every agreement's parties, the activities' organisations, the office's
    names, and how many rows each table has (the audit history aside)."""
    with db.engine.connect() as connection:
        counts = {
            table.name: connection.scalar(sa.select(sa.func.count()).select_from(table))
            for table in db.metadata.sorted_tables
            if table.name != "audit_entries"
        }
    return {
        "organisations": sorted(
            (o.name, o.kind.value, o.is_partner, sorted(d.domain for d in o.email_domains))
            for o in db.session.scalars(sa.select(Organisation))
        ),
        "agreements": sorted(
            (a.title, sorted((p.organisation.name, p.role.value) for p in a.parties))
            for a in db.session.scalars(sa.select(Agreement))
        ),
        "activities": sorted(
            (
                a.title,
                a.status.value,
                a.is_public,
                a.agreement.title if a.agreement else None,
                sorted((link.organisation.name, link.role.value) for link in a.organisations),
            )
            for a in db.session.scalars(sa.select(Activity))
        ),
        "office": (settings.office_name("sv"), settings.office_name("en")),
        "counts": counts,
    }


def test_a_database_loaded_by_the_previous_version_is_corrected_not_duplicated(db, runner, loaded):
    expected = demo_state(db)
    downgrade_to_the_previous_version(db)
    assert partner_names(db) == demo_data.PREVIOUS_PARTNERS
    assert demo_state(db) != expected

    result = run_demo_data(runner)

    assert "records created or corrected" in result.output
    db.session.expire_all()
    assert demo_state(db) == expected
    # Every name once: nothing was loaded a second time.
    names = db.session.scalars(sa.select(Organisation.name)).all()
    assert len(names) == len(set(names))
    # The corrections are in the audit history, as an edit would be.
    roche = db.session.scalar(sa.select(Organisation).where(Organisation.name == "Roche"))
    skane = db.session.scalar(sa.select(Organisation).where(Organisation.name == "Region Skåne"))
    framework = db.session.scalar(
        sa.select(Agreement).where(Agreement.title == demo_data.FRAMEWORK)
    )
    assert latest_change(db, roche) == {"is_partner": [True, False]}
    assert latest_change(db, skane) == {"is_partner": [False, True]}
    before, after = latest_change(db, framework)["parties"]
    assert (
        "Karolinska Institutet (party)" in after and "Karolinska Institutet (party)" not in before
    )

    # And loading once more changes nothing.
    snapshot_before = snapshot(db)
    again = run_demo_data(runner)
    assert "nothing changed" in again.output
    assert snapshot(db) == snapshot_before


def test_a_partner_flag_someone_changed_themselves_is_kept(db, runner, loaded):
    """Only what the previous version got wrong is corrected: an admin who has marked a
    company or unmarked a university keeps their choice."""
    downgrade_to_the_previous_version(db)
    illumina = db.session.scalar(sa.select(Organisation).where(Organisation.name == "Illumina"))
    lif = db.session.scalar(sa.select(Organisation).where(Organisation.name == demo_data.LIF))
    lif.is_partner = True
    illumina.is_partner = True
    db.session.commit()

    run_demo_data(runner)

    db.session.expire_all()
    assert lif.is_partner is True and illumina.is_partner is True
    assert "Region Skåne" in partner_names(db)
    assert "Roche" not in partner_names(db)


def latest_change(db, record):
    return db.session.scalar(
        sa.select(AuditEntry.changes)
        .where(
            AuditEntry.entity_type == record.__tablename__,
            AuditEntry.entity_id == record.id,
            AuditEntry.action == "update",
        )
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
