"""The staff overview: the signed-in person's enquiries and tasks, the enquiries nobody has
taken, agreement dates coming up, recent activities and the last quarters' figures."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__)

from crm.dashboard import views  # noqa: E402, F401
