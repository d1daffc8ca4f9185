"""The OpenAPI document and the documentation page drawn from it."""

import html
import re
from pathlib import Path

from babel.messages.pofile import read_po

from crm.api.documentation import document_texts
from crm.api.views import openapi_document
from crm.auth.models import Role

RESOURCES = (
    "organisations",
    "contacts",
    "activities",
    "agreements",
    "tasks",
    "enquiries",
    "documents",
    "figures",
)


def test_the_openapi_document_describes_every_resource_with_bearer_tokens(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json
    assert document["openapi"] == "3.1.0"
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert document["security"] == [{"bearerAuth": []}]
    paths = document["paths"]
    for resource in RESOURCES:
        assert any(path.startswith(f"/api/v1/{resource}") for path in paths), resource
    # Errors are documented as the problem details they are.
    default = document["components"]["responses"]["DEFAULT_ERROR"]
    assert list(default["content"]) == ["application/problem+json"]
    # Generated from the schemas the code validates with: a field's limits are there.
    organisation = document["components"]["schemas"]["Organisation"]
    assert organisation["properties"]["name"]["maxLength"] == 200
    assert set(organisation["required"]) == {"kind", "name"}


def test_the_documentation_page_lists_every_operation_from_local_assets(client):
    document = client.get("/api/v1/openapi.json").json
    page = client.get("/api/docs?lang=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for path, item in document["paths"].items():
        for method in set(item) & {"get", "post", "put", "patch", "delete"}:
            assert f"{method.upper()} {path}" in html, (method, path)
    # Nothing from elsewhere: every script, style sheet and image is the app's own.
    for address in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert not address.startswith(("http://", "https://", "//")), address
    assert "Organisation" in html and 'id="schema-Organisation"' in html


def test_the_tokens_page_leads_to_the_documentation(signed_in, client):
    signed_in(Role.MEMBER)
    page = client.get("/account/tokens")
    assert page.status_code == 200
    assert 'href="/api/docs"' in page.get_data(as_text=True)


def _swedish_catalog(app):
    path = Path(app.root_path) / "translations" / "sv" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po:
        return read_po(po)


def test_every_text_of_the_documentation_page_has_a_swedish_translation(app):
    # The document is generated from docstrings and schemas; a new operation or field
    # without a Swedish text (make extract-messages, then translate) fails here.
    with app.app_context():
        texts = document_texts(openapi_document())
    catalog = _swedish_catalog(app)
    untranslated = sorted(
        text for text in texts if not (catalog.get(text) and catalog[text].string)
    )
    assert len(texts) > 100
    assert untranslated == []


def test_the_documentation_page_reads_in_swedish(app, client):
    catalog = _swedish_catalog(app)
    summary = "List organisations, with the list page's filters and sort orders."
    field = "A GMS partner: a healthcare region or university, never a company."

    swedish = html.unescape(client.get("/api/docs?lang=sv").get_data(as_text=True))
    english = html.unescape(client.get("/api/docs?lang=en").get_data(as_text=True))

    for text in (summary, field):
        assert text in english
        assert text not in swedish
        assert catalog[text].string in swedish
    assert "lista med Membership" in swedish and "list of Membership" in english
