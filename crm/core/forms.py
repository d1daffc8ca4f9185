"""What services and views share about form input a service refuses."""

from flask import flash

from crm.extensions import db


class FieldError(ValueError):
    """A change that cannot be made; the message is shown to the person.

    `field` names the form field the message belongs to, when there is one.
    """

    def __init__(self, message, *, field=None):
        super().__init__(message)
        self.field = field


def show_error(form, error, *, list_errors=()):
    """Put a FieldError's message on its form field, or flash it when it has none.

    A FieldList's own errors are its rows'; for the list fields named in `list_errors` the
    message goes to `form.<field>_list_errors`, which the form's template shows above the rows.
    """
    message = str(error)
    if error.field in list_errors:
        setattr(form, f"{error.field}_list_errors", [message])
        return
    target = getattr(form, error.field, None) if error.field else None
    if target is not None and hasattr(target, "errors"):
        target.errors = [*list(target.errors), message]
    else:
        flash(message, "error")


def save_or_show_error(form, save, *, list_errors=()):
    """Run `save()`; a FieldError is shown on the form, nothing is stored, and None returned."""
    try:
        return save()
    except FieldError as error:
        db.session.rollback()
        show_error(form, error, list_errors=list_errors)
        return None
