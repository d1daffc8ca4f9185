"""The office mailbox: reading each incoming message safely (parsing.py), filing it
(routing.py, services.py), and the coordinators' unmatched-mail pages and each e-mail's own
page (views.py). The IMAP fetcher is fetching.py."""

from flask import Blueprint

bp = Blueprint("mailbox", __name__)

from crm.mailbox import views  # noqa: E402, F401
