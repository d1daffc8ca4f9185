from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.admin import bp
from crm.auth import services as user_services
from crm.auth.decorators import role_required
from crm.auth.forms import UserCreateForm, UserEditForm
from crm.auth.models import Role, User
from crm.extensions import db


@bp.before_request
@role_required(Role.ADMIN)
def require_admin():
    """Every admin page is for admins only."""


@bp.route("/users")
def users():
    return render_template("admin/users.html", users=user_services.list_users())


@bp.route("/users/new", methods=["GET", "POST"])
def create_user():
    form = UserCreateForm()
    if form.validate_on_submit():
        try:
            user = user_services.create_user(
                email=form.email.data,
                name=form.name.data,
                role=form.role.data,
                password=form.password.data,
                language=form.language.data,
                actor=current_user,
            )
        except user_services.UserError as error:
            form.email.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("User %(email)s created.", email=user.email), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
def edit_user(user_id):
    user = db.session.get(User, user_id) or abort(404)
    form = UserEditForm(obj=user, role=user.role.value)
    if form.validate_on_submit():
        try:
            user_services.update_user(
                user,
                name=form.name.data,
                role=form.role.data,
                active=form.active.data,
                actor=current_user,
            )
        except user_services.UserError as error:
            form.role.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("User %(email)s saved.", email=user.email), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=user)
