"""Login by default, public routes by exception, safe redirects, security headers."""

from urllib.parse import urlsplit

from flask import abort, current_app, request
from flask_login import current_user

from crm.extensions import login_manager

# Content Security Policy: nothing from third parties, no inline script or style.
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


# Blueprints that authenticate every request themselves (the API, by bearer token), answering
# 401 in their own format rather than redirecting to the sign-in page.
_SELF_AUTHENTICATING = set()


def authenticates_itself(blueprint_name):
    _SELF_AUTHENTICATING.add(blueprint_name)


def public_route(view):
    """Mark a view as open to anonymous visitors; every other view requires a login."""
    view.is_public = True
    return view


def require_login():
    if request.endpoint is None or request.endpoint == "static":
        return None
    view = current_app.view_functions.get(request.endpoint)
    if getattr(view, "is_public", False) or request.blueprint in _SELF_AUTHENTICATING:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def limit_form_size():
    """Refuse (413) a URL-encoded form larger than MAX_FORM_MEMORY_SIZE.

    Werkzeug reads such a body into memory whole and applies the limit only to multipart
    fields, so without this any form would take up to MAX_CONTENT_LENGTH (meant for uploads).
    """
    limit = current_app.config.get("MAX_FORM_MEMORY_SIZE")
    if (
        limit
        and request.mimetype == "application/x-www-form-urlencoded"
        and (request.content_length or 0) > limit
    ):
        abort(413)


def is_safe_next(target):
    """Only a path on this site: no scheme, no host, no protocol-relative `//evil`."""
    if not target or not isinstance(target, str):
        return False
    if "\\" in target or any(ord(char) < 32 for char in target):
        return False
    parts = urlsplit(target)
    # urlsplit reads "///evil" as a path; browsers read it as the host "evil".
    return (
        not parts.scheme
        and not parts.netloc
        and target.startswith("/")
        and not target.startswith("//")
    )


# Every response carries these unless a view set its own value.
SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
HSTS_HEADER = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def set_security_headers(response):
    headers = response.headers
    # One pass over what is there, rather than a search per header: this runs on every
    # response, cached pages included.
    present = {name.lower() for name in headers.keys()}
    wanted = SECURITY_HEADERS + ((HSTS_HEADER,) if current_app.config.get("HSTS") else ())
    headers.extend([header for header in wanted if header[0].lower() not in present])
    if "cache-control" not in present and current_user and current_user.is_authenticated:
        # Staff pages hold personal data: keep them out of shared caches and the back button.
        headers["Cache-Control"] = "no-store"
    return response
