"""marshmallow's and webargs' messages about the shape of the input, in the request's language.

The API's schemas refuse what does not have the shape its document describes (a missing field,
a string where a number belongs, an unknown value) with those libraries' messages, English
literals inside them. Each is matched here by its wording and given again through Flask-Babel;
the rules the pages' forms hold come translated already. A wording a library changes would stay
English: tests/test_api_messages.py reads the libraries' own messages and fails on any this
table does not know.
"""

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

_FIXED = {
    "Missing data for required field.": _l("Missing data for required field."),
    "Field may not be null.": _l("This field may not be null."),
    "Invalid value.": _l("Invalid value."),
    "Unknown field.": _l("Unknown field."),
    "Invalid input type.": _l("The body must be a JSON object."),
    "Invalid type.": _l("Invalid type."),
    "Invalid JSON body.": _l("The body is not valid JSON."),
    "Not a valid string.": _l("Not a valid string."),
    "Not a valid utf-8 string.": _l("Not a valid UTF-8 string."),
    "Not a valid integer.": _l("Not a valid integer."),
    "Not a valid number.": _l("Not a valid number."),
    "Number too large.": _l("The number is too large."),
    "Not a valid boolean.": _l("Not a valid boolean: give true or false."),
    "Not a valid list.": _l("Not a valid list."),
    "Not a valid mapping type.": _l("Not a valid object."),
    "Not a valid date.": _l("Not a valid date (YYYY-MM-DD)."),
    "Not a valid datetime.": _l("Not a valid date and time (ISO 8601)."),
    "Not a valid aware datetime.": _l("Not a valid date and time with a time zone (ISO 8601)."),
    "Not a valid time.": _l("Not a valid time (HH:MM)."),
    "String does not match expected pattern.": _l("Not in the expected form."),
}

# (the libraries' wording, as a pattern with named parts; the message, with the same parts)
_WITH_VALUES = [
    (r"Must be one of: (?P<choices>.*)\.", lambda v: _("Must be one of: %(choices)s.", **v)),
    (
        r"Length must be between (?P<min>\d+) and (?P<max>\d+)\.",
        lambda v: _("Length must be between %(min)s and %(max)s.", **v),
    ),
    (
        r"Shorter than minimum length (?P<min>\d+)\.",
        lambda v: _("Shorter than the minimum length %(min)s.", **v),
    ),
    (
        r"Longer than maximum length (?P<max>\d+)\.",
        lambda v: _("Longer than the maximum length %(max)s.", **v),
    ),
    (r"Length must be (?P<equal>\d+)\.", lambda v: _("Length must be %(equal)s.", **v)),
    (
        r"Must be greater than or equal to (?P<min>\S+) and less than or equal to (?P<max>\S+)\.",
        lambda v: _("Must be at least %(min)s and at most %(max)s.", **v),
    ),
    (
        r"Must be greater than or equal to (?P<min>\S+)\.",
        lambda v: _("Must be at least %(min)s.", **v),
    ),
    (r"Must be less than or equal to (?P<max>\S+)\.", lambda v: _("Must be at most %(max)s.", **v)),
]
_PATTERNS = [(re.compile(f"^{pattern}$"), message) for pattern, message in _WITH_VALUES]


def translated(message):
    """A library's message in the request's language; any other message as it is."""
    text = str(message)
    fixed = _FIXED.get(text)
    if fixed is not None:
        return str(fixed)
    for pattern, message_with in _PATTERNS:
        match = pattern.match(text)
        if match:
            return message_with(match.groupdict())
    return text


def knows(message):
    """Whether `message` (a library's English wording) has a translation here."""
    text = str(message)
    return text in _FIXED or any(pattern.match(text) for pattern, _message in _PATTERNS)
