from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from crm.auth.models import MIN_PASSWORD_LENGTH, Role
from crm.auth.services import MAX_PASSWORD_LENGTH, get_user_by_email, owner_candidates

NOBODY = _l("— Nobody —")


def owner_choices(current_owner_id=None, *, blank=NOBODY):
    """The choices of an "owner" field: nobody, then the active users and the present owner
    (kept when deactivated, so saving the form does not drop them), by name."""
    return [SelectChoice("", blank)] + [
        SelectChoice(str(user.id), user.name) for user in owner_candidates(current_owner_id)
    ]


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)]
    )
    remember = BooleanField(_l("Keep me signed in on this device"))
    submit = SubmitField(_l("Sign in"))


def new_password_field(label):
    return PasswordField(
        label,
        validators=[
            DataRequired(),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=MAX_PASSWORD_LENGTH,
                message=_l("The password must be at least %(min)d characters long."),
            ),
        ],
        description=_l(
            "At least %(count)d characters, and hard to guess: several uncommon words together "
            "work well.",
            count=MIN_PASSWORD_LENGTH,
        ),
    )


class ConfirmPasswordForm(FlaskForm):
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)]
    )
    submit = SubmitField(_l("Confirm"))


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)]
    )
    new_password = new_password_field(_l("New password"))
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[
            DataRequired(),
            EqualTo("new_password", message=_l("The passwords do not match.")),
        ],
    )
    submit = SubmitField(_l("Change password"))


class UserCreateForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(
        _l("E-mail"),
        validators=[
            DataRequired(),
            Email(message=_l("Enter a valid e-mail address.")),
            Length(max=254),
        ],
    )
    role = SelectField(_l("Role"), choices=Role.choices, default=Role.MEMBER.value)
    language = SelectField(
        _l("Language"),
        choices=[SelectChoice("sv", _l("Swedish")), SelectChoice("en", _l("English"))],
        default="sv",
    )
    # No password: the user chooses their own from the invitation e-mail.
    submit = SubmitField(_l("Create user and send invitation"))

    def validate_email(self, field):
        if get_user_by_email(field.data) is not None:
            raise ValidationError(_l("A user with this e-mail address already exists."))
