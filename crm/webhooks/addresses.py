"""Where a webhook may be sent: to public addresses only, unless a setting allows more.

Whoever registers a webhook chooses where the CRM's server sends requests, and the
deliveries page shows what came back. Sent into the server's own network, that would reach
what only the server can reach: a database, a router's admin page, the cloud's metadata
service at 169.254.169.254 with its credentials (server-side request forgery). So a webhook's
host is resolved when it is registered and again before every delivery, and every address it
resolves to must be a public one; the delivery then connects to an address that was checked
(crm/webhooks/delivery.py), so a name that resolves to something else a moment later (DNS
rebinding) cannot send it elsewhere. Only https:// is accepted: the events are signed, but
not secret, so they are not sent in the clear.

WEBHOOKS_ALLOW_PRIVATE lifts both rules (any address, and http://), for the tests and for an
intranet whose receivers have private addresses.
"""

import ipaddress
import socket
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from flask import current_app

MAX_URL_LENGTH = 2000
DEFAULT_PORTS = {"https": 443, "http": 80}
# IPv6 addresses that carry an IPv4 one (NAT64's well-known prefix): judged by that one too.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeURL(ValueError):
    """A webhook address that may not be used, or not now.

    `reason` says which rule it breaks (the form words it in the admin's language, see
    crm.webhooks.services); str() describes it in English for the deliveries page.
    "unresolved" alone may pass later: the name may resolve again.
    """

    def __init__(self, reason, *, host=None, address=None):
        self.reason = reason
        self.host = host
        self.address = address
        super().__init__(self._describe())

    def _describe(self):
        return {
            "form": "Not a full web address",
            "scheme": "The address must start with https://",
            "credentials": "The address carries a user name or password",
            "unresolved": f"The host {self.host} could not be resolved",
            "private": (
                f"Refused: {self.host} resolves to {self.address}, a private, local or "
                "reserved address (WEBHOOKS_ALLOW_PRIVATE is off)"
            ),
        }[self.reason]


@dataclass(frozen=True)
class Target:
    """A checked webhook address: where to connect, and what to tell the server."""

    scheme: str
    # The host as the URL names it, lower case, without the brackets of an IPv6 address.
    host: str
    port: int
    # The path and query string, as the request line carries them.
    path: str
    # The addresses checked, in the resolver's order; a delivery connects to these only.
    addresses: tuple = ()

    @property
    def host_header(self):
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


def allow_private():
    return bool(current_app.config.get("WEBHOOKS_ALLOW_PRIVATE"))


def check_url(url, *, resolve=True):
    """The Target of `url` if a webhook may be sent there, else UnsafeURL.

    With `resolve`, the host is looked up and each of its addresses checked; without it
    (registering where private addresses are allowed, so any address would do) only the
    form of the address is.
    """
    private_allowed = allow_private()
    url = url or ""
    if len(url) > MAX_URL_LENGTH or any(ord(char) <= 32 or ord(char) == 127 for char in url):
        raise UnsafeURL("form")
    parts = urlsplit(url)
    schemes = ("https", "http") if private_allowed else ("https",)
    if parts.scheme.lower() not in DEFAULT_PORTS:
        raise UnsafeURL("form" if not parts.netloc else "scheme")
    if parts.scheme.lower() not in schemes:
        raise UnsafeURL("scheme")
    try:
        port = parts.port
    except ValueError:
        raise UnsafeURL("form") from None
    if not parts.hostname:
        raise UnsafeURL("form")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL("credentials")
    scheme = parts.scheme.lower()
    target = Target(
        scheme=scheme,
        host=parts.hostname,
        port=port or DEFAULT_PORTS[scheme],
        path=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
    )
    if not resolve:
        return target
    addresses = resolve_host(target.host, target.port)
    if not private_allowed:
        for address in addresses:
            if is_refused(address):
                raise UnsafeURL("private", host=target.host, address=address)
    return replace(target, addresses=tuple(addresses))


def resolve_host(host, port):
    """The host's addresses for a TCP connection, without repeats, in the resolver's order."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):  # socket.gaierror is an OSError
        raise UnsafeURL("unresolved", host=host) from None
    addresses = list(dict.fromkeys(sockaddr[0] for *_rest, sockaddr in found))
    if not addresses:
        raise UnsafeURL("unresolved", host=host)
    return addresses


def is_refused(address):
    """Whether `address` (text, as the resolver gives it) is anything but a public unicast
    address: private, loopback, link-local, multicast, reserved, unspecified, shared
    (carrier-grade NAT), documentation, or an IPv6 address carrying such an IPv4 one."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # fe80::1%eth0: the zone aside
    except ValueError:
        return True
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            # ::ffff:127.0.0.1 is 127.0.0.1 to the network stack; Python before 3.13 does not
            # judge it so, hence by hand.
            return is_refused(str(ip.ipv4_mapped))
        embedded = [ip.sixtofour, ip.teredo[1] if ip.teredo else None]
        if ip in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if any(inner is not None and is_refused(str(inner)) for inner in embedded):
            return True
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )
