"""Saving, listing, sharing and choosing the default of saved views (never commits)."""

from urllib.parse import parse_qsl, urlencode

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from crm.core.forms import FieldError
from crm.extensions import db
from crm.saved_views.models import SavedView, SavedViewDefault

# The lists that have saved views: name → the list's endpoint.
LISTS = {
    "enquiries": "enquiries.index",
    "organisations": "organisations.index",
    "contacts": "contacts.index",
    "activities": "activities.index",
}
# Never part of a view: paging, the bulk form's fields, and the "no view" switch.
NOT_SAVED = {"page", "id", "scope", "action", "csrf_token", "view"}
MAX_QUERY_LENGTH = 2000
MAX_NAME_LENGTH = 80
# Opening a list with this (?view=none) shows it without the user's default view.
NO_VIEW = "none"


class SavedViewError(FieldError):
    """A view that cannot be saved (see FieldError)."""


def clean_query(query):
    """The query string a view keeps: what the list reads, in its order, without paging."""
    pairs = [
        (key, value)
        for key, value in parse_qsl(query or "", keep_blank_values=False)
        if key not in NOT_SAVED and not key.startswith("bulk-")
    ]
    return urlencode(pairs)


def visible_views(user, list_name):
    """The user's own views of the list and those others share, by name."""
    return db.session.scalars(
        sa.select(SavedView)
        .where(
            SavedView.list_name == list_name,
            sa.or_(SavedView.owner_id == user.id, SavedView.is_shared.is_(True)),
        )
        .order_by(SavedView.name, SavedView.id)
    ).all()


def can_use(view, user):
    return view is not None and (view.owner_id == user.id or view.is_shared)


def save_view(user, list_name, *, name, query, shared=False, make_default=False):
    """Save the list's query under `name`; a view of the user's with that name is updated."""
    if list_name not in LISTS:
        raise SavedViewError(_l("There is no such list."))
    name = (name or "").strip()
    if not name:
        raise SavedViewError(_l("Give the view a name."), field="name")
    if len(name) > MAX_NAME_LENGTH:
        raise SavedViewError(
            _l("The name is too long (at most %(num)s characters).", num=MAX_NAME_LENGTH),
            field="name",
        )
    query = clean_query(query)
    if len(query) > MAX_QUERY_LENGTH:
        raise SavedViewError(_l("These filters are too long to save."))
    view = db.session.scalar(
        sa.select(SavedView).where(
            SavedView.owner_id == user.id,
            SavedView.list_name == list_name,
            SavedView.name == name,
        )
    )
    if view is None:
        view = SavedView(owner_id=user.id, list_name=list_name, name=name)
        db.session.add(view)
    view.query = query
    view.is_shared = bool(shared)
    db.session.flush()
    if make_default:
        set_default(user, list_name, view)
    return view


def delete_view(view):
    """Remove the view; anyone who had it as their default gets the plain list again."""
    db.session.execute(sa.delete(SavedViewDefault).where(SavedViewDefault.view_id == view.id))
    db.session.delete(view)
    db.session.flush()


def set_default(user, list_name, view):
    """Make `view` the user's default for the list; None clears the default."""
    current = db.session.get(SavedViewDefault, (user.id, list_name))
    if view is None:
        if current is not None:
            db.session.delete(current)
    elif current is None:
        db.session.add(SavedViewDefault(user_id=user.id, list_name=list_name, view_id=view.id))
    else:
        current.view_id = view.id
    db.session.flush()


def default_view(user, list_name):
    """The user's default view of the list, when it still exists and they may use it."""
    view = db.session.scalar(
        sa.select(SavedView)
        .join(SavedViewDefault, SavedViewDefault.view_id == SavedView.id)
        .where(SavedViewDefault.user_id == user.id, SavedViewDefault.list_name == list_name)
    )
    return view if can_use(view, user) else None
