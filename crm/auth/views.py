from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from crm.auth import bp, oidc, services, signin
from crm.auth.decorators import note_password_typed
from crm.auth.forms import ConfirmPasswordForm, LoginForm, PasswordChangeForm
from crm.core.security import is_safe_next, public_route
from crm.extensions import db, limiter


def _login_rate_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@public_route
@limiter.limit(_login_rate_limit, methods=["POST"])
def login():
    """Public: the staff sign-in form."""
    next_url = request.args.get("next")
    if current_user.is_authenticated:
        return redirect(next_url if is_safe_next(next_url) else url_for("dashboard.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            # Count the failure even though the sign-in is refused.
            db.session.commit()
            # One message for every reason, so it tells nothing about the account.
            flash(
                _(
                    "Wrong e-mail or password, or the account is inactive. After several wrong "
                    "passwords an account can only be tried again after a few minutes."
                ),
                "error",
            )
            return _login_page(form, next_url)
        single_sign_on = _password_turned_off_for(user)
        if single_sign_on:
            # PASSWORD_LOGIN=off: someone who signs in through their organisation no longer
            # signs in with a password here (when they leave, the organisation ends their
            # account there, and that must end their access here too). Said only now that the
            # password was right: to anyone else the answer is the one above, so it tells
            # nothing about which accounts exist or use single sign-on; wrong guesses were
            # counted and paused as for everyone. What it does tell, that the password was
            # right, is told only to someone who knew it, and it opens nothing. Nothing is
            # committed: the sign-in did not happen.
            db.session.rollback()
            flash(
                _(
                    "Signing in with a password is turned off for you, as you sign in through "
                    "your organisation: use the button “%(button)s”.",
                    button=single_sign_on[0]["button"],
                ),
                "error",
            )
            return _login_page(form, next_url)
        return signin.begin(user, method="password", remember=form.remember.data, next_url=next_url)
    return _login_page(form, next_url)


def _login_page(form, next_url):
    return render_template(
        "auth/login.html",
        form=form,
        providers=oidc.providers(),
        next_url=next_url if is_safe_next(next_url) else None,
    )


def _password_turned_off_for(user):
    """The providers `user` must sign in with instead of a password: those they have signed in
    with, when PASSWORD_LOGIN is off (a provider since removed from the settings does not
    count, or its users would be left without a way in); else none."""
    if current_app.config["PASSWORD_LOGIN"] != "off":  # noqa: S105  (a setting, not a password)
        return []
    return oidc.linked_providers(user)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Ends this session and every other session of the user."""
    services.end_all_sessions(current_user)
    db.session.commit()
    logout_user()
    signin.clear_session_keeping_language()
    flash(_("You have been signed out."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/account/confirm", methods=["GET", "POST"])
@login_required
def confirm_password():
    """Type the password again before a sensitive page (see recent_login_required)."""
    next_url = request.args.get("next")
    next_url = next_url if is_safe_next(next_url) else None
    form = ConfirmPasswordForm()
    user = current_user._get_current_object()
    providers = oidc.linked_providers(user)
    # Users without a password, and those PASSWORD_LOGIN=off keeps from using theirs, confirm
    # by signing in at their provider again (crm/auth/oidc_views.py); the others may do either.
    password_allowed = user.has_password and not _password_turned_off_for(user)
    if password_allowed and form.validate_on_submit():
        if services.verify_password(user, form.password.data):
            db.session.commit()
            note_password_typed()
            return redirect(next_url or url_for("dashboard.index"))
        # The failure counts towards the account's pause, as at sign-in.
        db.session.commit()
        form.password.errors.append(_wrong_password_message())
    return render_template(
        "auth/confirm.html",
        form=form,
        password_allowed=password_allowed,
        providers=providers,
        next_url=next_url,
    )


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        if not services.verify_password(current_user, form.current_password.data):
            # Counted like a failed sign-in, or this form would be a way to guess passwords.
            db.session.commit()
            form.current_password.errors.append(_wrong_password_message())
        else:
            try:
                services.change_password(current_user, form.new_password.data, actor=current_user)
            except services.UserError as error:
                form.new_password.errors.append(str(error))
            else:
                db.session.commit()
                # Other sessions ended with the version bump; keep this one signed in.
                login_user(current_user._get_current_object())
                note_password_typed()
                flash(
                    _("Your password has been changed. Other sessions have been signed out."),
                    "success",
                )
                return redirect(url_for("dashboard.index"))
    return render_template("auth/password.html", form=form)


def _wrong_password_message():
    # Also shown while checks on the account are paused, when the password is not looked at.
    return _(
        "The password is wrong, or there were too many wrong passwords: "
        "wait a few minutes and try again."
    )
