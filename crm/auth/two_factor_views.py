"""Pages of two-factor sign-in: setting it up and turning it off (/account/two-factor), the
second step of signing in (/login/two-factor), and keeping users whose role requires it on
the set-up page until they have done it."""

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from crm.auth import bp, signin, two_factor
from crm.auth import services as user_services
from crm.auth.decorators import recent_login_required
from crm.auth.models import User
from crm.auth.two_factor_forms import (
    EnrolCodeForm,
    SignInCodeForm,
    TurnOffWithCodeForm,
    TurnOffWithPasswordForm,
)
from crm.core.forms import ConfirmForm
from crm.core.security import public_route
from crm.extensions import db, limiter

# Where a user who must set up two-factor sign-in may still go: out, the set-up pages (every
# endpoint starting with this) and the confirmation they may be asked for first (by password,
# or through their single-sign-on provider for users without one).
_ENROL_ENDPOINT_PREFIX = "auth.two_factor"
_OPEN_TO_UNENROLLED = frozenset(
    {"static", "auth.logout", "auth.confirm_password", "auth.oidc_confirm"}
)


@bp.before_app_request
def keep_unenrolled_on_the_enrol_page():
    """A signed-in user whose role is in MFA_REQUIRED_ROLES and who has no second factor sees
    only the set-up page (and public pages) until they have one.

    Registered with the auth blueprint, so it runs before the page cache serves a page (that
    hook is added after the blueprints, in crm/__init__.register_request_hooks): a cached
    page is never handed to such a user.
    """
    if not current_app.config["MFA_REQUIRED_ROLES"]:
        return None
    endpoint = request.endpoint
    if (
        endpoint is None
        or endpoint in _OPEN_TO_UNENROLLED
        or endpoint.startswith(_ENROL_ENDPOINT_PREFIX)
        or getattr(current_app.view_functions.get(endpoint), "is_public", False)
    ):
        return None
    if not current_user.is_authenticated or not signin.must_enrol_two_factor(current_user):
        return None
    flash(_("Your role requires two-factor sign-in. Set it up to continue."), "info")
    return redirect(url_for("auth.two_factor"))


@bp.route("/account/two-factor", methods=["GET", "POST"], endpoint="two_factor")
@recent_login_required
def two_factor_page():
    """Whether two-factor sign-in is on; setting it up: the QR code, the secret to type by
    hand, and the first code that turns it on (the POST)."""
    user = current_user._get_current_object()
    form = EnrolCodeForm()
    if two_factor.enrolment_started(user) and form.validate_on_submit():
        try:
            codes = two_factor.confirm_enrolment(user, form.code.data, actor=user)
        except two_factor.TwoFactorError as error:
            form.code.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Two-factor sign-in is on."), "success")
            return _show_recovery_codes(codes)
    elif request.method == "POST" and not two_factor.enrolment_started(user):
        # Sent from a page that is out of date (another tab finished or cancelled it).
        return redirect(url_for("auth.two_factor"))
    context = {}
    if two_factor.enrolment_started(user):
        uri = two_factor.provisioning_uri(user)
        context = {
            "qr_code": two_factor.qr_code_data_uri(uri),
            "secret": two_factor.grouped_secret(user.totp_secret),
        }
    elif user.two_factor_enabled:
        context = {"unused_codes": two_factor.unused_recovery_codes(user)}
    return render_template(
        "auth/two_factor.html",
        form=form,
        confirm_form=ConfirmForm(),
        enrolment_started=two_factor.enrolment_started(user),
        required=user.role.value in current_app.config["MFA_REQUIRED_ROLES"],
        **context,
    )


@bp.route("/account/two-factor/start", methods=["POST"])
@recent_login_required
def two_factor_start():
    """A new secret for the authenticator app; the page then shows it."""
    if ConfirmForm().validate_on_submit():
        try:
            two_factor.start_enrolment(current_user)
        except two_factor.TwoFactorError as error:
            flash(str(error), "error")
        else:
            db.session.commit()
    else:
        flash(_("The form had expired. Please try again."), "error")
    return redirect(url_for("auth.two_factor"))


