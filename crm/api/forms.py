"""The API validates what it is sent with the pages' own forms.

A JSON body is first checked for its shape by the operation's marshmallow schema (types,
lengths, enums; that is what the OpenAPI document describes), then handed to the same
WTForms form the page uses, as the form data a browser would send: the form as the page
draws it for the record (or empty, for a new one), with the fields the JSON names changed.
So every rule a page enforces (an organisation number's check digit, a unique number, a
company never a GMS partner, an owner who may own, an organisation that exists) holds in
the API too, with the same translated messages, and a rule changed in a form changes in both.
"""

from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, FieldList, FormField, SelectFieldBase, SubmitField

from crm.api.problems import Problem
from crm.core.forms import FieldError
from crm.extensions import db


def browser_formdata(form):
    """What a browser sends for `form` as the page draws it: every field's shown value, a
    ticked box as "y" (an unticked one left out), each chosen option of a multiple choice."""
    data = MultiDict()
    for field in _leaves(form):
        if isinstance(field, SubmitField) or field.type == "CSRFTokenField":
            continue
        if isinstance(field, BooleanField):
            if field.data:
                data.add(field.name, "y")
        elif isinstance(field, SelectFieldBase):
            values = field.data if isinstance(field.data, list | tuple) else [field.data]
            for value in values:
                if value is not None:
                    data.add(field.name, str(getattr(value, "value", value)))
            if not values or values == [None]:
                if field.type not in ("SelectMultipleField", "MultiCheckboxField"):
                    data.add(field.name, "")
        else:
            data.add(field.name, field._value())
    return data


def _leaves(fields):
    for field in fields:
        if isinstance(field, FieldList):
            for entry in field:
                yield from _leaves([entry])
        elif isinstance(field, FormField):
            yield from _leaves(field)
        else:
            yield field


def set_field(formdata, name, value):
    """Put the JSON's `value` into the form data as a browser would send it."""
    if isinstance(value, bool):
        formdata.setlist(name, ["y"] if value else [])
    elif isinstance(value, list | tuple):
        formdata.setlist(name, [_text(item) for item in value])
    else:
        formdata.setlist(name, [_text(value)])


def set_rows(formdata, name, rows):
    """Replace a list of rows (a FieldList of FormFields) by `rows`, [{subfield: value}]."""
    for key in [key for key in formdata if key.startswith(f"{name}-")]:
        formdata.poplist(key)
    for index, row in enumerate(rows):
        for subfield, value in row.items():
            set_field(formdata, f"{name}-{index}-{subfield}", value)


def record_reference(record_id):
    """How a picker field (crm/organisations/fields.py) is sent a record by its id."""
    return "" if record_id is None else f"(#{record_id})"


def _text(value):
    if value is None:
        return ""
    return str(getattr(value, "value", value))


def check_references(references, *, kept=()):
    """A 422 for every id in [(field, model, id)] that names no live record: the pickers
    would say "There is no organisation called (#7)", which reads oddly to a program.
    `kept`: the records the changed record links to now, which it may keep though deleted
    (as its page's form does, crm/organisations/fields.py)."""
    kept = {(type(record), record.id) for record in kept}
    errors = []
    for field, model, record_id in references:
        if record_id is None or (model, record_id) in kept:
            continue
        record = db.session.get(model, record_id)
        if record is None or getattr(record, "is_deleted", False):
            errors.append({"field": field, "detail": str(_l("There is no record with this id."))})
    if errors:
        raise Problem(422, errors=errors)


def validated_form(form_class, formdata, *, field_names=None, **form_kwargs):
    """The form filled with `formdata` and validated, or a 422 naming each field's error
    (by its name in the API: `field_names` maps the form's names that differ)."""
    form = form_class(formdata=formdata, meta={"csrf": False}, **form_kwargs)
    if not form.validate():
        errors = form_errors(form)
        for error in errors:
            error["field"] = (field_names or {}).get(error["field"], error["field"])
        raise Problem(422, errors=errors)
    return form


def form_errors(form):
    errors = [
        {"field": name, "detail": str(message)}
        for name, messages in form.errors.items()
        if name is not None
        for message in _messages(messages)
    ]
    errors += [{"field": "", "detail": str(message)} for message in form.form_errors]
    return errors


def _messages(messages):
    if isinstance(messages, dict):  # a FormField's fields
        for value in messages.values():
            yield from _messages(value)
    elif isinstance(messages, list | tuple):
        for message in messages:
            if isinstance(message, dict | list | tuple):
                yield from _messages(message)
            else:
                yield message
    else:
        yield messages


def saved(change):
    """Run a page's service: `change()`, or for a rule it holds (its FieldError, see
    crm.core.forms) a 422 on that field, with the transaction rolled back."""
    try:
        return change()
    except FieldError as error:
        db.session.rollback()
        raise Problem(422, errors=[{"field": error.field or "", "detail": str(error)}]) from error
