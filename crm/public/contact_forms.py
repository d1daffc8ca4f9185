"""The public enquiry form, and the signed form token that guards it against bots."""

import re
import secrets

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    SelectField,
    StringField,
    SubmitField,
    TelField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from crm.core.forms import strip
from crm.core.types import utcnow
from crm.enquiries.models import Topic
from crm.mail.services import valid_address
from crm.organisations.models import OrganisationKind

MAX_NAME = 200
MAX_EMAIL = 254
MAX_PHONE = 50
MAX_ORGANISATION = 200
MIN_MESSAGE = 5
MAX_MESSAGE = 5000

# How long a rendered form may be sent back; after that the visitor is asked to send it again
# (with what they typed kept).
FORM_TOKEN_MAX_AGE = 24 * 60 * 60
_TOKEN_SALT = "contact-form-token"  # noqa: S105 (a namespace for the signature, not a secret)

# Digits, spaces and the punctuation phone numbers are written with; at least five digits.
_PHONE = re.compile(r"^(?=(?:\D*\d){5})[0-9 +()\-./]+$")
# Control characters (CR/LF included) have no business in a one-line field.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_EXCEPT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _single_line(form, field):
    if field.data and _CONTROL.search(field.data):
        raise ValidationError(_l("Write this on one line, without special characters."))


def _no_control_characters(form, field):
    if field.data and _CONTROL_EXCEPT_LINES.search(field.data):
        raise ValidationError(_l("Remove the special characters from the text."))


def _email_address(form, field):
    """One plain address, the kind the outbox accepts (no display name, no second address)."""
    message = _l("Enter a valid e-mail address, e.g. name@example.com.")
    if not field.data:
        return
    try:
        validate_email(field.data, check_deliverability=False)
    except EmailNotValidError:
        raise ValidationError(message) from None
    if not valid_address(field.data):
        raise ValidationError(message)


def _too_long(limit):
    return Length(max=limit, message=_l("Write at most %(max)d characters."))


class EnquiryForm(FlaskForm):
    name = StringField(
        _l("Your name"),
        filters=[strip],
        validators=[
            DataRequired(message=_l("Enter your name.")),
            _too_long(MAX_NAME),
            _single_line,
        ],
    )
    email = EmailField(
        _l("E-mail"),
        filters=[strip],
        validators=[
            DataRequired(message=_l("Enter your e-mail address.")),
            _too_long(MAX_EMAIL),
            _email_address,
        ],
        description=_l("We send a receipt with your reference number to this address."),
    )
    phone = TelField(
        _l("Phone"),
        filters=[strip],
        validators=[
            Optional(),
            _too_long(MAX_PHONE),
            Regexp(
                _PHONE,
                message=_l("Enter a phone number with digits, e.g. +46 70 123 45 67."),
            ),
        ],
        description=_l("Optional."),
    )
    organisation_name = StringField(
        _l("Organisation"),
        filters=[strip],
        validators=[Optional(), _too_long(MAX_ORGANISATION), _single_line],
        description=_l("Optional. The company or organisation you represent."),
    )
    organisation_type = SelectField(
        _l("Type of organisation"),
        choices=lambda: [SelectChoice("", _l("Not stated"))] + OrganisationKind.choices(),
        default="",
        validators=[Optional()],
        description=_l("Optional."),
    )
    topic = SelectField(
        _l("Topic"),
        choices=lambda: [SelectChoice("", _l("Choose a topic"))] + Topic.choices(),
        default="",
        validators=[DataRequired(message=_l("Choose the topic of your enquiry."))],
    )
    message = TextAreaField(
        _l("Your message"),
        validators=[
            DataRequired(message=_l("Write your message.")),
            Length(
                min=MIN_MESSAGE,
                max=MAX_MESSAGE,
                message=_l("Write between %(min)d and %(max)d characters."),
            ),
            _no_control_characters,
        ],
        description=_l("At most %(count)d characters.", count=MAX_MESSAGE),
    )
    acknowledgement = BooleanField(
        _l("I have read how my personal data will be processed"),
        validators=[
            DataRequired(message=_l("Tick the box to confirm that you have read the notice."))
        ],
    )
    consent_text_id = HiddenField()
    form_token = HiddenField()
    # The honeypot: hidden from people (CSS, aria-hidden, out of the tab order); bots fill it.
    website = StringField(_l("Leave this field empty"))
    submit = SubmitField(_l("Send enquiry"))

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        # Validators keep lazy messages as they are; the error summary needs plain text.
        for field in self:
            field.errors = [
                error if isinstance(error, str) else str(error) for error in field.errors
            ]
        return valid

    @property
    def honeypot_filled(self):
        return bool((self.website.data or "").strip())

    def data_for_service(self, *, consent_text_id, submission_token):
        return {
            "name": self.name.data,
            "email": self.email.data.lower(),
            "phone": self.phone.data or None,
            "organisation_name": self.organisation_name.data or None,
            "organisation_type": self.organisation_type.data or None,
            "topic": Topic(self.topic.data),
            "message": self.message.data.strip(),
            "consent_text_id": consent_text_id,
            "submission_token": submission_token,
        }


class FormToken:
    """What a valid form token carries: the submission token, the language and when the form
    was shown."""

    def __init__(self, submission_token, language, issued_at):
        self.submission_token = submission_token
        self.language = language
        self.issued_at = issued_at

    @property
    def seconds_since_shown(self):
        return (utcnow() - self.issued_at).total_seconds()


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_TOKEN_SALT)


def issue_form_token(language):
    """A fresh signed token for one rendering of the form (random, signed with the time)."""
    return _serializer().dumps({"s": secrets.token_urlsafe(32), "l": language})


def read_form_token(token):
    """The FormToken in `token`, or None when it is missing, forged, malformed or expired."""
    if not token or len(token) > 300:
        return None
    try:
        payload, issued_at = _serializer().loads(
            token, max_age=FORM_TOKEN_MAX_AGE, return_timestamp=True
        )
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(payload, dict):
        return None
    submission_token, language = payload.get("s"), payload.get("l")
    if not isinstance(submission_token, str) or not 20 <= len(submission_token) <= 64:
        return None
    if language not in current_app.config["LANGUAGES"]:
        return None
    return FormToken(submission_token, language, issued_at)