@bp.route("/account/two-factor/cancel", methods=["POST"])
@recent_login_required
def two_factor_cancel():
    """Give up a set-up that was not finished: the secret shown is forgotten."""
    if ConfirmForm().validate_on_submit():
        two_factor.cancel_enrolment(current_user)
        db.session.commit()
    return redirect(url_for("auth.two_factor"))


@bp.route("/account/two-factor/recovery-codes", methods=["GET", "POST"])
@recent_login_required
def two_factor_recovery_codes():
    """New recovery codes in place of the old ones, after a confirmation."""
    user = current_user._get_current_object()
    if not user.two_factor_enabled:
        return redirect(url_for("auth.two_factor"))
    form = ConfirmForm()
    if form.validate_on_submit():
        codes = two_factor.regenerate_recovery_codes(user, actor=user)
        db.session.commit()
        flash(_("You have new recovery codes. The old ones no longer work."), "success")
        return _show_recovery_codes(codes)
    return render_template("auth/two_factor_regenerate.html", form=form)


@bp.route("/account/two-factor/off", methods=["GET", "POST"])
@recent_login_required
def two_factor_off():
    """Turn two-factor sign-in off, with the password (or, without one, a code)."""
    user = current_user._get_current_object()
    if not user.two_factor_enabled:
        return redirect(url_for("auth.two_factor"))
    form = TurnOffWithPasswordForm() if user.has_password else TurnOffWithCodeForm()
    if form.validate_on_submit():
        if user.has_password:
            proved = user_services.verify_password(user, form.password.data)
        else:
            proved = two_factor.check_sign_in_code(user, form.code.data) is not None
        if proved:
            two_factor.turn_off(user, actor=user)
            db.session.commit()
            flash(_("Two-factor sign-in is off."), "success")
            return redirect(url_for("auth.two_factor"))
        # The failure counts towards the account's pause, as at sign-in.
        db.session.commit()
        field = form.password if user.has_password else form.code
        field.errors.append(_wrong_password_or_code_message(user))
    return render_template(
        "auth/two_factor_off.html",
        form=form,
        required=user.role.value in current_app.config["MFA_REQUIRED_ROLES"],
    )


def _two_factor_rate_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login/two-factor", methods=["GET", "POST"])
@public_route
@limiter.limit(_two_factor_rate_limit, methods=["POST"])
def two_factor_login():
    """Public: the second step of signing in, for someone who has passed the first."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    had_pending = signin.PENDING_KEY in session
    user_id, pending = signin.pending_user_id()
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if (
        user is None
        or not user.active
        or user.session_version != pending.get("version")
        or not user.two_factor_enabled
    ):
        # Gone, ended (signed out everywhere, new password) or changed since the first step.
        session.pop(signin.PENDING_KEY, None)
        if had_pending:
            flash(_("Your sign-in took too long or is no longer valid. Sign in again."), "info")
        return redirect(url_for("auth.login"))
    form = SignInCodeForm()
    if form.validate_on_submit():
        method = two_factor.check_sign_in_code(user, form.code.data)
        if method is None:
            # Count the failure even though the sign-in is refused.
            db.session.commit()
            form.code.errors.append(
                _(
                    "The code is wrong or has already been used, or there were too many wrong "
                    "attempts: wait a few minutes and try again."
                )
            )
        else:
            response = signin.finish(
                user,
                method=pending.get("method"),
                remember=bool(pending.get("remember")),
                next_url=pending.get("next"),
            )
            if method == "recovery":
                _tell_recovery_codes_left(user)
            return response
    return render_template("auth/two_factor_login.html", form=form)


def _tell_recovery_codes_left(user):
    left = two_factor.unused_recovery_codes(user)
    if left:
        message = ngettext(
            "You signed in with a recovery code, which cannot be used again: %(num)d is left.",
            "You signed in with a recovery code, which cannot be used again: %(num)d are left.",
            left,
        )
    else:
        message = _(
            "You signed in with your last recovery code. Make new ones on the two-factor "
            "page before you need one."
        )
    flash(message, "warning")


def _show_recovery_codes(codes):
    return render_template("auth/two_factor_codes.html", codes=codes)


def _wrong_password_or_code_message(user):
    if user.has_password:
        return _(
            "The password is wrong, or there were too many wrong passwords: "
            "wait a few minutes and try again."
        )
    return _(
        "The code is wrong or has already been used, or there were too many wrong "
        "attempts: wait a few minutes and try again."
    )
