"""Error pages that tell the visitor what happened and leak nothing about why."""

from flask import jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from crm.extensions import db

MESSAGES = {
    400: (
        _l("Bad request"),
        _l("The request could not be understood. Please go back and try again."),
    ),
    403: (_l("Not allowed"), _l("You do not have permission to open this page.")),
    404: (_l("Page not found"), _l("The page you asked for does not exist or has been removed.")),
    405: (_l("Method not allowed"), _l("This page cannot be used that way.")),
    413: (
        _l("Too large"),
        _l("What you sent is larger than we accept. Please send a smaller file."),
    ),
    429: (
        _l("Too many requests"),
        _l("You have made too many requests in a short time. Please wait a while and try again."),
    ),
    500: (
        _l("Something went wrong"),
        _l("An unexpected error occurred. It has been logged. Please try again later."),
    ),
}


def register(app):
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    # Flask logs an unhandled exception and then calls the 500 handler with it.
    app.register_error_handler(InternalServerError, _server_error)


def render_error(code, message=None):
    title, default_message = MESSAGES.get(code, MESSAGES[500])
    if _wants_json():
        return jsonify(error=str(title)), code
    return (
        render_template(
            "errors/error.html", code=code, title=title, message=message or default_message
        ),
        code,
    )


def _wants_json():
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def _csrf_error(error):
    return render_error(
        400,
        _l(
            "The form had expired or was sent from elsewhere. Please reload the page and try again."
        ),
    )


def _http_error(error):
    if error.code is None or error.code < 400:
        return error
    if error.code not in MESSAGES:
        return error
    response = render_error(error.code)
    if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        body, code = response
        return body, code, {"Allow": ", ".join(error.valid_methods)}
    return response


def _server_error(error):
    # The failed request's transaction must not leak into rendering the error page.
    db.session.rollback()
    return render_error(500)
