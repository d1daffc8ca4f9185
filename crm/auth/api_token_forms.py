"""The form that makes a personal API token (/account/tokens)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from crm.auth.api_tokens import NAME_MAX_LENGTH
from crm.auth.models import ApiScope, Role
from crm.core.forms import strip

# How long a new token works; "" is never. Offered as a short list rather than a date, so a
# token is not made to last longer than meant by a slip of the keyboard.
DAY_CHOICES = (7, 30, 90, 365)
DEFAULT_DAYS = 90


def _days(value):
    """SelectField coerce: a number of days, or None for "never" (""); anything else raises
    ValueError, which the field shows as an invalid choice."""
    if value in (None, ""):
        return None
    return int(value)


class ApiTokenForm(FlaskForm):
    name = StringField(
        _l("Name"),
        description=_l('What the token is for, so you know it again, e.g. "Website sync".'),
        filters=[strip],
        validators=[
            DataRequired(message=_l("Enter a name for the token.")),
            Length(max=NAME_MAX_LENGTH),
        ],
    )
    scope = SelectField(_l("Access"), choices=ApiScope.choices, default=ApiScope.READ.value)
    days = SelectField(
        _l("Expires"),
        coerce=_days,
        choices=[
            *(SelectChoice(days, _l("In %(num)d days", num=days)) for days in DAY_CHOICES),
            SelectChoice("", _l("Never")),
        ],
        default=DEFAULT_DAYS,
    )
    submit = SubmitField(_l("Create token"))

    @classmethod
    def for_user(cls, user, **kwargs):
        """The form as `user` may fill it: a viewer is offered read-only access alone."""
        form = cls(**kwargs)
        if user.role == Role.VIEWER:
            form.scope.choices = [SelectChoice(ApiScope.READ.value, ApiScope.READ.label)]
            form.scope.description = _l("As a viewer you can make read-only tokens.")
        else:
            form.scope.description = _l(
                "Read and write lets the program change what you may change."
            )
        return form
