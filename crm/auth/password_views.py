"""Public pages for choosing a password without knowing the old one: asking for a reset link
(/password/forgot) and the page an invitation or reset link opens (/password/set/<token>)."""

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, logout_user

from crm.auth import bp, services, signin, tokens
from crm.auth.models import TokenPurpose
from crm.auth.password_forms import ForgotPasswordForm, SetPasswordForm
from crm.core.security import public_route
from crm.extensions import db, limiter


def _forgot_rate_limit():
    return current_app.config["PASSWORD_FORGOT_RATE_LIMIT"]


@bp.route("/password/forgot", methods=["GET", "POST"])
@public_route
@limiter.limit(_forgot_rate_limit, methods=["POST"])
def forgot_password():
    """Public: ask for a link to choose a new password.

    The answer is the same whether or not the address is an active user's, and whether or
    not a link was really sent (see tokens.request_password_reset), so the page tells nobody
    which addresses have accounts.
    """
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        tokens.request_password_reset(form.email.data)
        db.session.commit()
        flash(
            ngettext(
                "If %(email)s is the address of an active account, a link to choose a new "
                "password is on its way to it. The link works for %(num)d hour. Look in your "
                "spam folder if it has not arrived within a few minutes.",
                "If %(email)s is the address of an active account, a link to choose a new "
                "password is on its way to it. The link works for %(num)d hours. Look in your "
                "spam folder if it has not arrived within a few minutes.",
                tokens.lifetime_hours(TokenPurpose.RESET),
                email=services.normalise_email(form.email.data),
            ),
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/password_forgot.html", form=form)


def _no_referrer(response):
    """The token in this page's address must not travel on in a Referer header (to the
    stylesheet's request, or a link followed from the page), nor be kept by a cache."""
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _link_refused(error):
    """410: the link does not work (any more); the page says why and what to do."""
    page = render_template("auth/password_link_invalid.html", message=str(error))
    return _no_referrer(current_app.make_response((page, 410)))


@bp.route("/password/set/<token>", methods=["GET", "POST"])
@public_route
def set_password(token):
    """Public: the page an invitation or a reset link opens; the token is the credential."""
    try:
        found = tokens.find_token(token)
    except tokens.TokenError as error:
        return _link_refused(error)
    user = found.user
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            tokens.set_password_with_token(found, form.new_password.data)
        except services.UserError as error:
            db.session.rollback()
            form.new_password.errors.append(str(error))
        except tokens.TokenError as error:  # used by another request meanwhile
            db.session.rollback()
            return _link_refused(error)
        else:
            db.session.commit()
            # Whoever was signed in in this browser, the person here has just proved they are
            # this user: they sign in afresh, through two-factor sign-in if they have it.
            if current_user.is_authenticated:
                logout_user()
            signin.clear_session_keeping_language()
            flash(
                _(
                    "Your password has been set, and any other sessions of your account have "
                    "been signed out. Sign in with your e-mail address and the new password."
                ),
                "success",
            )
            return redirect(url_for("auth.login"))
    page = render_template(
        "auth/password_set.html",
        form=form,
        user=user,
        invitation=found.purpose == TokenPurpose.INVITATION,
    )
    return _no_referrer(current_app.make_response(page))
