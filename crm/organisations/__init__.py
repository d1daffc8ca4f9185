"""The register of organisations, their memberships of associations, and contacts."""

from flask import Blueprint

bp = Blueprint("organisations", __name__)
contacts_bp = Blueprint("contacts", __name__)

from crm.organisations import bulk_views, contact_views, import_views, views  # noqa: E402, F401, I001
