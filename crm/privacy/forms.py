"""Forms of the privacy pages: the notice editor, the request search, erasure and legal holds."""

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from crm.core.forms import CompleteForm, strip

MAX_NOTICE = 50_000
MAX_REASON = 500


class NoticeForm(CompleteForm):
    body_sv = TextAreaField(
        _l("Notice in Swedish"),
        filters=[strip],
        validators=[
            DataRequired(message=_l("Write the notice in Swedish.")),
            Length(max=MAX_NOTICE, message=_l("Write at most %(max)d characters.")),
        ],
        description=_l("Separate paragraphs with an empty line."),
    )
    body_en = TextAreaField(
        _l("Notice in English"),
        filters=[strip],
        validators=[
            DataRequired(message=_l("Write the notice in English.")),
            Length(max=MAX_NOTICE, message=_l("Write at most %(max)d characters.")),
        ],
        description=_l("Separate paragraphs with an empty line."),
    )
    submit = SubmitField(_l("Publish as a new version"))


class RequestForm(FlaskForm):
    email = EmailField(
        _l("E-mail address"),
        filters=[strip],
        validators=[
            DataRequired(message=_l("Enter the person's e-mail address.")),
            Length(max=254, message=_l("Write at most %(max)d characters.")),
        ],
        description=_l(
            "Every record holding this address is listed; capital letters do not matter."
        ),
    )
    submit = SubmitField(_l("Search"))

    def validate_email(self, field):
        try:
            validate_email(field.data, check_deliverability=False)
        except EmailNotValidError:
            raise ValidationError(
                _l("Enter a valid e-mail address, e.g. name@example.com.")
            ) from None


class ExportForm(FlaskForm):
    download = SubmitField(_l("Download everything as JSON"))


class EraseForm(FlaskForm):
    erase = SubmitField(_l("Erase now"))


class ClearForm(FlaskForm):
    clear = SubmitField(_l("New search"))


class LegalHoldForm(CompleteForm):
    legal_hold = BooleanField(_l("Under a legal hold"))
    reason = TextAreaField(
        _l("Reason"),
        filters=[strip],
        validators=[Length(max=MAX_REASON, message=_l("Write at most %(max)d characters."))],
        description=_l("Why the record must be kept, e.g. the public records rule that applies."),
    )
    submit = SubmitField(_l("Save"))

    def validate_reason(self, field):
        if self.legal_hold.data and not field.data:
            raise ValidationError(_l("Give the reason for the legal hold."))
