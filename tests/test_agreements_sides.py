"""The two sides of an agreement: the GMS partners (organisations marked `is_partner`) on ours,
everyone else on the other, on the agreement's page and in the list of agreements."""

import re

import pytest
import sqlalchemy as sa

from crm import demo_data
from crm.agreements.models import Agreement, AgreementKind, PartyRole
from crm.organisations.models import OrganisationKind

HEADINGS = {
    "en": ("Our side – GMS partners", "Other side"),
    "sv": ("Vår sida – GMS-partner", "Motparter"),
}


def parties_section(html):
    return html.split('id="parties-heading"', 1)[1].split("</section>", 1)[0]


def names_under(section, heading_id):
    """The organisation names in the list a heading labels."""
    match = re.search(rf'<ul [^>]*aria-labelledby="{heading_id}">(.*?)</ul>', section, re.S)
    assert match, heading_id
    return re.findall(r'<a href="/organisations/\d+">([^<]*)</a>', match.group(1))


@pytest.mark.parametrize("language", ["en", "sv"])
def test_the_framework_agreement_shows_the_gms_partners_and_the_associations_apart(
    client, db, signed_in, language
):
    demo_data.load()
    db.session.commit()
    framework = db.session.scalar(
        sa.select(Agreement).where(Agreement.title == demo_data.FRAMEWORK)
    )
    signed_in("viewer")
    client.post(f"/language/{language}?next=/")

    section = parties_section(client.get(f"/agreements/{framework.id}").get_data(as_text=True))

    ours, other = HEADINGS[language]
    assert f'<h3 id="our-side-heading">{ours}</h3>' in section
    assert f'<h3 id="other-side-heading">{other}</h3>' in section
    our_side = names_under(section, "our-side-heading")
    other_side = names_under(section, "other-side-heading")
    assert sorted(our_side) == sorted(demo_data.GMS_PARTNER_NAMES)
    assert {"Region Skåne", "Karolinska Institutet", "Uppsala universitet"} <= set(our_side)
    assert sorted(other_side) == sorted(demo_data.ASSOCIATIONS)
    assert section.index(ours) < section.index(other)


def test_the_list_names_the_other_side_and_counts_ours(client, db, signed_in):
    demo_data.load()
    db.session.commit()
    signed_in("viewer")

    html = client.get("/agreements/?q=Framework").get_data(as_text=True)

    row = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert "with 14 GMS partners" in row
    for association in demo_data.ASSOCIATIONS:
        assert association in row
    assert "Karolinska Institutet" not in row


def test_one_sided_agreements_list_their_parties_as_before(
    client, db, signed_in, make_organisation, make_agreement
):
    roche = make_organisation("Roche AB")
    lif = make_organisation("Lif", kind=OrganisationKind.INDUSTRY_ASSOCIATION)
    nda = make_agreement("NDA with Roche", parties=[roche, (lif, PartyRole.OBSERVER)])
    region = make_organisation(
        "Region Exempel", kind=OrganisationKind.HEALTHCARE_REGION, is_partner=True
    )
    university = make_organisation(
        "Exempeluniversitetet", kind=OrganisationKind.UNIVERSITY, is_partner=True
    )
    between_partners = make_agreement(
        "Agreement between partners",
        kind=AgreementKind.COLLABORATION,
        parties=[region, university],
    )
    signed_in("viewer")

    expected = {
        nda: ["Lif", "Roche AB"],
        between_partners: ["Exempeluniversitetet", "Region Exempel"],
    }
    for agreement, names in expected.items():
        section = parties_section(client.get(f"/agreements/{agreement.id}").get_data(as_text=True))
        assert "our-side-heading" not in section and "other-side-heading" not in section
        assert names_under(section, "parties-heading") == names
    assert "Observer" in parties_section(client.get(f"/agreements/{nda.id}").get_data(as_text=True))

    listing = client.get("/agreements/").get_data(as_text=True)
    assert "Lif, Roche AB" in listing
    assert "Exempeluniversitetet, Region Exempel" in listing
    assert "GMS partner" not in listing.split("<tbody>", 1)[1]


def test_a_few_gms_partners_are_named_in_the_list(
    client, db, signed_in, make_organisation, make_agreement
):
    company = make_organisation("Exempel Diagnostics AB")
    region = make_organisation(
        "Region Exempel", kind=OrganisationKind.HEALTHCARE_REGION, is_partner=True
    )
    make_agreement("Data-sharing pilot", parties=[company, (region, PartyRole.OBSERVER)])
    signed_in("viewer")

    listing = client.get("/agreements/").get_data(as_text=True)

    assert "Exempel Diagnostics AB, Region Exempel" in listing
    assert "GMS partner" not in listing.split("<tbody>", 1)[1]
