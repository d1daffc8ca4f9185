"""How a user gets into their account, on the admin's user page: re-sending the invitation to
a user who has not chosen a password, and sending a link to choose a new one. The buttons are
in templates/admin/_user_access.html, which the user page includes."""

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.admin import bp
from crm.auth import services as user_services
from crm.auth import tokens
from crm.auth.decorators import recent_login_required
from crm.auth.models import User
from crm.core.security import is_safe_next
from crm.extensions import db

# The partial asks for the state of the user's invitation (None when they have a password).
bp.add_app_template_global(tokens.invitation_state, "invitation_state")


@bp.route("/users/<int:user_id>/invitation", methods=["POST"])
@recent_login_required
def resend_invitation(user_id):
    """A new invitation for a user without a password; earlier links stop working."""
    user = db.session.get(User, user_id) or abort(404)
    if not user.active:
        flash(_deactivated_message(user), "error")
    elif user.has_password:
        flash(
            _(
                "%(name)s has already chosen a password: send a password reset link instead.",
                name=user.name,
            ),
            "error",
        )
    elif _sent(tokens.send_invitation, user):
        flash(_("A new invitation has been sent to %(email)s.", email=user.email), "success")
    return _back()


@bp.route("/users/<int:user_id>/password-reset", methods=["POST"])
@recent_login_required
def send_password_reset(user_id):
    """Send the user a link to choose a new password; their present one works until then."""
    user = db.session.get(User, user_id) or abort(404)
    if not user.active:
        flash(_deactivated_message(user), "error")
    elif _sent(tokens.send_password_reset, user):
        flash(
            _(
                "A link to choose a new password has been sent to %(email)s. Their present "
                "password keeps working until they use it.",
                email=user.email,
            ),
            "success",
        )
    return _back()


def _sent(send, user):
    """Send the link and commit; False, with the reason flashed, when it cannot be sent."""
    try:
        send(user, actor=current_user)
    except user_services.UserError as error:
        db.session.rollback()
        flash(str(error), "error")
        return False
    db.session.commit()
    return True


def _deactivated_message(user):
    return _("%(name)s is deactivated: activate the user before sending a link.", name=user.name)


def _back():
    """To the page the button was on (the user's page), else the list of users."""
    target = request.form.get("next")
    return redirect(target if is_safe_next(target) else url_for("admin.users"))
