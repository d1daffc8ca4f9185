import re

import pytest
import sqlalchemy as sa

from config import ProductionConfig
from crm import create_app, demo_data
from crm.activities.models import Activity, ActivityKind
from crm.agreements.models import Agreement, AgreementKind, AgreementStatus
from crm.auth.models import Role, User
from crm.core.text import luhn_valid
from crm.core.types import utcnow
from crm.enquiries.models import Enquiry, EnquiryStatus
from crm.extensions import db as _db
from crm.organisations.models import Organisation, OrganisationKind
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
    assert {party.organisation.name for party in framework.parties} == set(associations)

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
