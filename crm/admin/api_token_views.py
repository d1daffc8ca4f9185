"""Every user's personal API tokens, for administrators: who holds which, whether it is still
used, and revoking any of them (a token that leaked, a program retired, a person who left)."""

from flask import abort, render_template, url_for

from crm.admin import bp
from crm.auth import api_tokens
from crm.auth.api_token_views import revoke_with_confirmation
from crm.auth.models import ApiToken
from crm.extensions import db


@bp.route("/tokens", endpoint="api_tokens")
def api_tokens_page():
    return render_template("admin/api_tokens.html", page=api_tokens.all_tokens())


@bp.route("/tokens/<int:token_id>/revoke", methods=["GET", "POST"])
def revoke_api_token(token_id):
    """Confirm, then revoke any user's token."""
    token = db.session.get(ApiToken, token_id) or abort(404)
    return revoke_with_confirmation(token, back=url_for("admin.api_tokens"))
