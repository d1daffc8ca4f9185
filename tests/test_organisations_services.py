"""Organisation services: accent- and case-blind search, numbers, duplicates and merging."""

from datetime import date

import pytest
import sqlalchemy as sa

from crm.activities import task_services
from crm.activities.models import ActivityKind, ActivityOrganisation, Task
from crm.agreements.models import AgreementKind, AgreementParty
from crm.core.models import AuditEntry
from crm.core.text import InvalidOrgNumber, normalise_org_number
from crm.core.types import utcnow
from crm.documents.models import Document
from crm.enquiries.models import Enquiry, Topic
from crm.organisations import services
from crm.organisations.models import (
    Contact,
    ContactAffiliation,
    Membership,
    Organisation,
    OrganisationKind,
    Sector,
)

LIF_NUMBER = "802002-4280"


def found_names(query):
    select = services.organisation_select(services.OrganisationFilters(query=query))
    return sorted(
        organisation.name
        for organisation in services.db.session.scalars(select.order_by(Organisation.name))
    )


@pytest.fixture
def lif(make_organisation):
    make_organisation("Roche AB", city="Solna", org_number="556036-0793")
    return make_organisation(
        "Läkemedelsindustriföreningen",
        kind=OrganisationKind.INDUSTRY_ASSOCIATION,
        city="Göteborg",
        org_number=LIF_NUMBER,
    )


@pytest.mark.parametrize(
    "query",
    ["lakemedel", "LÄKEMEDEL", "Läkemedel", "LAKEMEDELSINDUSTRIFORENINGEN"],
)
def test_search_ignores_accents_and_case(lif, query):
    assert found_names(query) == ["Läkemedelsindustriföreningen"]


@pytest.mark.parametrize("query", ["goteborg", "GÖTEBORG", "Goteborg"])
def test_search_finds_the_city_folded(lif, query):
    assert found_names(query) == ["Läkemedelsindustriföreningen"]


@pytest.mark.parametrize("query", [LIF_NUMBER, LIF_NUMBER.replace("-", "")])
def test_search_finds_the_org_number_with_and_without_dash(lif, query):
    assert found_names(query) == ["Läkemedelsindustriföreningen"]


def test_search_needs_every_word_and_escapes_wildcards(lif):
    assert found_names("roche solna") == ["Roche AB"]
    assert found_names("roche göteborg") == []
    assert found_names("%") == []
    assert found_names("_") == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("556036-0793", "556036-0793"),
        ("5560360793", "556036-0793"),
        (" 16556036-0793 ", "556036-0793"),
        ("", None),
    ],
)
def test_org_number_is_normalised(value, expected):
    assert normalise_org_number(value) == expected


@pytest.mark.parametrize(
    ("value", "problem"),
    [("556036-0794", "check_digit"), ("55603-60793", "format"), ("abc", "format")],
)
def test_bad_org_numbers_say_what_is_wrong(value, problem):
    with pytest.raises(InvalidOrgNumber) as raised:
        normalise_org_number(value)
    assert str(raised.value) == problem


def test_duplicates_by_number_website_and_name(make_organisation):
    roche = make_organisation("Roche AB", org_number="556036-0793", website="https://www.roche.com")
    make_organisation("Novartis Sverige AB", website="https://novartis.se")

    def reasons(**fields):
        return {org.name: found for org, found in services.find_duplicate_organisations(**fields)}

    assert reasons(org_number="556036-0793") == {"Roche AB": {"org_number"}}
    assert reasons(name="Other", website="https://roche.com/sv") == {"Roche AB": {"website"}}
    assert reasons(name="roche, inc.") == {"Roche AB": {"name"}}
    assert reasons(name="ROCHE") == {"Roche AB": {"name"}}
    assert reasons(name="Roche Diagnostics") == {}
    assert reasons(name="Roche AB", exclude_id=roche.id) == {}


def test_a_deleted_organisation_is_no_duplicate(make_organisation, db):
    roche = make_organisation("Roche AB")
    roche.deleted_at = utcnow()
    db.session.commit()

    assert services.find_duplicate_organisations(name="Roche") == []


def test_typeahead_matches_words_and_kinds(make_organisation, lif):
    make_organisation("Lakemedel Konsult AB", city="Lund")

    names = [row.name for row in services.typeahead_organisations("läkemedel")]
    associations = services.typeahead_organisations(
        "lakemedel", kinds=[OrganisationKind.INDUSTRY_ASSOCIATION]
    )

    assert sorted(names) == ["Lakemedel Konsult AB", "Läkemedelsindustriföreningen"]
    assert [row.name for row in associations] == ["Läkemedelsindustriföreningen"]
    assert services.typeahead_organisations("   ") == []


# ---------------------------------------------------------------- merge


