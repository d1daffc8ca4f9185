"""The texts of the API's documentation page, in the reader's language.

The OpenAPI document is generated from the code (the operations' docstrings, the schemas'
descriptions) and stays in English: it is the contract other systems read. The page at
/api/docs shows the same texts translated. `extract` hands them to Babel (babel.cfg) as they
stand in the generated document, so the catalog holds exactly the texts the page looks up,
and tests/test_api_docs.py fails on any that has no Swedish translation.
"""

from babel.messages.extract import extract_python

# The keys whose text the page shows: tags' and operations' summaries and descriptions, and
# those of parameters, fields and responses.
TEXT_KEYS = ("summary", "description")


def document_texts(document):
    """Every text the documentation page may show of `document`, as a set."""
    texts = set()

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in TEXT_KEYS and isinstance(value, str) and value.strip():
                    texts.add(value.strip())
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    return texts


def extract(fileobj, keywords, comment_tags, options):
    """A Babel extraction method: this file's own messages, then the generated document's
    texts (it builds the app to generate it, as the page does)."""
    yield from extract_python(fileobj, keywords, comment_tags, options)

    from config import TestingConfig
    from crm import create_app
    from crm.api.views import openapi_document

    app = create_app(TestingConfig)
    with app.app_context():
        document = openapi_document()
    for text in sorted(document_texts(document)):
        yield 0, None, text, ["A text of the API documentation page (/api/docs)."]
