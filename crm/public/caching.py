"""The public page cached by HTTP: an ETag, Cache-Control, and 304 without rendering. The
public activities feed (feed_views.py) is cached the same way, with its own Cache-Control.

The page is the same for every visitor in a language, so browsers and shared caches may
keep it, and ask again with If-None-Match, which is answered 304 before anything is
rendered. The ETag changes whenever what the page shows may have changed:

- the data version (crm/core/page_cache.py), which every committed write raises. It is the
  cheapest correct signal: one read of one row, on a connection kept for it, and it covers
  everything the page draws from the database (public activities, documents, contact
  people and their photos, the office's settings) and every way they change, deletions
  included. It is coarse (any write elsewhere changes it too), which costs only a render;
- today's date, as an activity moves from "current and upcoming" to "recent" with it;
- the language, and the templates and translations of this release.

Only a visitor's view is shared. A signed-in staff member's page differs (its header), so
it is never given an ETag or public Cache-Control (crm.core.security makes it no-store);
the answer varies by the Cookie and Accept-Language headers the language and the sign-in
are read from, so a shared cache never hands one's page to the other.
"""

import hashlib
from datetime import date
from pathlib import Path

from flask import current_app, request, session
from flask_babel import get_locale

from crm.core import page_cache

# Short, so that a cache keeps the page for at most a minute before asking again: a change
# shows within a minute, and asking costs one small read when nothing has changed.
CACHE_CONTROL = "public, max-age=60, must-revalidate"
VARY = ("Cookie", "Accept-Language")

_PROJECT = Path(__file__).resolve().parent.parent.parent
_release_digest = None


def shared_view():
    """True when this request sees the page every visitor sees: nobody is (or is about to
    be) signed in, no message waits to be shown, and no ?lang= changes the session."""
    remember_cookie = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    return (
        request.method in ("GET", "HEAD")
        and "_user_id" not in session
        and remember_cookie not in request.cookies
        and "lang" not in request.args
        and not session.get("_flashes")
    )


def page_etag():
    """The public page's ETag for this request's language, or None when the data version
    cannot be read (then the page is rendered and not cached)."""
    return data_etag(str(get_locale() or current_app.config["LANGUAGES"][0]))


def data_etag(*parts):
    """An ETag for an answer drawn from the data and `parts` (its language, the query it
    answers), or None when the data version cannot be read."""
    version = page_cache.current_data_version()
    if version is None:
        return None
    parts = (str(version), date.today().isoformat(), *parts, _release())
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def not_modified(etag, **headers):
    """The 304 answer to a request that holds the current page already; `headers` as for
    cacheable()."""
    response = current_app.response_class(status=304)
    return cacheable(response, etag, **headers)


def cacheable(response, etag, *, cache_control=CACHE_CONTROL, vary=VARY):
    response.set_etag(etag)
    response.headers["Cache-Control"] = cache_control
    for header in vary:
        response.vary.add(header)
    return response


def _release():
    """A digest of the templates and compiled translations, read once a process: a new
    release that changes the page's wording or layout changes its ETag."""
    global _release_digest
    if _release_digest is None:
        digest = hashlib.sha256()
        folders = (_PROJECT / "templates", _PROJECT / "crm" / "translations")
        for folder in folders:
            for path in sorted(folder.rglob("*")):
                if path.suffix in (".html", ".mo"):
                    digest.update(str(path.relative_to(_PROJECT)).encode())
                    digest.update(path.read_bytes())
        _release_digest = digest.hexdigest()
    return _release_digest
