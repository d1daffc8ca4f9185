"""What the public sees without signing in: the collaboration page (`public`: the office's
introduction, public activities and documents, contact people), the contact form
(`contact`), which stores an enquiry through `crm.enquiries.intake`, and the public
activities as JSON and iCalendar for the office's website (`public_feed`, /api/public/)."""

from flask import Blueprint

bp = Blueprint("public", __name__)
contact_bp = Blueprint("contact", __name__)
feed_bp = Blueprint("public_feed", __name__)

from crm.public import contact_views, feed_views, views  # noqa: E402, F401
