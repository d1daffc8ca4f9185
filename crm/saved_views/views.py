"""Saving a list's filters as a view, choosing the default, deleting a view; and the bar
above each list (`saved_views_for`, a template global)."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.core import records
from crm.core.forms import ConfirmForm
from crm.extensions import db
from crm.saved_views import bp, services
from crm.saved_views.forms import SaveViewForm
from crm.saved_views.models import SavedView


def list_url(list_name, query=""):
    return url_for(services.LISTS[list_name]) + (f"?{query}" if query else "")


def default_redirect(list_name):
    """A redirect to the user's default view when the list is opened without a query."""
    if request.args or not current_user.is_authenticated:
        return None
    view = services.default_view(current_user, list_name)
    if view is None or not view.query:
        return None
    return redirect(list_url(list_name, view.query))


class SavedViewsBar:
    """What the bar above a list shows: the views, which is current and the default."""

    def __init__(self, list_name):
        self.list_name = list_name
        self.views = services.visible_views(current_user, list_name)
        self.default = services.default_view(current_user, list_name)
        self.query = services.clean_query(request.query_string.decode("utf-8", "replace"))
        self.form = SaveViewForm(formdata=None, data={"list_name": list_name, "query": self.query})
        self.confirm_form = ConfirmForm()
        self.no_view_url = list_url(list_name, "view=" + services.NO_VIEW)

    def url(self, view):
        return list_url(self.list_name, view.query)

    def is_current(self, view):
        return view.query == self.query and (bool(self.query) or not request.args)


@bp.app_template_global()
def saved_views_for(list_name):
    if not current_user.is_authenticated or list_name not in services.LISTS:
        return None
    return SavedViewsBar(list_name)


def _view_or_404(view_id):
    view = db.session.get(SavedView, records.parse_id(view_id) or 0)
    if not services.can_use(view, current_user):
        abort(404)
    return view


@bp.route("/", methods=["POST"])
def save():
    form = SaveViewForm()
    list_name = form.list_name.data
    if list_name not in services.LISTS:
        abort(400)
    query = services.clean_query(form.query.data)
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
        return redirect(list_url(list_name, query))
    try:
        view = services.save_view(
            current_user,
            list_name,
            name=form.name.data,
            query=query,
            shared=form.shared.data,
            make_default=form.make_default.data,
        )
    except services.SavedViewError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(list_url(list_name, query))
    db.session.commit()
    flash(_("View %(name)s saved.", name=view.name), "success")
    return redirect(list_url(list_name, view.query))


@bp.route("/<int:view_id>/default", methods=["POST"])
def make_default(view_id):
    view = _view_or_404(view_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.set_default(current_user, view.list_name, view)
    db.session.commit()
    flash(_("The list now opens with %(name)s.", name=view.name), "success")
    return redirect(list_url(view.list_name, view.query))


@bp.route("/default/<list_name>/clear", methods=["POST"])
def clear_default(list_name):
    if list_name not in services.LISTS:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.set_default(current_user, list_name, None)
    db.session.commit()
    flash(_("The list now opens without a view."), "success")
    return redirect(list_url(list_name))


@bp.route("/<int:view_id>/delete", methods=["GET", "POST"])
def delete(view_id):
    view = _view_or_404(view_id)
    if view.owner_id != current_user.id:
        abort(404)
    form = ConfirmForm()
    if form.validate_on_submit():
        services.delete_view(view)
        db.session.commit()
        flash(_("View %(name)s deleted.", name=view.name), "success")
        return redirect(list_url(view.list_name, "view=" + services.NO_VIEW))
    return render_template(
        "saved_views/delete.html",
        view=view,
        form=form,
        back_url=list_url(view.list_name, view.query),
    )
