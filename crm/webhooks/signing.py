"""How a delivery is signed, and how a receiver checks it (the README shows the same check).

Every request carries

    Webhook-Id: <the event's id, the same on every attempt>
    Webhook-Timestamp: <unix seconds when this attempt was sent>
    Webhook-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>" with the secret as key>

The secret is the text shown when the webhook was made (UTF-8 bytes as the key); the body
is the exact bytes received, before any JSON parsing. The timestamp is signed with the
body, so a receiver that refuses old timestamps cannot be fed a recorded request again
later. The header may carry several signatures separated by spaces or commas (a later
version, say); a receiver accepts the request when one `v1=` signature matches.
"""

import hashlib
import hmac
import re
import time

SCHEME = "v1"
# How far a timestamp may be from the receiver's clock, in seconds, by default.
DEFAULT_TOLERANCE = 5 * 60
_ENTRY = re.compile(r"[\s,]+")


def signature(secret, timestamp, body):
    """The Webhook-Signature header's value for `body` (bytes) sent at `timestamp`."""
    return f"{SCHEME}={_digest(secret, timestamp, body)}"


def _digest(secret, timestamp, body):
    if isinstance(body, str):
        body = body.encode("utf-8")
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def verify_signature(secret, timestamp, body, header, tolerance=DEFAULT_TOLERANCE, now=None):
    """Whether a request with these Webhook-Timestamp and Webhook-Signature headers and this
    body (bytes, or text as UTF-8) was signed with `secret` less than `tolerance` seconds
    from `now` (unix seconds; the clock by default)."""
    timestamp = str(timestamp or "").strip()
    if not timestamp.isdigit():
        return False
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > tolerance:
        return False
    expected = _digest(secret, timestamp, body)
    for entry in _ENTRY.split(header or ""):
        scheme, _equals, value = entry.partition("=")
        if scheme == SCHEME and hmac.compare_digest(value.encode(), expected.encode()):
            return True
    return False
