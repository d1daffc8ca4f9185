from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from crm.auth.services import MAX_PASSWORD_LENGTH
from crm.core.forms import strip

# Room for a code typed with spaces or dashes; anything longer is no code.
MAX_CODE_LENGTH = 40


def _code_field(label, description):
    return StringField(
        label,
        validators=[DataRequired(), Length(max=MAX_CODE_LENGTH)],
        filters=[strip],
        description=description,
    )


class EnrolCodeForm(FlaskForm):
    code = _code_field(
        _l("Code from your app"),
        _l("The six digits the app shows for this account now."),
    )
    submit = SubmitField(_l("Turn on two-factor sign-in"))


class SignInCodeForm(FlaskForm):
    code = _code_field(
        _l("Code"),
        _l(
            "The six digits your authenticator app shows, or one of your recovery codes if "
            "you do not have your phone."
        ),
    )
    submit = SubmitField(_l("Sign in"))


class TurnOffWithPasswordForm(FlaskForm):
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)]
    )
    submit = SubmitField(_l("Turn off two-factor sign-in"))


class TurnOffWithCodeForm(FlaskForm):
    """For a user without a password (single sign-on only): a code proves it is them."""

    code = _code_field(
        _l("Code from your app"),
        _l("The six digits your authenticator app shows, or one of your recovery codes."),
    )
    submit = SubmitField(_l("Turn off two-factor sign-in"))
