"""Forms for follow-up tasks."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from crm.core.forms import CompleteForm, optional_id, strip


class TaskForm(CompleteForm):
    title = StringField(
        _l("Task"),
        filters=[strip],
        validators=[DataRequired(message=_l("Enter what is to be done.")), Length(max=300)],
    )
    due_date = DateField(
        _l("Due date"),
        validators=[Optional()],
        description=_l("Year-month-day, e.g. 2026-03-31. Leave empty for no due date."),
        invalid_value_message=_l(
            "This is not a date. Enter the due date as year-month-day, e.g. 2026-03-31."
        ),
    )
    assignee_id = SelectField(_l("Assignee"), coerce=optional_id, default="")
    submit = SubmitField(_l("Save task"))

    def __init__(self, *args, users=(), **kwargs):
        super().__init__(*args, **kwargs)
        # Plain names, not lazy strings: a lazy string counts as safe HTML, and names are not.
        self.assignee_id.choices = [SelectChoice("", _l("— Nobody —"))] + [
            SelectChoice(str(user.id), user.name) for user in users
        ]
        self._user_ids = {user.id for user in users}

    def validate_assignee_id(self, field):
        if field.data is not None and field.data not in self._user_ids:
            raise ValidationError(_l("Choose an active member, coordinator or admin."))


class TaskActionForm(FlaskForm):
    """The CSRF token for the complete and reopen buttons."""
