"""Webhooks: admins register HTTPS endpoints for events, which are signed and delivered by a
worker with retries (`flask crm send-webhooks`), and listed with the receivers' answers.

The package sits above every domain it announces: they send blinker signals at their
changes, and crm.webhooks.events, imported here, connects to them.
"""

from flask import Blueprint

bp = Blueprint("webhooks", __name__)

from crm.webhooks import events, views  # noqa: E402, F401
