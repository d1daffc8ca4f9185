"""A user's own personal API tokens (/account/tokens): the list, making one (shown once), and
revoking one. Administrators see everyone's at /admin/tokens (crm/admin/api_token_views.py)."""

from flask import abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.auth import api_tokens, bp
from crm.auth.api_token_forms import ApiTokenForm
from crm.auth.decorators import recent_login_required
from crm.core.deletion import confirm_delete
from crm.core.forms import save_or_show_error
from crm.extensions import db


@bp.route("/account/tokens", methods=["GET", "POST"], endpoint="api_tokens")
@recent_login_required
def api_tokens_page():
    """The user's tokens and the form to make one. A new token is shown in the answer to the
    POST that made it, and nowhere else: not in the session, a flash or a URL, so it cannot
    be shown twice or left behind."""
    user = current_user._get_current_object()
    form = ApiTokenForm.for_user(user)
    created = None
    if form.validate_on_submit():
        created = save_or_show_error(
            form,
            lambda: api_tokens.create_api_token(
                user,
                name=form.name.data,
                scope=form.scope.data,
                days=form.days.data,
                actor=user,
            ),
        )
        if created is not None:
            db.session.commit()
            # A blank form under the new token: sending it again makes another token.
            form = ApiTokenForm.for_user(user, formdata=None)
    new_token, raw = created if created is not None else (None, None)
    response = make_response(
        render_template(
            "account/tokens.html",
            form=form,
            tokens=api_tokens.tokens_of(user),
            new_token=new_token,
            raw_token=raw,
        )
    )
    # Never kept by the browser or a proxy: the page may hold a token in the clear.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["GET", "POST"])
@login_required
def revoke_api_token(token_id):
    """Confirm, then revoke one of the user's own tokens; another user's is not found."""
    token = api_tokens.token_of_user_or_none(current_user, token_id) or abort(404)
    back = url_for("auth.api_tokens")
    return revoke_with_confirmation(token, back=back)


def revoke_with_confirmation(token, *, back):
    """The revoke confirmation page and its POST, for the user's page and the admin's."""
    if token.is_revoked:
        flash(_("The token “%(name)s” is already revoked.", name=token.name), "info")
        return redirect(back)
    return confirm_delete(
        token,
        template="account/token_revoke.html",
        done_message=_(
            "The token “%(name)s” is revoked: programs using it are refused from now on.",
            name=token.name,
        ),
        done_url=back,
        delete=api_tokens.revoke_api_token,
        token=token,
        back=back,
    )
