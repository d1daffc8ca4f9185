"""The delete and restore pages every soft-deleted record shares.

Each domain's view loads and authorises its record and gives its own words and pages; these
helpers do the steps in between (confirm, delete or restore with an audit entry, commit once,
tell the person, go on), so those steps and what an expired form does are the same for every
kind of record.
"""

from flask import flash, redirect, render_template
from flask_babel import gettext as _
from flask_login import current_user

from crm.core import records
from crm.core.forms import ConfirmForm
from crm.extensions import db


def confirm_delete(
    record,
    *,
    template,
    done_message,
    done_url,
    form=None,
    delete=records.soft_delete,
    **context,
):
    """Show the confirmation page `template` (with `form` and `context`); on a valid POST
    delete the record with `delete(record, actor=...)`, commit, flash `done_message` and
    redirect to `done_url`.

    `form` is a ConfirmForm unless the page shows a button of its own; `delete` is a soft
    delete with an audit entry unless the domain's service does more.
    """
    form = form or ConfirmForm()
    if form.validate_on_submit():
        delete(record, actor=current_user)
        db.session.commit()
        flash(done_message, "success")
        return redirect(done_url)
    return render_template(template, form=form, **context)


def restore_deleted(record, *, done_message, done_url, form=None, expired_message=None):
    """The POST of a restore button: restore the record with an audit entry, commit, flash
    `done_message`, and redirect to `done_url`.

    A record that is not deleted (the button sent twice) is left as it is; an expired form
    flashes `expired_message` and changes nothing.
    """
    form = form or ConfirmForm()
    if not form.validate_on_submit():
        flash(expired_message or _("The form had expired. Please try again."), "error")
    elif record.is_deleted:
        records.restore(record, actor=current_user)
        db.session.commit()
        flash(done_message, "success")
    return redirect(done_url)
