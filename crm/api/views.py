"""The OpenAPI document, and the documentation page drawn from it (no script, no CDN).

The document is in English; the page shows its texts in the reader's language
(crm/api/documentation.py).
"""

from flask import current_app, jsonify, render_template
from flask_babel import gettext as _

from crm.api import bp
from crm.core.security import public_route

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def openapi_document():
    """The OpenAPI 3.1 document flask-smorest generates from the resources' schemas."""
    return current_app.extensions["crm_api"].spec.to_dict()


@bp.route("/api/v1/openapi.json")
@public_route
def openapi_json():
    """Public: what the API offers is no secret; every operation needs a token."""
    response = jsonify(openapi_document())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.route("/api/docs")
@public_route
def docs():
    """Public: the API's documentation, for the people who write the office's integrations."""
    document = openapi_document()
    return render_template(
        "api/docs.html",
        document=document,
        resources=list(_resources(document)),
        schemas=[
            (name, _fields(document, schema))
            for name, schema in document.get("components", {}).get("schemas", {}).items()
            if schema.get("properties")
        ],
    )


def _resources(document):
    """[(tag, description, [operation])] in the document's order."""
    operations_by_tag = {}
    for path, item in document.get("paths", {}).items():
        for method in HTTP_METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            tag = (operation.get("tags") or [""])[0]
            operations_by_tag.setdefault(tag, []).append(
                _operation(document, path, method, operation)
            )
    for tag in document.get("tags", []):
        name = tag["name"]
        if name in operations_by_tag:
            yield name, _translated(tag.get("description")), operations_by_tag[name]


def _operation(document, path, method, operation):
    # A JSON body, or a form with a file (multipart/form-data) for the documents.
    body_type, body = next(
        iter(operation.get("requestBody", {}).get("content", {}).items()), (None, {})
    )
    responses = []
    for status, response in operation.get("responses", {}).items():
        response = _resolve(document, response)
        content = response.get("content", {})
        media_type, media = next(iter(content.items()), (None, {}))
        responses.append(
            {
                "status": status,
                "description": _translated(response.get("description")),
                "media_type": media_type,
                "schema": _schema_name(media.get("schema")),
            }
        )
    return {
        "id": f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", "").strip("-"),
        "method": method.upper(),
        "path": path,
        "summary": _translated(operation.get("summary")),
        "description": _translated(operation.get("description")),
        "parameters": [_parameter(document, parameter) for parameter in _parameters(operation)],
        "body": _fields(document, body.get("schema")) if body else None,
        "body_schema": _schema_name(body.get("schema")) if body else None,
        "body_type": body_type,
        "responses": responses,
    }


def _parameters(operation):
    return [p for p in operation.get("parameters", []) if isinstance(p, dict)]


def _parameter(document, parameter):
    parameter = _resolve(document, parameter)
    schema = parameter.get("schema", {})
    return {
        "name": parameter.get("name"),
        "in": parameter.get("in"),
        "type": _type_of(document, schema),
        "required": parameter.get("required", False),
        "description": _translated(parameter.get("description") or schema.get("description")),
    }


def _fields(document, schema):
    schema = _resolve(document, schema or {})
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "type": _type_of(document, field),
            "required": name in required,
            "read_only": field.get("readOnly", False),
            "description": _translated(field.get("description")),
        }
        for name, field in schema.get("properties", {}).items()
    ]


def _translated(text):
    """A text of the document in the reader's language (its catalog entry comes from
    crm/api/documentation.py's extraction)."""
    text = (text or "").strip()
    return _(text) if text else ""


def _resolve(document, node):
    while isinstance(node, dict) and "$ref" in node:
        section, name = node["$ref"].split("/")[-2:]
        node = document.get("components", {}).get(section, {}).get(name, {})
    return node


def _schema_name(schema):
    if isinstance(schema, dict) and "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    return None


def _type_of(document, schema):
    """A short type: "string", "integer | null", "list of Membership", "one of: a, b"."""
    if not isinstance(schema, dict):
        return ""
    if "$ref" in schema:
        return _schema_name(schema)
    if "enum" in schema:
        return " | ".join(str(value) for value in schema["enum"] if value is not None)
    kind = schema.get("type", "")
    if isinstance(kind, list):
        kind = " | ".join(kind)
    if "array" in str(kind):
        return _("list of %(type)s", type=_type_of(document, schema.get("items", {})))
    if schema.get("format"):
        kind = f"{kind} ({schema['format']})"
    return kind
