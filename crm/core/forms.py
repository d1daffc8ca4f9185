"""What services and views share about form input a service refuses, and WTForms' own
messages in the visitor's language."""

import threading

from babel import support
from flask import flash, request
from flask_babel import get_locale
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
