"""Error pages that tell the visitor what happened and leak nothing about why."""

from flask import current_app, g, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError, SecurityError

from crm.extensions import db, login_manager

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
    503: (
        _l("Temporarily unavailable"),
        _l("The service is briefly unavailable. Please try again in a few minutes."),
    ),
    500: (
        _l("Something went wrong"),
        _l("An unexpected error occurred. It has been logged. Please try again later."),
    ),
}


# Error answers other than pages, by path prefix: {prefix: render(code, error)}. The API
# answers in application/problem+json (crm/api/problems.py), 404s of unknown URLs included.
_RENDERERS_BY_PREFIX = {}


def render_errors_under(path_prefix, render):
    """`render(code, error)` answers every error of a request under `path_prefix`."""
    _RENDERERS_BY_PREFIX[path_prefix] = render


def _renderer_for_request():
    for prefix, render in _RENDERERS_BY_PREFIX.items():
        if request.path.startswith(prefix):
            return render
    return None


def register(app):
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(SecurityError, _untrusted_host)
    # Flask logs an unhandled exception and then calls the 500 handler with it.
    app.register_error_handler(InternalServerError, _server_error)
    # The database went away (restart, failover, network): a short outage, not a bug.
    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(DBAPIError, _database_unavailable)
    app.teardown_appcontext(_close_session_quietly)


def render_error(code, message=None, error=None):
    render = _renderer_for_request()
    if render is not None:
        return render(code, error)
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
    render = _renderer_for_request()
    if render is not None:
        return render(error.code, error)
    if error.code not in MESSAGES:
        return error
    response = render_error(error.code)
    if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        body, code = response
        return body, code, {"Allow": ", ".join(error.valid_methods)}
    return response


def _untrusted_host(error):
    """400 for a Host header other than PUBLIC_URL's (production's TRUSTED_HOSTS).

    No URL can be built for such a request, so the usual page, with its links, cannot be
    drawn; this one names nothing of the site.
    """
    title, message = MESSAGES[400]
    page = f"<!doctype html><title>{escape(title)}</title><h1>{escape(title)}</h1>"
    return f"{page}<p>{escape(message)}</p>", 400


def _database_unavailable(error):
    """503 while the database cannot be reached; other database errors stay 500s.

    The engine pings pooled connections before use and drops broken ones, so the next
    request after the database is back gets a fresh connection without a restart.
    """
    if not (isinstance(error, OperationalError) or error.connection_invalidated):
        raise error  # a bug, not an outage: the usual 500, with the traceback in the log
    _discard_transaction()
    current_app.logger.error("Database unavailable: %s", type(error.orig).__name__)
    body, code = _render_without_database(503)
    return body, code, {"Retry-After": "30"}


def _render_without_database(code):
    """The error page, drawn for a visitor nobody can look up: the database is not there."""
    # Flask-Login keeps the user in g; loading (or refreshing) them would query again.
    g._login_user = login_manager.anonymous_user()
    try:
        return render_error(code)
    except SQLAlchemyError:
        title, message = MESSAGES[code]
        page = f"<!doctype html><title>{escape(title)}</title><h1>{escape(title)}</h1>"
        return f"{page}<p>{escape(message)}</p>", code


def _discard_transaction():
    try:
        db.session.rollback()
    except SQLAlchemyError:
        # The connection died with the database: it is invalidated, and the next request
        # takes a new one from the pool.
        pass


def _close_session_quietly(exception):
    """End the request's session; a connection lost meanwhile is dropped, not a 500.

    Runs before Flask-SQLAlchemy's own teardown (teardowns run in reverse order), which then
    has nothing left to close.
    """
    try:
        db.session.remove()
    except SQLAlchemyError:
        current_app.logger.warning("Database connection lost while ending a request")
        db.session.registry.clear()


def _server_error(error):
    # The failed request's transaction must not leak into rendering the error page.
    db.session.rollback()
    return render_error(500, error=error)
