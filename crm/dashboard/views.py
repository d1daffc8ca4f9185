from flask import render_template

from crm.dashboard import bp


@bp.route("/")
def index():
    return render_template("dashboard/index.html")
