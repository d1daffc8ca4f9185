"""Enquiries: staff triage (`enquiries`) and the intake of an enquiry sent from the public
contact form (`intake.py`; the form itself is in `crm.public`)."""

from flask import Blueprint

bp = Blueprint("enquiries", __name__)

from crm.enquiries import board_views, bulk_views, views  # noqa: E402, F401
