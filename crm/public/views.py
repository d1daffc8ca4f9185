from flask import render_template

from crm.core.security import public_route
from crm.public import bp
from crm.settings import services as settings


@bp.route("/")
@public_route
def index():
    """Public: the office's introduction."""
    return render_template(
        "public/index.html",
        office_name=settings.get("office_name"),
        introduction=settings.localised("intro"),
    )
