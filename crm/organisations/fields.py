"""Form fields that pick an organisation or a contact by name, with type-ahead as a bonus.

Without JavaScript the person types the exact name; with it, a <datalist> offers matches
from the type-ahead endpoint as "Name (#id)", which the field resolves by id.

A deleted record cannot be picked, with one exception: a form for an existing record may
keep the deleted records that record already links to (see `keeping`). Otherwise an
activity whose organisation was deleted could not be saved at all until its link was
removed, and the link would then be lost for good if the organisation were restored.
"""

import re
from contextlib import contextmanager
from contextvars import ContextVar

import sqlalchemy as sa
from flask import url_for
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from wtforms import StringField
from wtforms.widgets import TextInput

from crm.core.records import is_valid_id
from crm.core.text import fold, name_key
from crm.extensions import db
from crm.organisations.models import Contact, Organisation

_TRAILING_ID = re.compile(r"\(#(\d+)\)\s*$")

# (model, id) of the deleted records the pickers of the form being built may keep.
_kept = ContextVar("kept_deleted_records", default=frozenset())


@contextmanager
def keeping(records):
    """While a form for an existing record is built (its form data processed): the deleted
    ones among `records`, those the record links to now, may stay picked when the form
    names them by id as it showed them ("Name (#id)"). Live records are picked as ever."""
    kept = frozenset((type(record), record.id) for record in records if record.is_deleted)
    token = _kept.set(kept)
    try:
        yield
    finally:
        _kept.reset(token)


def kept_deleted(model, record_id):
    """Whether the form being built may keep this deleted record (see `keeping`)."""
    return (model, record_id) in _kept.get()


class PickerInput(TextInput):
    """A text input tied to a datalist that static/js/typeahead.js fills as the person types."""

    def __init__(self, endpoint):
        super().__init__()
        self.endpoint = endpoint

    def __call__(self, field, **kwargs):
        list_id = f"{field.id}-options"
        kwargs.setdefault("autocomplete", "off")
        kwargs["list"] = list_id
        kwargs["data-typeahead"] = url_for(self.endpoint)
        # Markup.format escapes the id; the input itself comes escaped from WTForms.
        datalist = Markup('<datalist id="{}"></datalist>').format(list_id)
        return super().__call__(field, **kwargs) + datalist


class RecordPickerField(StringField):
    """Its data is a record of `model` (not deleted) or None.

    "Name (#id)" from the datalist is resolved by id; other text by `matches(text)`.
    Subclasses set model, widget, the two messages and `display(record)`.
    """

    model = None
    ambiguous_message = None
    unknown_message = None

    def process_formdata(self, valuelist):
        self.raw_text = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if not self.raw_text:
            return
        match = _TRAILING_ID.search(self.raw_text)
        if match and is_valid_id(int(match.group(1))):
            record = db.session.get(self.model, int(match.group(1)))
            if record is not None and (
                not record.is_deleted or kept_deleted(self.model, record.id)
            ):
                self.data = record
                return
        text = _TRAILING_ID.sub("", self.raw_text).strip()
        found = self.matches(text) if fold(text) else []
        if len(found) == 1:
            self.data = found[0]
        elif found:
            raise ValueError(self.ambiguous_message.format(name=text))
        else:
            raise ValueError(self.unknown_message.format(name=text or self.raw_text))

    def matches(self, text):
        """Up to two live records the typed text names."""
        raise NotImplementedError

    def display(self, record):
        raise NotImplementedError

    def _value(self):
        if isinstance(self.data, self.model):
            return f"{self.display(self.data)} (#{self.data.id})"
        return getattr(self, "raw_text", "") or ""


class OrganisationPickerField(RecordPickerField):
    """An organisation named exactly (case, accents and AB/Ltd ignored) or picked from the list."""

    model = Organisation
    widget = PickerInput("organisations.typeahead")
    ambiguous_message = _l("Several organisations are called {name}; pick one from the list.")
    unknown_message = _l("There is no organisation called {name}.")

    def matches(self, text):
        return db.session.scalars(
            sa.select(Organisation)
            .where(Organisation.deleted_at.is_(None), Organisation.name_key == name_key(text))
            .limit(2)
        ).all()

    def display(self, record):
        return record.name


class ContactPickerField(RecordPickerField):
    """A contact whose name starts with the text, or whose e-mail it is, or picked from the list."""

    model = Contact
    widget = PickerInput("contacts.typeahead")
    ambiguous_message = _l("Several contacts match {name}; pick one from the list.")
    unknown_message = _l("There is no contact called {name}.")

    def matches(self, text):
        folded = fold(text)
        return db.session.scalars(
            sa.select(Contact)
            .where(
                Contact.deleted_at.is_(None),
                sa.or_(
                    Contact.search_text.startswith(folded, autoescape=True),
                    sa.func.lower(Contact.email) == folded,
                ),
            )
            .limit(2)
        ).all()

    def display(self, record):
        return record.full_name
