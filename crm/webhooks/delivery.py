"""The webhook worker: sends due deliveries, signed, and retries failures with back-off.

Modelled on the outbox worker (crm/mail/sending.py). Unlike the services, it commits: one
claim before each request and one commit after it, so a crash or a second worker running at
the same time never sends a delivery twice at once. A crash between the receiver's answer and
our commit sends it again after the claim's lease; the Webhook-Id header, the same on every
attempt, lets the receiver drop such a repeat.

Each attempt checks the address again (crm/webhooks/addresses.py) and connects to an address
it checked. The request is a POST with no redirect followed (a redirect could lead anywhere,
the checks notwithstanding), short timeouts, and only the start of the answer read. A 2xx
answer delivers; anything else, or no answer, is tried again after WEBHOOKS_RETRY_DELAYS,
and after WEBHOOKS_MAX_ATTEMPTS the delivery is failed for good (an admin may send it
again). An address the rules refuse is failed at once, never sent.
"""

import time
from datetime import timedelta

import sqlalchemy as sa
import urllib3
from flask import current_app

from crm.core.database import claimed_due_rows
from crm.core.types import utcnow
from crm.extensions import db
from crm.webhooks import addresses, signing
from crm.webhooks.models import RESPONSE_BODY_LIMIT, DeliveryStatus, WebhookDelivery

USER_AGENT = "GMS-CRM-Webhooks/1.0"
# At most this many of a host's addresses are tried in turn when one cannot be connected to
# (a host with an IPv6 address this server cannot reach, say).
MAX_ADDRESSES = 3
_ERROR_LENGTH = 500


def send_due_deliveries(*, now=None, limit=100):
    """Send up to `limit` due pending deliveries, oldest due first; returns
    {"delivered", "retried", "failed"}.

    Commits after each delivery, so call it with no unsaved changes in the session.
    `now` fixes the clock (tests); by default the real time is used.
    """
    clock = (lambda: now) if now is not None else utcnow
    counts = {"delivered": 0, "retried": 0, "failed": 0}
    deliveries = claimed_due_rows(
        WebhookDelivery,
        pending=DeliveryStatus.PENDING,
        order_by=(WebhookDelivery.next_attempt_at, WebhookDelivery.id),
        limit=limit,
        clock=clock,
        lease=timedelta(seconds=current_app.config["WEBHOOKS_CLAIM_SECONDS"]),
    )
    # Endpoints that could not be reached in this round: their other deliveries wait for the
    # next attempt rather than each waiting out the timeout again.
    unreachable = set()
    for delivery in deliveries:
        webhook = delivery.webhook
        if not webhook.active:
            outcome = _give_up(delivery, "Not sent: the webhook is switched off")
        elif webhook.id in unreachable:
            outcome = _wait_for_the_endpoint(delivery, now=clock())
        else:
            outcome = _attempt(delivery, webhook, now=clock())
            if outcome == "unreachable":
                unreachable.add(webhook.id)
                outcome = "retried" if delivery.status == DeliveryStatus.PENDING else "failed"
        try:
            db.session.commit()
        except sa.orm.exc.StaleDataError:
            db.session.rollback()  # the webhook was deleted while its delivery was sent
            continue
        counts[outcome] += 1
    return counts


def _attempt(delivery, webhook, *, now):
    """Send the delivery once and record how it went: "delivered", "retried", "failed", or
    "unreachable" (recorded as a failed attempt; the endpoint did not answer at all)."""
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.response_status = None
    delivery.response_body = None
    try:
        target = addresses.check_url(webhook.url)
    except addresses.UnsafeURL as error:
        if error.reason == "unresolved":
            # A name that does not resolve now may tomorrow (a DNS outage, say).
            _record_failure(delivery, str(error), now=now)
            return "unreachable"
        return _give_up(delivery, str(error))

    body = delivery.payload.encode("utf-8")
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Webhook-Id": delivery.uuid,
        "Webhook-Event": delivery.event,
        "Webhook-Timestamp": str(timestamp),
        "Webhook-Signature": signing.signature(webhook.secret, timestamp, body),
    }
    try:
        status, text = _post(target, body, headers)
    except (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError) as e:
        _record_failure(delivery, describe_error(e), now=now)
        return "unreachable"
    except (urllib3.exceptions.HTTPError, OSError) as error:
        return _record_failure(delivery, describe_error(error), now=now)

    delivery.response_status = status
    delivery.response_body = text
    if 200 <= status < 300:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
        delivery.last_error = None
        return "delivered"
    if 300 <= status < 400:
        return _record_failure(delivery, f"HTTP {status}: redirects are not followed", now=now)
    return _record_failure(delivery, f"HTTP {status}", now=now)


