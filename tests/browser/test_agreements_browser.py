"""A member creates an agreement with two parties, uploads a PDF to it and downloads it again."""

import re
from pathlib import Path

import pytest

from crm.organisations import services
from crm.organisations.models import OrganisationKind
from tests.browser.helpers import sign_in

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright").expect

pytestmark = pytest.mark.config(WTF_CSRF_ENABLED=True)

FIRST = "Uppsala Biobank AB"
SECOND = "Karolinska Lab"
TITLE = "Biobank sample-sharing MoU"
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


@pytest.fixture
def organisations(db):
    created = [
        services.create_organisation({"kind": OrganisationKind.COMPANY, "name": name}, actor=None)
        for name in (FIRST, SECOND)
    ]
    db.session.commit()
    return created


@pytest.fixture
def member(make_user):
    return make_user("member", email="maja.member@example.org", name="Maja Member")


@pytest.fixture
def uploads(app, tmp_path):
    folder = tmp_path / "uploads"
    app.config["UPLOAD_FOLDER"] = str(folder)
    return folder


def test_create_agreement_upload_and_download_pdf(page, member, organisations, uploads, tmp_path):
    sign_in(page, member)
    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="Agreements"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Agreements")
    page.get_by_role("link", name="New agreement").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New agreement")

    page.get_by_label("Kind").select_option("mou")
    page.get_by_label("Title").fill(TITLE)
    first = page.get_by_role("group", name="Party 1")
    # Type part of the name; the type-ahead offers the match, which the person picks.
    first.get_by_label("Organisation").fill("Uppsala Bio")
    option = page.locator(
        f"#{first.get_by_label('Organisation').get_attribute('id')}-options option"
    )
    expect(option).to_have_count(1)
    first.get_by_label("Organisation").fill(option.get_attribute("value"))
    first.get_by_label("Role").select_option("signatory")
    second = page.get_by_role("group", name="Party 2")
    second.get_by_label("Organisation").fill(SECOND)
    page.get_by_label("Our signatory").fill("Vice-Chancellor")
    page.get_by_label("Renewal notice (days)").fill("60")
    page.get_by_role("button", name="Save").click()

    expect(page).to_have_url(re.compile(r"/agreements/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    parties = page.locator("section[aria-labelledby=parties-heading]")
    expect(parties.get_by_role("link", name=FIRST)).to_be_visible()
    expect(parties.get_by_role("link", name=SECOND)).to_be_visible()
    expect(parties.get_by_text("Signatory")).to_be_visible()

    pdf = tmp_path / "signed-mou.pdf"
    pdf.write_bytes(PDF)
    page.get_by_role("link", name="Upload a document").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Upload a document")
    page.get_by_label("File").set_input_files(str(pdf))
    page.get_by_label("Title").fill("Signed MoU")
    page.get_by_role("button", name="Upload").click()

    expect(page).to_have_url(re.compile(r"/agreements/\d+$"))
    documents = page.locator("section[aria-labelledby=documents-heading]")
    link = documents.get_by_role("link", name="Signed MoU", exact=True)
    expect(link).to_be_visible()
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    assert Path(download.path()).read_bytes() == PDF

    # The status buttons post with the CSRF token.
    page.get_by_role("button", name="Mark as Negotiation").click()
    expect(page.get_by_text("The agreement is now Negotiation.")).to_be_visible()
    expect(page.get_by_role("button", name="Mark as Draft")).to_be_visible()
