"""flask-smorest's Api, answering errors as problem details and documenting them so."""

import http

import flask_smorest
import marshmallow as ma
from flask_smorest.utils import prepare_response

from crm.api.problems import PROBLEM_TYPE

TOKEN_SCHEME = "bearerAuth"  # noqa: S105 (the scheme's name in the document)


class FieldErrorSchema(ma.Schema):
    field = ma.fields.String(
        required=True, metadata={"description": "The field, dotted for nested ones"}
    )
    detail = ma.fields.String(required=True)


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details."""

    type = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String()
    instance = ma.fields.String()
    errors = ma.fields.List(
        ma.fields.Nested(FieldErrorSchema),
        metadata={"description": "One entry per invalid field (422)"},
    )


class CrmApi(flask_smorest.Api):
    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self):
        # Errors are answered by crm/api/problems.py through crm.core.errors, which knows the
        # whole app's error handling; flask-smorest's handler would take over every page's.
        pass

    def _register_responses(self):
        # As flask-smorest's own, but every error response is application/problem+json.
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            content_type = PROBLEM_TYPE if status >= 400 else self.DEFAULT_RESPONSE_CONTENT_TYPE
            prepare_response(response, self.spec, content_type)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "An error, as problem details", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_TYPE)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)


def make_api(app):
    app.config.setdefault("API_TITLE", "CRM")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    # The document is served by crm/api/views.py, and the docs page is ours (local assets).
    app.config["OPENAPI_URL_PREFIX"] = None
    api = CrmApi(
        app,
        spec_kwargs={
            "info": {
                "description": (
                    "The CRM's REST API. Authenticate with a personal API token "
                    "(created at /account/tokens): `Authorization: Bearer <token>`. "
                    "Errors are RFC 9457 problem details."
                )
            },
            "security": [{TOKEN_SCHEME: []}],
        },
    )
    api.spec.components.security_scheme(
        TOKEN_SCHEME, {"type": "http", "scheme": "bearer", "bearerFormat": "crm_…"}
    )
    return api
