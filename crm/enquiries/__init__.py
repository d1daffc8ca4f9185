"""Enquiries: the public contact form (`contact` blueprint) and staff triage (`enquiries`)."""

from flask import Blueprint

bp = Blueprint("enquiries", __name__)
contact_bp = Blueprint("contact", __name__)

from crm.enquiries import public_views, views  # noqa: E402, F401
