"""Forms of the administration pages: a user's page, the settings, consent texts and reply
templates (creating a user is crm.auth.forms.UserCreateForm)."""

import re

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from crm.auth.models import Role
from crm.auth.profile_forms import CheckboxesField, ProfileForm
from crm.core.forms import CompleteForm, strip
from crm.core.images import MAX_IMAGE_BYTES
from crm.enquiries import services as enquiry_services
from crm.settings.services import DEFAULTS as SETTING_DEFAULTS

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


_COLOUR = re.compile(r"^#?([0-9a-fA-F]{6})$")
# WCAG 2.1 AA for normal text: the header and the primary buttons are white on the accent
# colour, and links are the accent colour on white, so one check covers both.
MIN_ACCENT_CONTRAST = 4.5


def contrast_with_white(colour):
    """The WCAG contrast ratio of white against `colour` (#rrggbb)."""

    def channel(hex_pair):
        value = int(hex_pair, 16) / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(colour[index : index + 2]) for index in (1, 3, 5))
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return 1.05 / (luminance + 0.05)


def _lower(value):
    return value.lower() if isinstance(value, str) else value


class AdminUserForm(ProfileForm):
    """Every field of a user, for an admin: the profile, and e-mail, role and active."""

    email = EmailField(
        _l("E-mail"),
        filters=[strip],
        validators=[
            DataRequired(message=_l("Enter a valid e-mail address.")),
            Email(message=_l("Enter a valid e-mail address.")),
            Length(max=254),
        ],
    )
    role = SelectField(_l("Role"), choices=Role.choices)
    active = BooleanField(_l("Active (may sign in)"))
    is_public_contact = BooleanField(_l("Show as a contact person on the public page"))

    def values(self):
        return {
            **super().values(),
            "email": self.email.data,
            "role": self.role.data,
            "active": self.active.data,
        }


class SettingsForm(CompleteForm):
    office_name_sv = StringField(
        _l("Office name in Swedish"),
        filters=[strip],
        validators=[Length(max=200)],
    )
    office_name_en = StringField(
        _l("Office name in English"),
        description=_l("Where a name is left empty, the other language's is shown."),
        filters=[strip],
        validators=[Length(max=200)],
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
    logo = FileField(
        _l("Logo"),
        description=_l(
            "Shown in the header of every page. PNG, JPEG or WebP, at most %(size)d MB; a "
            "wide image about 80 pixels high looks best.",
            size=MAX_IMAGE_BYTES // (1024 * 1024),
        ),
    )
    remove_logo = BooleanField(_l("Remove the logo"))
    accent_colour = StringField(
        _l("Accent colour"),
        description=_l(
            "The colour of the header, buttons and links, as #rrggbb (e.g. #0b5563). It must "
            "be dark enough for white text. Leave empty for the built-in colour."
        ),
        filters=[strip, _lower],
        validators=[Length(max=7)],
    )
    public_contacts = CheckboxesField(
        _l("Public contact people"),
        description=_l(
            "Shown on the public page with name, title, photo, e-mail address and phone "
            "number. Only active users can be chosen."
        ),
        coerce=int,
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
    agreement_warning_days = WholeNumberField(
        _l("Warning ahead of an agreement's renewal notice date (days)"),
        description=_l(
            "The agreement's owner and the coordinators are told this many days before the "
            "last day to give notice, and again on that day (0–365; 0 for no warning, empty "
            "for 30)."
        ),
        validators=[
            Optional(),
            NumberRange(min=0, max=365, message=_l("Enter a whole number of days from 0 to 365.")),
        ],
    )
    submit = SubmitField(_l("Save settings"))

    def validate_office_name_sv(self, field):
        if not field.data and not self.office_name_en.data:
            raise ValidationError(_l("Enter the office's name in at least one language."))

    def validate_accent_colour(self, field):
        if not field.data:
            return
        match = _COLOUR.match(field.data)
        if match is None:
            raise ValidationError(_l("Enter the colour as # and six hex digits, e.g. #0b5563."))
        field.data = f"#{match.group(1).lower()}"
        if contrast_with_white(field.data) < MIN_ACCENT_CONTRAST:
            raise ValidationError(
                _l("This colour is too light for white text to be read on it. Choose a darker one.")
            )

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

    def logo_upload(self):
        """The uploaded logo, or None when no file was chosen."""
        upload = self.logo.data
        return upload if upload and getattr(upload, "filename", None) else None

    def values(self):
        """The settings as stored: {key: value} (the logo and the contact people apart)."""
        return {
            "office_name_sv": self.office_name_sv.data or "",
            "office_name_en": self.office_name_en.data or "",
            "accent_colour": self.accent_colour.data or None,
            "intro_sv": self.intro_sv.data or "",
            "intro_en": self.intro_en.data or "",
            "data_controller": self.data_controller.data or "",
            "retention_months": self.retention_months.data,
            "email_retention_months": self.email_retention_months.data,
            "agreement_warning_days": (
                SETTING_DEFAULTS["agreement_warning_days"]
                if self.agreement_warning_days.data is None
                else self.agreement_warning_days.data
            ),
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
