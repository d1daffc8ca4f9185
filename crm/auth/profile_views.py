"""The user's own profile at /account/."""

from flask import flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.auth import bp, profiles
from crm.auth.profile_forms import ProfileForm
from crm.extensions import db


@bp.route("/account/", methods=["GET", "POST"])
@login_required
def profile():
    """Every signed-in user edits their own name, title, phone, language, topics, photo and
    whether the public page shows them as a contact person."""
    user = current_user._get_current_object()
    form = ProfileForm.for_user(user)
    if form.validate_on_submit():
        changes = form.save(user, actor=user)
        if changes is not None:
            db.session.commit()
            if "language" in changes:
                # The session's choice comes before the account's; the new one is meant now.
                session["lang"] = user.language
            if changes:
                flash(_("Your profile has been saved."), "success")
            else:
                flash(_("Nothing was changed."), "info")
            return redirect(url_for("auth.profile"))
    return render_template(
        "account/profile.html",
        form=form,
        user=user,
        photo_url=profiles.photo_url(user),
    )
