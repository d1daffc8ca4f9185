"""Forms of the administration pages (users have theirs in crm.auth.forms)."""

import re

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from crm.core.forms import CompleteForm, strip
from crm.enquiries import services as enquiry_services

MAX_RECIPIENTS = 20
_SEPARATORS = re.compile(r"[\s,;]+")


def _normalise_newlines(value):
    return value.replace("\r\n", "\n").strip() if isinstance(value, str) else value


def split_recipients(text):
    return [part for part in _SEPARATORS.split(text or "") if part]


class WholeNumberField(IntegerField):
    """An integer field whose range validator gives the one message for any bad input."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None


class SettingsForm(CompleteForm):
    office_name = StringField(
        _l("Office name"),
        filters=[strip],
        validators=[DataRequired(message=_l("Enter the office's name.")), Length(max=200)],
    )
    intro_sv = TextAreaField(
        _l("Introduction on the public page, in Swedish"),
        description=_l("Plain text. Leave an empty line between paragraphs."),
        filters=[_normalise_newlines],
        validators=[Length(max=5000)],
    )
    intro_en = TextAreaField(
        _l("Introduction on the public page, in English"),
        description=_l("Plain text. Leave an empty line between paragraphs."),
        filters=[_normalise_newlines],
        validators=[Length(max=5000)],
    )
    data_controller = TextAreaField(
        _l("Data controller"),
        description=_l("Who is responsible for the personal data: name and address."),
        filters=[_normalise_newlines],
        validators=[Length(max=1000)],
    )
    retention_months = WholeNumberField(
        _l("Retention period for closed enquiries (months)"),
        description=_l("Closed enquiries are anonymised after this many months (1–120)."),
        validators=[
            InputRequired(message=_l("Enter a whole number of months from 1 to 120.")),
            NumberRange(
                min=1, max=120, message=_l("Enter a whole number of months from 1 to 120.")
            ),
        ],
    )
    email_retention_months = WholeNumberField(
        _l("Retention period for logged e-mail (months)"),
        description=_l(
            "E-mail logged on contacts, and unmatched mail, is deleted after this many months "
            "(1–120). E-mail on an enquiry goes with the enquiry."
        ),
        validators=[
            InputRequired(message=_l("Enter a whole number of months from 1 to 120.")),
            NumberRange(
                min=1, max=120, message=_l("Enter a whole number of months from 1 to 120.")
            ),
        ],
    )
    notification_recipients = TextAreaField(
        _l("Notification recipients"),
        description=_l(
            "E-mail addresses told about new enquiries, separated by commas or new lines."
        ),
        validators=[Length(max=5000)],
    )
    submit = SubmitField(_l("Save settings"))

    def validate_notification_recipients(self, field):
        addresses = split_recipients(field.data)
        if len(addresses) > MAX_RECIPIENTS:
            raise ValidationError(_l("Enter at most %(count)s addresses.", count=MAX_RECIPIENTS))
        cleaned = []
        for address in addresses:
            try:
                result = validate_email(address, check_deliverability=False)
            except EmailNotValidError:
                raise ValidationError(
                    _l("%(address)s is not a valid e-mail address.", address=address)
                ) from None
            if result.normalized.lower() not in (known.lower() for known in cleaned):
                cleaned.append(result.normalized)
        self.cleaned_recipients = cleaned

    def values(self):
        """The settings as stored: {key: value}."""
        return {
            "office_name": self.office_name.data,
            "intro_sv": self.intro_sv.data or "",
            "intro_en": self.intro_en.data or "",
            "data_controller": self.data_controller.data or "",
            "retention_months": self.retention_months.data,
            "email_retention_months": self.email_retention_months.data,
            "notification_recipients": getattr(
                self, "cleaned_recipients", split_recipients(self.notification_recipients.data)
            ),
        }


# The text sits above the form's checkbox: a paragraph or two, with the notice linked below it.
MAX_CONSENT_TEXT = 3000


class ConsentTextForm(CompleteForm):
    body_sv = TextAreaField(
        _l("Consent text in Swedish"),
        filters=[_normalise_newlines],
        validators=[
            DataRequired(message=_l("Write the consent text in Swedish.")),
            Length(max=MAX_CONSENT_TEXT, message=_l("Write at most %(max)d characters.")),
        ],
    )
    body_en = TextAreaField(
        _l("Consent text in English"),
        filters=[_normalise_newlines],
        validators=[
            DataRequired(message=_l("Write the consent text in English.")),
            Length(max=MAX_CONSENT_TEXT, message=_l("Write at most %(max)d characters.")),
        ],
    )
    submit = SubmitField(_l("Publish as a new version"))


class ReplyTemplateForm(CompleteForm):
    """An admin's reply template: its language, a name to pick it by, and its text."""

    language = SelectField(
        _l("Language"),
        choices=[SelectChoice("sv", _l("Swedish")), SelectChoice("en", _l("English"))],
        validators=[DataRequired(message=_l("Choose the language."))],
    )
    name = StringField(
        _l("Name"),
        filters=[strip],
        description=_l('What staff pick the template by, e.g. "Thanks, we will be in touch".'),
        validators=[
            DataRequired(message=_l("Enter the template's name.")),
            Length(max=enquiry_services.MAX_TEMPLATE_NAME),
        ],
    )
    body = TextAreaField(
        _l("Text"),
        description=_l("Staff can edit the text before sending."),
        validators=[
            DataRequired(message=_l("Write the template's text.")),
            Length(max=enquiry_services.MAX_TEMPLATE_LENGTH),
        ],
    )
    submit = SubmitField(_l("Save template"))

    def data_for_service(self):
        return {"language": self.language.data, "name": self.name.data, "body": self.body.data}