@pytest.fixture
def linked_duplicate(
    db,
    make_organisation,
    make_contact,
    make_agreement,
    make_activity,
    make_enquiry,
    make_document,
):
    """A kept association, its duplicate, and one of every kind of link to the duplicate."""
    keep = make_organisation(
        "Swedish Medtech",
        kind=OrganisationKind.INDUSTRY_ASSOCIATION,
        sectors=[Sector.MEDTECH],
        email_domains=["swedishmedtech.se"],
    )
    remove = make_organisation(
        "Swedish Medtech (old)",
        kind=OrganisationKind.INDUSTRY_ASSOCIATION,
        org_number="802002-4280",
        city="Stockholm",
        sectors=[Sector.MEDTECH, Sector.DIAGNOSTICS_LAB],
        email_domains=["swedishmedtech.se", "medtech.se"],
        tags=["framework"],
    )
    umbrella = make_organisation("Nordic Medtech", kind=OrganisationKind.INDUSTRY_ASSOCIATION)
    both = make_organisation("Shared Member AB")
    company = make_organisation("Getinge AB")

    services.add_membership(remove, umbrella, since=date(2020, 1, 1), actor=None)
    services.add_membership(company, remove, since=date(2021, 5, 1), actor=None)
    services.add_membership(both, keep, actor=None)
    services.add_membership(both, remove, actor=None)

    primary = make_contact("Eva", "Berg", organisation=remove)
    affiliated = make_contact(
        "Nils", "Ek", organisation=company, affiliations=[(remove.id, "Board")]
    )
    agreement = make_agreement(
        "Framework agreement", kind=AgreementKind.FRAMEWORK, parties=[remove]
    )
    activity = make_activity(
        "Seminar", kind=ActivityKind.SEMINAR, start_date=date(2024, 3, 1), organisations=[remove]
    )
    task = task_services.create_task(
        title="Call back", subject=remove, subject_kind="organisation_id", actor=None
    )
    db.session.commit()
    enquiry = make_enquiry(
        name="Ann",
        email="ann@medtech.se",
        topic=Topic.OTHER,
        message="Hi",
        organisation_id=remove.id,
    )
    document = make_document("Statutes", owner=remove, filename="statutes.pdf")
    return {
        "keep": keep,
        "remove": remove,
        "umbrella": umbrella,
        "company": company,
        "both": both,
        "primary": primary,
        "affiliated": affiliated,
        "agreement": agreement,
        "activity": activity,
        "task": task,
        "enquiry": enquiry,
        "document": document,
    }


def test_merge_moves_every_link_to_the_kept_record(db, make_user, linked_duplicate):
    records = linked_duplicate
    keep, remove = records["keep"], records["remove"]
    keep_id, remove_id = keep.id, remove.id
    coordinator = make_user("coordinator")

    moved = services.merge_organisations(keep, remove, actor=coordinator)
    db.session.commit()

    def ids(model, column, value):
        return db.session.scalars(sa.select(model.id).where(column == value)).all()

    # Memberships in both directions, without a duplicate for the shared member.
    member_of = db.session.scalars(
        sa.select(Membership.association_id).where(Membership.member_id == keep_id)
    ).all()
    members = db.session.scalars(
        sa.select(Membership.member_id).where(Membership.association_id == keep_id)
    ).all()
    assert member_of == [records["umbrella"].id]
    assert sorted(members) == sorted([records["company"].id, records["both"].id])
    assert not db.session.scalars(
        sa.select(Membership).where(
            sa.or_(Membership.member_id == remove_id, Membership.association_id == remove_id)
        )
    ).all()
    # Contacts, primary and affiliated.
    assert ids(Contact, Contact.organisation_id, keep_id) == [records["primary"].id]
    assert db.session.scalars(
        sa.select(ContactAffiliation.contact_id).where(
            ContactAffiliation.organisation_id == keep_id
        )
    ).all() == [records["affiliated"].id]
    # Every other link.
    assert db.session.scalars(
        sa.select(AgreementParty.agreement_id).where(AgreementParty.organisation_id == keep_id)
    ).all() == [records["agreement"].id]
    assert db.session.scalars(
        sa.select(ActivityOrganisation.activity_id).where(
            ActivityOrganisation.organisation_id == keep_id
        )
    ).all() == [records["activity"].id]
    assert ids(Task, Task.organisation_id, keep_id) == [records["task"].id]
    assert ids(Enquiry, Enquiry.organisation_id, keep_id) == [records["enquiry"].id]
    assert ids(Document, Document.organisation_id, keep_id) == [records["document"].id]
    # Sectors, tags and domains are united; empty fields filled from the duplicate.
    kept = db.session.get(Organisation, keep_id)
    assert sorted(kept.sector_values) == [Sector.DIAGNOSTICS_LAB, Sector.MEDTECH]
    assert [tag.name for tag in kept.tags] == ["framework"]
    assert sorted(item.domain for item in kept.email_domains) == [
        "medtech.se",
        "swedishmedtech.se",
    ]
    assert kept.org_number == "802002-4280"
    assert kept.city == "Stockholm"
    # The duplicate is soft-deleted, and both histories tell of the merge.
    removed = db.session.get(Organisation, remove_id)
    assert removed.deleted_at is not None
    assert removed.org_number is None
    entries = db.session.scalars(
        sa.select(AuditEntry).where(
            AuditEntry.entity_type == "organisations", AuditEntry.action == "merge"
        )
    ).all()
    assert {(entry.entity_id, entry.actor_id) for entry in entries} == {
        (keep_id, coordinator.id),
        (remove_id, coordinator.id),
    }
    assert moved["contacts"] == 1
    assert moved["tasks"] == 1


def test_merge_refuses_a_record_with_itself(make_organisation):
    roche = make_organisation("Roche AB")

    with pytest.raises(ValueError):
        services.merge_organisations(roche, roche, actor=None)


def test_membership_rules(db, make_organisation):
    lif = make_organisation("Lif", kind=OrganisationKind.INDUSTRY_ASSOCIATION)
    roche = make_organisation("Roche AB")
    membership = services.add_membership(roche, lif, since=date(2019, 1, 1), actor=None)
    db.session.commit()

    with pytest.raises(services.MembershipError):
        services.add_membership(roche, lif, actor=None)
    with pytest.raises(services.MembershipError):
        services.add_membership(lif, roche, actor=None)
    with pytest.raises(services.MembershipError):
        services.add_membership(lif, lif, actor=None)

    services.end_membership(membership, until=date(2024, 6, 30), actor=None)
    db.session.commit()
    member_of, _members, _total = services.current_memberships(roche, members_limit=50)
    assert [(row.association.name, row.until) for row in member_of] == [("Lif", date(2024, 6, 30))]
