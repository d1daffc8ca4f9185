"""Errors as RFC 9457 problem details (application/problem+json).

Every error of a request under /api/ answers this way, whatever raised it: a validation
failure (with one entry per field), a missing or refused token, an unknown URL, a database
outage. A client reads `status` and `title`, and for a 422 the `errors` list.
"""

from flask import json, make_response, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from crm.api.messages import translated

PROBLEM_TYPE = "application/problem+json"

TITLES = {
    400: _l("Bad request"),
    401: _l("Authentication required"),
    403: _l("Not allowed"),
    404: _l("Not found"),
    405: _l("Method not allowed"),
    406: _l("Not acceptable"),
    409: _l("Conflict"),
    412: _l("Precondition failed"),
    413: _l("Too large"),
    415: _l("Unsupported media type"),
    422: _l("Invalid input"),
    429: _l("Too many requests"),
    500: _l("Something went wrong"),
    503: _l("Temporarily unavailable"),
}
DETAILS = {
    401: _l("Send a valid API token: Authorization: Bearer <token>."),
    404: _l("There is no such resource, or your token may not read it."),
    422: _l("Some fields are not valid; see errors."),
    429: _l("This token has made too many requests. Wait a while and try again."),
    500: _l("An unexpected error occurred. It has been logged."),
    503: _l("The service is briefly unavailable. Please try again in a few minutes."),
}


class Problem(HTTPException):
    """Raised by API code for an answer other than the status's usual one.

    `errors` is a list of {"field": name, "detail": message} for a 422.
    """

    def __init__(self, code, detail=None, *, errors=None, headers=None):
        super().__init__(description=str(detail) if detail else None)
        self.code = code
        self.errors = errors
        self.extra_headers = headers or {}


def problem_response(code, *, detail=None, errors=None, headers=None):
    body = {
        "type": "about:blank",
        "title": str(TITLES.get(code, TITLES[500] if code >= 500 else TITLES[400])),
        "status": code,
    }
    detail = detail or DETAILS.get(code)
    if detail:
        body["detail"] = str(detail)
    body["instance"] = request.path
    if errors:
        body["errors"] = errors
    response = make_response(json.dumps(body), code)
    response.mimetype = PROBLEM_TYPE
    response.headers.update(headers or {})
    return response


def render(code, error):
    """crm.core.errors' renderer for every error under /api/."""
    headers = {}
    detail = None
    errors = None
    if isinstance(error, Problem):
        detail, errors, headers = error.description, error.errors, error.extra_headers
    elif isinstance(error, HTTPException):
        errors = _webargs_errors(error)
        if code == 405 and getattr(error, "valid_methods", None):
            headers["Allow"] = ", ".join(error.valid_methods)
        if code == 429:
            headers.update(_retry_after(error))
    if code == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="api"')
    return problem_response(code, detail=detail, errors=errors, headers=headers), code


def _webargs_errors(error):
    """flask-smorest's 422 for input its schema refused, as a list of field errors.

    It raises with error.data["messages"] = {location: {field: [messages]}}, nested for
    nested fields ({"parties": {0: {"role": [...]}}}).
    """
    messages = (getattr(error, "data", None) or {}).get("messages")
    if not messages:
        return None
    errors = []
    for location_messages in messages.values():
        _flatten(location_messages, "", errors)
    return errors


def _flatten(messages, prefix, errors):
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                name = prefix or ""
            _flatten(value, name, errors)
    elif isinstance(messages, list | tuple):
        for message in messages:
            if isinstance(message, dict | list):
                _flatten(message, prefix, errors)
            else:
                errors.append({"field": prefix, "detail": translated(message)})
    else:
        errors.append({"field": prefix, "detail": translated(messages)})


def _retry_after(error):
    limit = getattr(error, "limit", None)
    if limit is None:
        return {}
    try:
        seconds = int(limit.limit.get_expiry())
    except (AttributeError, TypeError, ValueError):
        return {}
    return {"Retry-After": str(seconds)}
