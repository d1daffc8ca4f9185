"""Enquiries: staff triage (`enquiries`) and the intake of an enquiry sent from the public
contact form (`intake.py`; the form itself is in `crm.public`)."""

from flask import Blueprint

# Activities first: its task rules still import enquiries.services, so that module must not
# be half-imported (as it would be, entering through this package) when they ask for it.
# Goes with that import, when enquiries registers itself as a task subject (issue 16).
import crm.activities  # noqa: F401

bp = Blueprint("enquiries", __name__)

from crm.enquiries import views  # noqa: E402, F401
