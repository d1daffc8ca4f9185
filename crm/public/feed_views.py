"""The public activities feed for the office's website and for calendar programs:
`/api/public/activities.json` and `/api/public/activities.ics`, without a login.

Both are cached by HTTP as the public page is (crm/public/caching.py): an ETag made from the
data version, today's date, the release and the query, answered 304 before anything is read,
and kept by shared caches for five minutes. The answer depends on the URL alone (its language
is the ?lang= parameter, never the session's or the browser's), so it varies by nothing.
"""

import re
from datetime import date

from flask import current_app, request
from flask_babel import force_locale
from flask_babel import gettext as _

from crm.activities.calendar_views import ICS_TYPE
from crm.core.dates import local_today
from crm.core.security import public_route
from crm.core.sessions import serve_without_session
from crm.public import caching, feed_bp
from crm.public import feed_services as services

# Five minutes, longer than the page's minute: a website that shows the feed asks for it on
# every visit, and calendar programs poll it on their own schedule anyway; a change shows
# within five minutes, and asking again when nothing has changed costs one small read.
CACHE_CONTROL = "public, max-age=300, must-revalidate"
PROBLEM_TYPE = "application/problem+json"

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


# No request here reads or sets the session cookie: the answer is the same for everyone, so
# no one's session (nor one a "keep me signed in" cookie starts) can end up in a shared
# cache, and a ?lang= is not kept as the visitor's language.
serve_without_session("/api/public/")


class BadQuery(Exception):
    """A query parameter the feed cannot answer, with the message that says why (made in the
    language it is raised in)."""

    def __init__(self, parameter, message):
        super().__init__(message)
        self.parameter = parameter
        self.message = message
        self.title = _("Bad request")

    def response(self):
        """400 as RFC 9457 problem details, the form of every other error under /api/
        (crm/api/problems.py), with the parameter named as a field."""
        body = {
            "type": "about:blank",
            "title": self.title,
            "status": 400,
            "detail": self.message,
            "instance": request.path,
            "errors": [{"field": self.parameter, "detail": self.message}],
        }
        return current_app.response_class(
            current_app.json.dumps(body), status=400, mimetype=PROBLEM_TYPE
        )


@feed_bp.route("/activities.json")
@public_route
def activities_json():
    """Public: the public activities as JSON (current and upcoming ones unless ?past=1 or
    ?from=&to= say otherwise), with labels in ?lang= (the office's language by default)."""
    return _answer("json", _json_body, "application/json")


@feed_bp.route("/activities.ics")
@public_route
def activities_ics():
    """Public: the same activities as an iCalendar feed (from a year back on by default)."""
    return _answer("ics", _ics_body, ICS_TYPE)


@feed_bp.after_request
def _allow_any_origin(response):
    # The office's website, on another host, may read the feed from its visitors' browsers.
    # Safe for any origin: the feed holds only what the public page shows, it reads no
    # cookie or other credential (the same answer for everyone), and "*" makes browsers
    # send none with the request.
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _json_body(query, today):
    return current_app.json.dumps(services.feed_data(query, today=today))


def _ics_body(query, today):
    return services.feed_ics(query, today=today)


def _answer(feed_format, render, content_type):
    """The feed in `feed_format` for this request's query: 400 for a query it cannot
    answer, 304 when the asker holds the current answer, else `render(query, today)`.

    Every answer may be shared, signed in or not: it is the same for everyone, and no session
    cookie is set on it (serve_without_session above)."""
    try:
        query = read_query(request.args)
    except BadQuery as error:
        return error.response()
    today = local_today()
    # The links are built from PUBLIC_URL: a new address makes a new answer.
    public_url = current_app.config.get("PUBLIC_URL") or ""
    etag = caching.data_etag(feed_format, query.key(), today.isoformat(), public_url)
    if etag is not None and request.if_none_match.contains_weak(etag):
        return caching.not_modified(etag, cache_control=CACHE_CONTROL, vary=())
    with force_locale(query.language):
        body = render(query, today)
    response = current_app.response_class(body)
    response.headers["Content-Type"] = content_type
    if etag is None:
        response.headers["Cache-Control"] = "no-store"
    else:
        caching.cacheable(response, etag, cache_control=CACHE_CONTROL, vary=())
    return response


def read_query(args):
    """The FeedQuery of the request's parameters, or BadQuery saying what is wrong.

    The language is read here, not through the app's locale selector: that one keeps a
    ?lang= in the visitor's session, and the feed sets no cookie.
    """
    languages = current_app.config["LANGUAGES"]
    language = args.get("lang") or current_app.config["BABEL_DEFAULT_LOCALE"]
    if language not in languages:
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            raise BadQuery(
                "lang",
                _("lang must be one of: %(languages)s.", languages=", ".join(languages)),
            )
    with force_locale(language):
        past = args.get("past", "")
        if past not in ("", "0", "1"):
            raise BadQuery("past", _("past must be 1 (past activities) or 0."))
        start, end = _day(args, "from"), _day(args, "to")
        if past == "1" and (start or end):
            raise BadQuery("past", _("Ask either for past=1 or for from and to, not both."))
        if start and end and end < start:
            raise BadQuery("to", _("to must not be before from."))
    return services.FeedQuery(language, past=past == "1", start=start, end=end)


def _day(args, name):
    value = args.get(name, "")
    if not value:
        return None
    if _DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise BadQuery(
        name,
        _(
            "%(parameter)s must be a date written as YYYY-MM-DD, such as 2026-03-01.",
            parameter=name,
        ),
    )