def _post(target, body, headers):
    """POST `body` to the checked target; returns (status, the start of the answer as text).

    Connects to the target's checked addresses, in turn while none answers, never to what
    the name resolves to by then. The Host header and, for https, the name the certificate
    must match (and SNI) are the URL's host.
    """
    config = current_app.config
    timeout = urllib3.Timeout(
        connect=config["WEBHOOKS_CONNECT_TIMEOUT"], read=config["WEBHOOKS_READ_TIMEOUT"]
    )
    error = None
    for address in target.addresses[:MAX_ADDRESSES]:
        options = {"timeout": timeout, "retries": False, "maxsize": 1}
        if target.scheme == "https":
            pool_class = urllib3.HTTPSConnectionPool
            # The certificate must be for the URL's host, though the connection is to an
            # address: what makes connecting to the checked address safe for https.
            options.update(
                cert_reqs="CERT_REQUIRED",
                server_hostname=target.host,
                assert_hostname=target.host,
            )
            if config.get("WEBHOOKS_CA_FILE"):
                options["ca_certs"] = config["WEBHOOKS_CA_FILE"]
            # Otherwise the system's authorities (urllib3's default), an office CA among them
            # when it is installed there.
        else:
            pool_class = urllib3.HTTPConnectionPool
        pool = pool_class(address, target.port, **options)
        try:
            response = pool.urlopen(
                "POST",
                target.path,
                body=body,
                headers={**headers, "Host": target.host_header},
                redirect=False,
                retries=False,
                assert_same_host=False,
                preload_content=False,
            )
        except (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError) as e:
            pool.close()
            error = e
            continue
        except BaseException:
            pool.close()
            raise
        try:
            return response.status, _start_of(response, config["WEBHOOKS_READ_TIMEOUT"])
        finally:
            response.close()
            pool.close()
    raise error


def _start_of(response, seconds):
    """The first RESPONSE_BODY_LIMIT bytes of the answer as text, read for at most `seconds`
    in all (a receiver trickling bytes cannot hold the worker), the rest left unread."""
    deadline = time.monotonic() + seconds
    data = b""
    try:
        while len(data) < RESPONSE_BODY_LIMIT and time.monotonic() < deadline:
            chunk = response.read1(RESPONSE_BODY_LIMIT - len(data))
            if not chunk:
                break
            data += chunk
    except (urllib3.exceptions.HTTPError, OSError):
        pass  # the status has arrived; what the body held up to here will do
    return data.decode("utf-8", "replace")[:RESPONSE_BODY_LIMIT]


def _record_failure(delivery, error, *, now):
    """Count a failed attempt: "retried" after the next delay, or "failed" for good after
    WEBHOOKS_MAX_ATTEMPTS."""
    config = current_app.config
    delivery.last_error = error[:_ERROR_LENGTH]
    if delivery.attempts >= config["WEBHOOKS_MAX_ATTEMPTS"]:
        delivery.status = DeliveryStatus.FAILED
        outcome = "failed"
    else:
        delivery.next_attempt_at = now + timedelta(seconds=retry_delay(delivery.attempts))
        outcome = "retried"
    current_app.logger.warning(
        "Webhook delivery %s (%s) to webhook %s failed, attempt %s, %s: %s",
        delivery.id,
        delivery.event,
        delivery.webhook_id,
        delivery.attempts,
        outcome,
        delivery.last_error,
    )
    return outcome


def retry_delay(attempts):
    """Seconds to wait after the `attempts`-th failed attempt: the configured delays in
    turn (1 minute, 5, 30, 2 hours, ...), the last one repeated."""
    delays = current_app.config["WEBHOOKS_RETRY_DELAYS"]
    return delays[min(attempts, len(delays)) - 1]


def _give_up(delivery, error):
    """Fail the delivery for good without sending it (an address the rules refuse)."""
    delivery.status = DeliveryStatus.FAILED
    delivery.last_error = error[:_ERROR_LENGTH]
    current_app.logger.warning(
        "Webhook delivery %s (%s) to webhook %s not sent: %s",
        delivery.id,
        delivery.event,
        delivery.webhook_id,
        delivery.last_error,
    )
    return "failed"


def _wait_for_the_endpoint(delivery, *, now):
    """Not tried: the endpoint did not answer a moment ago in this round. It waits for the
    first retry delay, without an attempt counted."""
    delivery.next_attempt_at = now + timedelta(seconds=retry_delay(1))
    delivery.last_error = "Not tried: the endpoint could not be reached a moment ago"
    return "retried"


def describe_error(error):
    """A short description of a failed request for the deliveries page."""
    if isinstance(error, urllib3.exceptions.NewConnectionError):
        reason = getattr(error.__cause__, "strerror", None) or _short(error)
        return f"Could not connect: {reason}"
    if isinstance(error, urllib3.exceptions.ConnectTimeoutError):
        return "Could not connect: timed out"
    if isinstance(error, urllib3.exceptions.ReadTimeoutError):
        return "No answer: timed out waiting for the response"
    if isinstance(error, urllib3.exceptions.SSLError):
        return f"TLS error: {_short(error)}"
    if isinstance(error, urllib3.exceptions.ProtocolError):
        return f"Connection broken: {_short(error)}"
    return f"{type(error).__name__}: {_short(error)}"


def _short(error):
    return " ".join(str(error).split())[:300]
