"""Forms of the unmatched-mail pages."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import InputRequired, Length

from crm.core.forms import strip


class AttachForm(FlaskForm):
    reference = StringField(
        _l("Enquiry reference"),
        validators=[InputRequired(), Length(max=20)],
        filters=[strip],
        description=_l("For example ENQ-2026-00042."),
    )
    submit = SubmitField(_l("Attach to the enquiry"))


class LogForm(FlaskForm):
    submit = SubmitField(_l("Log as an e-mail activity"))
