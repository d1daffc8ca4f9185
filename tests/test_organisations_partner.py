"""`is_partner`: a GMS partner is one of the healthcare regions and universities that run GMS,
never a company. The label says so wherever the flag is shown, edited, filtered or imported,
in English and Swedish."""

import re

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from crm.core.csv_export import read_csv_upload
from crm.core.models import AuditEntry
from crm.organisations import services
from crm.organisations.import_services import ORGANISATION_REQUIRED, import_organisations
from crm.organisations.models import Organisation, OrganisationKind

LABELS = {
    "en": "GMS partner (region or university)",
    "sv": "GMS-partner (region eller universitet)",
}
REFUSED = {
    "en": "A company cannot be a GMS partner",
    "sv": "Ett företag kan inte vara GMS-partner",
}


def form_data(**fields):
    """The organisation form as a browser sends it (unticked boxes left out)."""
    data = {"kind": "company", "name": "Exempel Diagnostik AB", "country": "SE"}
    for name in ("org_number", "website", "email_domains", "city", "size_class"):
        data[name] = ""
    data.update(description="", tags="", owner_id="")
    data.update(fields)
    return data


def in_language(client, user, signed_in, language):
    signed_in(user)
    client.post(f"/language/{language}?next=/")


def named(db, name):
    return db.session.scalar(sa.select(Organisation).where(Organisation.name == name))


@pytest.mark.parametrize("language", ["en", "sv"])
def test_the_label_on_the_form_the_list_filter_and_the_detail_page(
    client, db, signed_in, make_organisation, language
):
    region = make_organisation(
        "Region Exempel", kind=OrganisationKind.HEALTHCARE_REGION, is_partner=True
    )
    in_language(client, "member", signed_in, language)
    label = LABELS[language]

    form = client.get("/organisations/new").get_data(as_text=True)
    assert re.search(rf'<label for="is_partner">{re.escape(label)}</label>', form)

    listing = client.get("/organisations/").get_data(as_text=True)
    assert re.search(rf'<label for="partner">{re.escape(label)}</label>', listing)
    assert label in listing.split("<thead>", 1)[1].split("</thead>", 1)[0]

    detail = client.get(f"/organisations/{region.id}").get_data(as_text=True)
    assert f'<span class="badge">{label}</span>' in detail
    assert f"<dt>{label}</dt>" in detail
    for old in ("GMS partner<", "GMS-partner<"):
        assert old not in form + listing + detail


@pytest.mark.parametrize("language", ["en", "sv"])
def test_a_company_cannot_be_made_a_partner(client, db, signed_in, language):
    in_language(client, "member", signed_in, language)

    response = client.post("/organisations/new", data=form_data(is_partner="y"))

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert REFUSED[language] in page
    assert 'id="is_partner-error"' in page
    assert named(db, "Exempel Diagnostik AB") is None


@pytest.mark.parametrize("kind", [OrganisationKind.HEALTHCARE_REGION, OrganisationKind.UNIVERSITY])
def test_a_region_or_university_can_be_a_partner(client, db, signed_in, kind):
    signed_in("member")

    response = client.post(
        "/organisations/new",
        data=form_data(kind=kind.value, name="Exempeluniversitetet", is_partner="y"),
    )

    assert response.status_code == 302
    assert named(db, "Exempeluniversitetet").is_partner is True


def test_a_partner_cannot_become_a_company_and_stays_unchanged(
    client, db, signed_in, make_organisation
):
    region = make_organisation(
        "Region Exempel", kind=OrganisationKind.HEALTHCARE_REGION, is_partner=True
    )
    signed_in("member")
    url = f"/organisations/{region.id}/edit"

    refused = client.post(url, data=form_data(name="Region Exempel", is_partner="y"))
    assert refused.status_code == 200
    assert REFUSED["en"] in refused.get_data(as_text=True)
    db.session.expire_all()
    assert region.kind == OrganisationKind.HEALTHCARE_REGION and region.is_partner

    # Unticking the box makes it a plain company; the history says what changed, by label.
    assert client.post(url, data=form_data(name="Region Exempel")).status_code == 302
    db.session.expire_all()
    assert region.kind == OrganisationKind.COMPANY and region.is_partner is False
    changes = db.session.scalar(
        sa.select(AuditEntry.changes)
        .where(AuditEntry.entity_type == "organisations", AuditEntry.entity_id == region.id)
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    assert changes["is_partner"] == [True, False]
    history = client.get(f"/organisations/{region.id}").get_data(as_text=True)
    assert LABELS["en"] in history.split('id="history', 1)[-1]


def test_the_import_refuses_a_company_as_partner_and_explains_the_column(
    client, db, signed_in, make_user
):
    actor = make_user("member")
    text = (
        "name,kind,is_partner\n"
        "Exempel Pharma AB,company,yes\n"
        "Region Exempel,healthcare_region,yes\n"
        "Exempelföreningen,industry_association,no\n"
    )

    with force_locale("en"):
        result = import_organisations(
            read_csv_upload(text.encode(), required_columns=ORGANISATION_REQUIRED),
            dry_run=False,
            actor=actor,
        )
    db.session.commit()

    assert [row.action for row in result.rows] == ["error", "create", "create"]
    assert result.rows[0].errors == [
        "is_partner: A company cannot be a GMS partner (region or university)."
    ]
    assert named(db, "Exempel Pharma AB") is None
    assert named(db, "Region Exempel").is_partner is True

    signed_in("member")
    page = client.get("/organisations/import").get_data(as_text=True)
    assert "GMS partner (region or university): yes or no" in page


def test_merging_a_partner_into_a_company_does_not_make_the_company_one(db, make_organisation):
    company = make_organisation("Exempel AB")
    region = make_organisation(
        "Region Exempel (old)", kind=OrganisationKind.HEALTHCARE_REGION, is_partner=True
    )
    university = make_organisation("Exempeluniversitetet", kind=OrganisationKind.UNIVERSITY)
    twin = make_organisation(
        "Exempeluniversitetet (old)", kind=OrganisationKind.UNIVERSITY, is_partner=True
    )

    services.merge_organisations(company, region, actor=None)
    services.merge_organisations(university, twin, actor=None)
    db.session.commit()

    assert company.is_partner is False
    assert university.is_partner is True
