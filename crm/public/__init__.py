"""What the public sees without signing in: the collaboration page (`public`: the office's
introduction, public activities and documents, contact people) and the contact form
(`contact`), which stores an enquiry through `crm.enquiries.intake`."""

from flask import Blueprint

bp = Blueprint("public", __name__)
contact_bp = Blueprint("contact", __name__)

from crm.public import contact_views, views  # noqa: E402, F401
