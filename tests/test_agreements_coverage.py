"""Which agreements cover an organisation: directly as a party, or through an association it
was a member of during the agreement's term; and the organisation page that shows them."""

from datetime import date

import pytest

from crm.agreements.coverage import agreements_covering, members_covered_by
from crm.agreements.models import AgreementKind, AgreementStatus, PartyRole
from crm.agreements.services import SIGNED_STATUSES
from crm.auth.models import Role
from crm.core import records
from crm.organisations import services as organisation_services
from crm.organisations.models import OrganisationKind
from tests import factories

START = date(2024, 1, 1)
END = date(2026, 12, 31)


@pytest.fixture
def orgs(make_organisation):
    return {
        "association": make_organisation(
            "Swedish Medtech", kind=OrganisationKind.INDUSTRY_ASSOCIATION
        ),
        "company": make_organisation("Acme Medtech AB"),
        "region": make_organisation("Region Uppsala", kind=OrganisationKind.HEALTHCARE_REGION),
    }


def make_framework(
    parties,
    *,
    covers_members=True,
    status=AgreementStatus.ACTIVE,
    title="Framework agreement",
    start=START,
    end=END,
    deleted=False,
):
    """A framework agreement covering the members, active (signed on its first day) unless
    told otherwise; `parties` are (organisation, role) pairs."""
    return factories.make_agreement(
        title,
        parties=parties,
        kind=AgreementKind.FRAMEWORK,
        status=status,
        signed_date=start if status in SIGNED_STATUSES else None,
        start_date=start,
        end_date=end,
        covers_members=covers_members,
        deleted=deleted,
    )


def join(db, member, association, since=None, until=None):
    membership = organisation_services.add_membership(member, association, since=since, actor=None)
    if until is not None:
        organisation_services.end_membership(membership, until=until, actor=None)
    db.session.commit()


def covering(organisation):
    return [
        (c.agreement.title, c.role, c.via.name if c.via else None)
        for c in agreements_covering(organisation.id)
    ]


def test_a_party_is_covered_directly_with_its_role(db, orgs):
    make_framework(
        [(orgs["region"], PartyRole.SIGNATORY), (orgs["company"], PartyRole.PARTY)],
        covers_members=False,
    )

    assert covering(orgs["region"]) == [("Framework agreement", PartyRole.SIGNATORY, None)]
    assert covering(orgs["company"]) == [("Framework agreement", PartyRole.PARTY, None)]


def test_a_member_is_covered_through_its_association(db, orgs):
    agreement = make_framework([(orgs["association"], PartyRole.SIGNATORY)])
    join(db, orgs["company"], orgs["association"], since=date(2020, 5, 1))

    assert covering(orgs["company"]) == [("Framework agreement", None, "Swedish Medtech")]
    assert members_covered_by(agreement) == [(orgs["company"], orgs["association"])]


def test_no_coverage_when_the_agreement_does_not_cover_members(db, orgs):
    agreement = make_framework([(orgs["association"], PartyRole.PARTY)], covers_members=False)
    join(db, orgs["company"], orgs["association"])

    assert covering(orgs["company"]) == []
    assert members_covered_by(agreement) == []


def test_an_observer_association_does_not_cover_its_members(db, orgs):
    agreement = make_framework([(orgs["association"], PartyRole.OBSERVER)])
    join(db, orgs["company"], orgs["association"])

    assert covering(orgs["company"]) == []
    assert members_covered_by(agreement) == []
    # The association itself is still a party, as an observer.
    assert covering(orgs["association"]) == [("Framework agreement", PartyRole.OBSERVER, None)]


@pytest.mark.parametrize(
    ("since", "until", "covered"),
    [
        # Joined after the agreement ended.
        (date(2027, 1, 1), None, False),
        # Left before the agreement started.
        (date(2019, 1, 1), date(2023, 12, 31), False),
        # Joined on the last day, left on the first: the terms touch.
        (END, None, True),
        (date(2019, 1, 1), START, True),
        # Joined during the term, and left during it.
        (date(2025, 6, 1), None, True),
        (date(2019, 1, 1), date(2025, 6, 1), True),
        # No dates known: assumed to overlap.
        (None, None, True),
    ],
)
def test_the_membership_must_overlap_the_agreement_term(db, orgs, since, until, covered):
    agreement = make_framework([(orgs["association"], PartyRole.PARTY)])
    join(db, orgs["company"], orgs["association"], since=since, until=until)

    assert bool(covering(orgs["company"])) is covered
    assert bool(members_covered_by(agreement)) is covered


