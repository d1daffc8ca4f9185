"""What services and views share about form input a service refuses, the base of the forms
that save a record, the filters and forms every domain's forms use, and WTForms' own messages
in the visitor's language."""

import threading

from babel import support
from flask import flash, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    FileField,
    FormField,
    RadioField,
    SelectMultipleField,
    SubmitField,
)
from wtforms.csrf.core import CSRFTokenField
from wtforms.i18n import messages_path

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


def strip(value):
    """Field filter: text without the spaces around it, so " Acme " is stored and matched as
    "Acme". Shared by every domain's forms, so all text input is cleaned the same way."""
    return value.strip() if isinstance(value, str) else value


def optional_id(value):
    """SelectField coerce for an optional record id: "" (none chosen) and anything that is not
    a number are None, so a tampered choice fails the field's choice check instead of raising."""
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class ConfirmForm(FlaskForm):
    """A confirmation with nothing to fill in but its CSRF token (delete, restore, and other
    one-button actions). One class for every domain, so each confirmation is checked alike."""

    submit = SubmitField(_l("Confirm"))


# A browser leaves these out of the POST when nothing is ticked or chosen (an unticked
# checkbox, an empty checkbox group or multi-select, a radio group with no choice, no file);
# their absence means "empty". SubmitField is a BooleanField: only the pressed button is sent.
_MAY_BE_ABSENT = (BooleanField, SelectMultipleField, RadioField, FileField, CSRFTokenField)


class CompleteForm(FlaskForm):
    """A form that writes over stored values (an edit form, and the settings), and refuses a
    submission lacking a field it shows.

    WTForms reads a field missing from the POST as empty: a picker becomes None, a list of
    rows empty, a checkbox unticked. A bare or cut-off POST (a script, a broken proxy, a page
    loaded before a field was added) would so erase stored values without a word. Refusing
    it is simpler and more robust than keeping the stored value for each absent field: it
    needs no knowledge of how each view fills its form from the record, and the person is
    told that nothing was saved. Fields a browser omits when empty (_MAY_BE_ABSENT) are
    exempt, so a form with an unticked box still saves as the person left it.

    Every field of a CompleteForm must therefore be rendered by its template (hidden ones
    come with form.hidden_tag()); a field shown only sometimes must be one of those kinds.
    Forms that only add something (a comment, an upload, a quick log) need not be: a field
    they lack erases nothing, and their required fields already refuse an empty POST.
    """

    missing_message = _l(
        "Some fields were missing from the form that was sent, so nothing was saved. "
        "Reload the page and try again."
    )

    def process(self, formdata=None, obj=None, data=None, extra_filters=None, **kwargs):
        # What was sent, as FlaskForm reads it from the request (None for an empty body).
        self.sent_formdata = self.meta.wrap_formdata(self, formdata)
        super().process(self.sent_formdata, obj, data=data, extra_filters=extra_filters, **kwargs)

    def missing_fields(self):
        """Names of the fields the submission should hold but does not."""
        return _missing(self, self.sent_formdata or {})

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if self.is_submitted() and self.missing_fields():
            self.form_errors.append(self.missing_message)
            return False
        return valid


def _sent_under(name, sent):
    return any(key.startswith(f"{name}-") for key in sent)


def _missing(fields, sent):
    missing = []
    for field in fields:
        if isinstance(field, _MAY_BE_ABSENT):
            continue
        if isinstance(field, FormField):
            missing += _missing(field, sent)
        elif isinstance(field, FieldList):
            # Rows come as name-0, name-1-role, …; the page shows at least one, and script may
            # add or remove whole rows. A row that was sent must be whole.
            rows = [row for row in field if row.name in sent or _sent_under(row.name, sent)]
            if not rows:
                missing.append(field.name)
            missing += _missing(rows, sent)
        elif field.name not in sent:
            missing.append(field.name)
    return missing


class _WTFormsTranslations:
    """WTForms' built-in messages ("Not a valid choice") in the request's language.

    Flask-WTF reads WTForms' catalogue from disk for every request that builds a form; this
    keeps one per language for the life of the process. Flask-WTF looks for it on the
    request as `wtforms_translations` before loading its own.
    """

    _loaded = {}
    _lock = threading.Lock()

    def _translations(self):
        language = str(get_locale() or "")
        translations = self._loaded.get(language)
        if translations is None:
            with self._lock:
                translations = self._loaded.get(language)
                if translations is None:
                    translations = support.Translations.load(
                        messages_path(), [language], domain="wtforms"
                    )
                    self._loaded[language] = translations
        return translations

    def ugettext(self, string):
        return self._translations().ugettext(string)

    def ungettext(self, singular, plural, n):
        return self._translations().ungettext(singular, plural, n)


_wtforms_translations = _WTFormsTranslations()


def share_wtforms_translations():
    """before_request: hand Flask-WTF the catalogues kept for the process."""
    request.wtforms_translations = _wtforms_translations
