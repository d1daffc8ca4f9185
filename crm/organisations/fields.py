"""Form fields that pick an organisation or a contact by name, with type-ahead as a bonus.

Without JavaScript the person types the exact name; with it, a <datalist> offers matches
from the type-ahead endpoint as "Name (#id)", which the field resolves by id.
"""

import re

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


class OrganisationPickerField(StringField):
    """Its data is an Organisation (not deleted) or None."""

    widget = PickerInput("organisations.typeahead")

    def process_formdata(self, valuelist):
        self.raw_text = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if not self.raw_text:
            return
        match = _TRAILING_ID.search(self.raw_text)
        if match and is_valid_id(int(match.group(1))):
            organisation = db.session.get(Organisation, int(match.group(1)))
            if organisation is not None and organisation.deleted_at is None:
                self.data = organisation
                return
        name = _TRAILING_ID.sub("", self.raw_text).strip()
        found = db.session.scalars(
            sa.select(Organisation)
            .where(Organisation.deleted_at.is_(None), Organisation.name_key == name_key(name))
            .limit(2)
        ).all()
        if len(found) == 1:
            self.data = found[0]
        elif found:
            raise ValueError(
                _l("Several organisations are called %(name)s; pick one from the list.", name=name)
            )
        else:
            raise ValueError(_l("There is no organisation called %(name)s.", name=name))

    def _value(self):
        if isinstance(self.data, Organisation):
            return f"{self.data.name} (#{self.data.id})"
        return getattr(self, "raw_text", "") or ""


class ContactPickerField(StringField):
    """Its data is a Contact (not deleted) or None."""

    widget = PickerInput("contacts.typeahead")

    def process_formdata(self, valuelist):
        self.raw_text = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if not self.raw_text:
            return
        match = _TRAILING_ID.search(self.raw_text)
        if match and is_valid_id(int(match.group(1))):
            contact = db.session.get(Contact, int(match.group(1)))
            if contact is not None and contact.deleted_at is None:
                self.data = contact
                return
        text = fold(_TRAILING_ID.sub("", self.raw_text))
        if not text:
            raise ValueError(_l("There is no contact called %(name)s.", name=self.raw_text))
        found = db.session.scalars(
            sa.select(Contact)
            .where(
                Contact.deleted_at.is_(None),
                sa.or_(Contact.search_text.startswith(text, autoescape=True),
                       sa.func.lower(Contact.email) == text),
            )
            .limit(2)
        ).all()  # fmt: skip
        if len(found) == 1:
            self.data = found[0]
        elif found:
            raise ValueError(
                _l("Several contacts match %(name)s; pick one from the list.", name=self.raw_text)
            )
        else:
            raise ValueError(_l("There is no contact called %(name)s.", name=self.raw_text))

    def _value(self):
        if isinstance(self.data, Contact):
            return f"{self.data.full_name} (#{self.data.id})"
        return getattr(self, "raw_text", "") or ""