def test_an_open_ended_agreement_covers_later_members(db, orgs):
    make_framework([(orgs["association"], PartyRole.PARTY)], end=None)
    join(db, orgs["company"], orgs["association"], since=date(2030, 1, 1))

    assert covering(orgs["company"]) == [("Framework agreement", None, "Swedish Medtech")]


@pytest.mark.parametrize("status", [AgreementStatus.DRAFT, AgreementStatus.NEGOTIATION])
def test_an_unsigned_agreement_covers_no_member_yet(db, orgs, status):
    make_framework([(orgs["association"], PartyRole.PARTY)], status=status)
    join(db, orgs["company"], orgs["association"])

    assert covering(orgs["company"]) == []
    # The association sees its own draft.
    assert len(covering(orgs["association"])) == 1


def test_deleted_agreements_and_associations_do_not_cover(db, orgs):
    make_framework([(orgs["association"], PartyRole.PARTY)], title="Deleted", deleted=True)
    other = factories.make_organisation(
        "Closed association", kind=OrganisationKind.INDUSTRY_ASSOCIATION
    )
    make_framework([(other, PartyRole.PARTY)], title="Through a closed association")
    join(db, orgs["company"], orgs["association"])
    join(db, orgs["company"], other)
    records.soft_delete(other, actor=None)
    db.session.commit()

    assert covering(orgs["company"]) == []


def test_direct_parties_come_first_and_are_not_repeated(db, orgs):
    make_framework(
        [(orgs["association"], PartyRole.PARTY), (orgs["company"], PartyRole.SIGNATORY)],
        title="Both",
    )
    make_framework([(orgs["association"], PartyRole.PARTY)], title="Through only")
    join(db, orgs["company"], orgs["association"])

    assert covering(orgs["company"]) == [
        ("Both", PartyRole.SIGNATORY, None),
        ("Through only", None, "Swedish Medtech"),
    ]


# ---------------------------------------------------------------- the organisation page


def page(client, organisation):
    response = client.get(f"/organisations/{organisation.id}?lang=en")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_organisation_page_shows_direct_and_member_coverage(app, db, client, auth, make_user, orgs):
    direct = make_framework(
        [(orgs["company"], PartyRole.SIGNATORY)], covers_members=False, title="Acme NDA"
    )
    through = make_framework(
        [(orgs["association"], PartyRole.PARTY)], title="Framework with Swedish Medtech"
    )
    make_framework([(orgs["association"], PartyRole.OBSERVER)], title="Observed only")
    join(db, orgs["company"], orgs["association"], since=date(2022, 1, 1))
    user = make_user(Role.VIEWER)
    user.language = "en"
    db.session.commit()
    auth.login(user)

    html = page(client, orgs["company"])

    assert "Acme NDA" in html
    assert "Signatory" in html
    assert "Framework with Swedish Medtech" in html
    association_link = f'<a href="/organisations/{orgs["association"].id}">Swedish Medtech</a>'
    assert f"through {association_link}" in html
    assert "Observed only" not in html
    if "agreements.detail" in app.view_functions:
        assert f'href="/agreements/{direct.id}"' in html
        assert f'href="/agreements/{through.id}"' in html
    # A viewer cannot start a new agreement.
    assert "New agreement" not in html


def test_organisation_page_offers_members_a_new_agreement(app, db, client, auth, make_user, orgs):
    user = make_user(Role.MEMBER)
    user.language = "en"
    db.session.commit()
    auth.login(user)

    html = page(client, orgs["region"])

    assert "No agreements with this organisation yet." in html
    if "agreements.create" in app.view_functions:
        assert f'href="/agreements/new?organisation_id={orgs["region"].id}"' in html
        assert "New agreement" in html


def test_association_names_are_escaped_on_the_page(db, client, auth, make_user, orgs):
    orgs["association"].name = "<b>Evil</b> & Co"
    make_framework([(orgs["association"], PartyRole.PARTY)])
    join(db, orgs["company"], orgs["association"])
    user = make_user(Role.VIEWER)
    user.language = "en"
    db.session.commit()
    auth.login(user)

    html = page(client, orgs["company"])

    assert "&lt;b&gt;Evil&lt;/b&gt; &amp; Co</a>" in html
    assert "<b>Evil</b>" not in html
