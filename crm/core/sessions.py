"""Flask's signed-cookie sessions, with each cookie's signature checked once per process.

A browser sends the same session cookie with every request until the session changes, and
checking it (an HMAC, base64, zlib and tagged JSON, behind a serializer Flask builds afresh
each time) is a good share of what a cached page costs. The same bytes always verify the
same way, so a cookie that verified is remembered with the time it was signed; its age is
still checked on every request, and each request gets its own copy of the data to change.
"""

import copy
import threading
import time
from collections import OrderedDict

from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature

VERIFIED_COOKIES = 2000

# Paths whose requests never read or set the session cookie (see serve_without_session).
_SESSIONLESS_PREFIXES = []


def serve_without_session(path_prefix):
    """Requests under `path_prefix` get an empty session that is never saved: the REST API
    authenticates each request by its bearer token, never by the cookie (so it needs no CSRF
    token), and a public feed must not set a cookie that would stop caches from sharing it.
    """
    if path_prefix not in _SESSIONLESS_PREFIXES:  # each app made registers it again
        _SESSIONLESS_PREFIXES.append(path_prefix)


def is_sessionless(path):
    return any(path.startswith(prefix) for prefix in _SESSIONLESS_PREFIXES)


class VerifiedCookieSessionInterface(SecureCookieSessionInterface):
    def __init__(self):
        self._verified = OrderedDict()  # cookie value -> (signed at, data)
        self._lock = threading.Lock()
        self._serializer = None
        self._serializer_keys = None

    def get_signing_serializer(self, app):
        # Built once per set of keys rather than for every request.
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        if self._serializer is None or keys != self._serializer_keys:
            self._serializer = super().get_signing_serializer(app)
            self._serializer_keys = keys
            with self._lock:
                self._verified.clear()
        return self._serializer

    def open_session(self, app, request):
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        if is_sessionless(request.path):
            return self.session_class()
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        with self._lock:
            known = self._verified.get(value)
            if known is not None:
                self._verified.move_to_end(value)
        if known is None:
            try:
                data, signed_at = serializer.loads(value, max_age=max_age, return_timestamp=True)
            except BadSignature:
                return self.session_class()
            known = (signed_at.timestamp(), data)
            with self._lock:
                self._verified[value] = known
                while len(self._verified) > VERIFIED_COOKIES:
                    self._verified.popitem(last=False)
        signed_at, data = known
        if time.time() - signed_at > max_age:
            return self.session_class()
        return self.session_class(copy.deepcopy(data))

    def save_session(self, app, session, response):
        from flask import request

        if is_sessionless(request.path):
            return
        super().save_session(app, session, response)
