"""Bulk actions on a list: which records a request chose, and applying one service to each.

The records are always read again through the list's own "may see" condition, so an id
that a user may not see (or that was tampered into the form) is never touched; each record
then goes through the same service as a change made one by one, with its own audit entry.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from crm.core import records
from crm.core.csv_export import csv_response
from crm.core.forms import FieldError
from crm.extensions import db

# More than this in one go is refused: the confirmation page lists the ids in its form.
MAX_RECORDS = 1000
# The query-string keys that are not filters (the bulk form's own fields, paging).
# The bulk forms' fields carry this prefix, so a field never clashes with a filter ("status").
FORM_PREFIX = "bulk-"
MAX_FAILURES_SHOWN = 10
NOT_FILTERS = {"id", "scope", "action", "page", "csrf_token"}


def chosen_ids(values):
    """The record ids among `values` (form or query values), without duplicates or junk."""
    ids = []
    for value in values:
        record_id = records.parse_id(value)
        if record_id and record_id not in ids:
            ids.append(record_id)
    return ids


def filter_args(args):
    """The list's filters (and sort) from a request's args, as (key, value) pairs."""
    return [
        (key, value)
        for key, value in args.items(multi=True)
        if key not in NOT_FILTERS and not key.startswith(FORM_PREFIX)
    ]


def filter_query(args):
    """The list's filters as a query string, to go back to the list as it was."""
    return urlencode(filter_args(args))


def chosen(select, model, args):
    """The records of `select` (the list's select for the user, filters applied) the request
    chose: every one when scope is "all", else those whose ids were ticked. At most
    MAX_RECORDS + 1 rows are read, so the caller can refuse too many."""
    if args.get("scope") != "all":
        ids = chosen_ids(args.getlist("id"))
        if not ids:
            return []
        select = select.where(model.id.in_(ids[: MAX_RECORDS + 1]))
    return db.session.scalars(select.limit(MAX_RECORDS + 1)).unique().all()


def by_ids(select, model, ids):
    """The records with these ids that `select` (already limited to what the user may see)
    returns; the others are left out silently."""
    if not ids:
        return []
    return (
        db.session.scalars(select.where(model.id.in_(ids[:MAX_RECORDS])).order_by(None))
        .unique()
        .all()
    )


@dataclass
class BulkResult:
    changed: int = 0
    unchanged: int = 0
    # (record's name, why it could not be changed)
    failed: list = field(default_factory=list)


def apply(items, change, *, name):
    """Call `change(item)` on each item: True when it changed, False when it already was so.

    A FieldError (the service refusing, before it changes anything) is noted with the item's
    `name(item)` and the others go on.
    """
    result = BulkResult()
    for item in items:
        try:
            if change(item):
                result.changed += 1
            else:
                result.unchanged += 1
        except FieldError as error:
            result.failed.append((name(item), str(error)))
    return result


def id_condition(model, ids):
    return model.id.in_(ids) if ids else sa.false()


# ---------------------------------------------------------------- the pages, for a list


@dataclass
class Action:
    """One bulk change: its label, its form (the details asked on the confirmation page) and
    `change(record, form, actor)`, which calls the domain's service and returns whether the
    record changed."""

    label: str
    form: Callable
    change: Callable
    # may(user): whether the user may take this action, beyond changing the list's records
    may: Callable = lambda user: True


@dataclass
class BulkList:
    """What the bulk pages need to know about one list, and the words of its pages where
    the list has its own."""

    list_endpoint: str
    bulk_endpoint: str
    model: type
    # what(num) → "3 organisations", in the page's language
    what: Callable
    name: Callable
    url: Callable
    actions: dict
    export_filename: str
    export_header: tuple
    export_row: Callable
    template: str = "bulk/confirm.html"
    no_action: str = _l("Choose what to do with the chosen rows.")
    none_chosen: str = _l("Choose at least one row.")
    too_many: str = _l("At most %(num)s rows can be handled at once.")
    none_to_change: str = _l("None of the chosen rows can be changed by you.")
    # report(result) flashes what was done; flash_result's words when None.
    report: Callable | None = None


def _list_url(spec, args):
    query = filter_query(args)
    return url_for(spec.list_endpoint) + (f"?{query}" if query else "")


def confirm_page(spec, list_select, *, may_change):
    """GET: how many records were chosen and the action's details, or the CSV of them.

    `list_select` is the list's select for the user with the request's filters applied.
    """
    args = request.args
    action = args.get("action")
    if action != "export" and action not in spec.actions:
        flash(str(spec.no_action), "error")
        return redirect(_list_url(spec, args))
    items = chosen(list_select, spec.model, args)
    if not items:
        flash(str(spec.none_chosen), "error")
        return redirect(_list_url(spec, args))
    if len(items) > MAX_RECORDS:
        flash(spec.too_many % {"num": MAX_RECORDS}, "error")
        return redirect(_list_url(spec, args))
    if action == "export":
        filename = f"{spec.export_filename}-selection-{date.today().isoformat()}.csv"
        return csv_response(filename, spec.export_header, [spec.export_row(i) for i in items])
    if not may_change:
        abort(403)
    form = _form(spec, action, formdata=None)
    return _render(spec, action, form, items, args)


def apply_page(spec, visible_select, *, actor):
    """POST: change each chosen record that `visible_select` (everything the user may
    change) holds, through the action's service; one commit for them all."""
    form_data = request.form
    action = form_data.get("action")
    if action not in spec.actions:
        abort(400)
    items = by_ids(visible_select, spec.model, chosen_ids(form_data.getlist("id")))
    form = _form(spec, action)
    if not items:
        flash(str(spec.none_to_change), "error")
        return redirect(_list_url(spec, form_data))
    if not form.validate_on_submit():
        return _render(spec, action, form, items, form_data)
    change = spec.actions[action].change
    result = apply(items, lambda item: change(item, form, actor), name=spec.name)
    db.session.commit()
    if spec.report is None:
        flash_result(result, spec.what)
    else:
        spec.report(result)
    return redirect(_list_url(spec, form_data))


def _form(spec, action, **kwargs):
    """The action's form, for a user who may take the action (else 403)."""
    if not spec.actions[action].may(current_user):
        abort(403)
    return spec.actions[action].form(prefix=FORM_PREFIX.rstrip("-"), **kwargs)


def _render(spec, action, form, items, args):
    return render_template(
        spec.template,
        spec=spec,
        action=action,
        action_label=spec.actions[action].label,
        form=form,
        items=items,
        query_pairs=filter_args(args),
        back_url=_list_url(spec, args),
    )


def flash_result(result, what):
    if result.changed:
        flash(_("Changed: %(what)s.", what=what(result.changed)), "success")
    if result.unchanged:
        flash(
            _("Already as chosen, left as they were: %(what)s.", what=what(result.unchanged)),
            "info",
        )
    for name, message in result.failed[:MAX_FAILURES_SHOWN]:
        flash(_("%(name)s was not changed: %(reason)s", name=name, reason=message), "error")
    if len(result.failed) > MAX_FAILURES_SHOWN:
        more = what(len(result.failed) - MAX_FAILURES_SHOWN)
        flash(_("Also not changed: %(what)s more.", what=more), "error")
