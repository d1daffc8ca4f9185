"""The form that saves a list's current filters as a view."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from crm.core.forms import strip
from crm.saved_views.services import MAX_NAME_LENGTH


class SaveViewForm(FlaskForm):
    list_name = HiddenField()
    query = HiddenField()
    name = StringField(
        _l("Name of the view"),
        filters=[strip],
        validators=[
            DataRequired(message=_l("Give the view a name.")),
            Length(max=MAX_NAME_LENGTH),
        ],
    )
    shared = BooleanField(_l("Share it with everyone"))
    make_default = BooleanField(_l("Open the list with this view"))
    submit = SubmitField(_l("Save the view"))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "view")
        super().__init__(*args, **kwargs)
