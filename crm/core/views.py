"""Routes that belong to no domain: health check and language switch."""

from flask import Blueprint, current_app, jsonify, redirect, request, session
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from crm.core.security import is_safe_next, public_route
from crm.extensions import csrf, db

bp = Blueprint("core", __name__)


@bp.route("/healthz")
@public_route
def healthz():
    """200 only when the database answers; load balancers and monitors poll this."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.warning("Health check: database unreachable")
        return jsonify(status="error", database="unavailable"), 503
    return jsonify(status="ok", database="ok")


@bp.route("/language/<language>", methods=["POST"])
@public_route
@csrf.exempt
def set_language(language):
    """Public: switch the interface language and go back to where the visitor was.

    Only by POST: a GET (a link, a prefetch, an <img> on another site) must not change a
    stored preference. A signed-in user's choice is saved on their account, so their form
    carries the CSRF token; a visitor has no account and often no session yet, and the page
    they read must not need one (the public page is cached for every visitor alike).
    """
    if current_user.is_authenticated and current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()
    if language in current_app.config["LANGUAGES"]:
        session["lang"] = language
        if current_user.is_authenticated and current_user.language != language:
            current_user.language = language
            db.session.commit()
    target = request.args.get("next")
    return redirect(target if is_safe_next(target) else "/")
