"""Links that leave the app — in e-mails, feeds and printouts — always at PUBLIC_URL.

Never from the request: its Host header is whatever the visitor sent, so a link built from it
in a coordinator's notice could point at an attacker's site. And jobs (`crm reminders`) have
no request at all, yet their links must be whole.
"""

from urllib.parse import urlsplit

from flask import current_app


def external_url(endpoint, **values):
    """The absolute address of `endpoint` as people reach the app (PUBLIC_URL)."""
    public = urlsplit(current_app.config["PUBLIC_URL"])
    adapter = current_app.url_map.bind(
        public.netloc, script_name=public.path or "/", url_scheme=public.scheme
    )
    return adapter.build(endpoint, values, force_external=True)


def public_host():
    """The host name of PUBLIC_URL, without port (iCalendar UIDs are named by it)."""
    return urlsplit(current_app.config["PUBLIC_URL"]).hostname


def parse_public_url(value):
    """PUBLIC_URL tidied (no trailing slash), or ValueError saying what is wrong with it."""
    value = (value or "").strip()
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018  (raises ValueError on a port that is not a number)
    except ValueError:
        raise ValueError(f"PUBLIC_URL has a bad port: {value!r}") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(
            f"PUBLIC_URL must be the address people reach the app at, such as "
            f"https://crm.example.org, not {value!r}"
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"PUBLIC_URL must not carry a query, fragment or login: {value!r}")
    return value.rstrip("/")
