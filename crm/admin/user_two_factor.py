"""An admin turns off a user's two-factor sign-in, for someone who has lost their phone and
their recovery codes. The user page (/admin/users/<id>) shows the partial
templates/admin/_user_two_factor.html, whose button leads here."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.admin import bp
from crm.auth import two_factor
from crm.auth.decorators import recent_login_required
from crm.auth.models import User
from crm.core.forms import ConfirmForm
from crm.extensions import db


@bp.route("/users/<int:user_id>/two-factor/off", methods=["GET", "POST"])
@recent_login_required
def turn_off_user_two_factor(user_id):
    """Confirm, then turn off the user's two-factor sign-in and end their sessions."""
    user = db.session.get(User, user_id) or abort(404)
    back = url_for("admin.edit_user", user_id=user.id)
    if not user.two_factor_enabled:
        flash(_("Two-factor sign-in is not on for %(name)s.", name=user.name), "info")
        return redirect(back)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            two_factor.turn_off_for_user(user, actor=current_user)
        except two_factor.TwoFactorError as error:
            flash(str(error), "error")
            return redirect(back)
        db.session.commit()
        flash(
            _(
                "Two-factor sign-in is off for %(name)s, who has been signed out everywhere.",
                name=user.name,
            ),
            "success",
        )
        return redirect(back)
    return render_template("admin/user_two_factor_off.html", form=form, user=user, back=back)
