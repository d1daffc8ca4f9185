"""Forms of the staff enquiry pages. Each has a prefix, as several share the detail page."""

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from crm.activities.models import ActivityKind
from crm.core.forms import optional_id, strip
from crm.enquiries import services
from crm.enquiries.models import ClosedReason
from crm.mail.services import valid_address
from crm.organisations.fields import ContactPickerField, OrganisationPickerField
from crm.organisations.models import OrganisationKind


def _user_choices(users_with_counts, *, empty=None):
    choices = [SelectChoice("", empty)] if empty else []
    for user, open_count in users_with_counts:
        # gettext, not lazy_gettext: a lazy string counts as safe HTML, and names are not.
        label = _("%(name)s (%(count)s open)", name=user.name, count=open_count)
        choices.append(SelectChoice(str(user.id), label))
    return choices


class AssignForm(FlaskForm):
    assignee_id = SelectField(
        _l("Assign to"),
        coerce=optional_id,
        validators=[DataRequired(message=_l("Choose who is to take the enquiry."))],
    )
    submit = SubmitField(_l("Assign"))

    def __init__(self, *args, users_with_counts=(), **kwargs):
        kwargs.setdefault("prefix", "assign")
        super().__init__(*args, **kwargs)
        self.assignee_id.choices = _user_choices(users_with_counts, empty=_l("— Choose —"))


class CommentForm(FlaskForm):
    body = TextAreaField(
        _l("Comment"),
        filters=[strip],
        validators=[
            DataRequired(message=_l("Write a comment.")),
            Length(max=services.MAX_COMMENT_LENGTH),
        ],
    )
    submit = SubmitField(_l("Add comment"))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "comment")
        super().__init__(*args, **kwargs)


class ReplyForm(FlaskForm):
    subject = StringField(
        _l("Subject"),
        filters=[strip],
        description=_l("Keep the reference: the company's answer is filed by it."),
        validators=[DataRequired(message=_l("Write a subject.")), Length(max=250)],
    )
    body = TextAreaField(
        _l("Reply"),
        validators=[
            DataRequired(message=_l("Write the reply.")),
            Length(max=services.MAX_REPLY_LENGTH),
        ],
    )
    submit = SubmitField(_l("Send reply"))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "reply")
        super().__init__(*args, **kwargs)


class StatusForm(FlaskForm):
    status = SelectField(
        _l("New status"), validators=[DataRequired(message=_l("Choose a status."))]
    )
    closed_reason = SelectField(
        _l("Reason for closing"),
        choices=lambda: [SelectChoice("", _l("— Choose when closing —"))] + ClosedReason.choices(),
        default="",
        description=_l("Needed when the enquiry is closed."),
    )
    submit = SubmitField(_l("Change status"))

    def __init__(self, *args, statuses=(), **kwargs):
        kwargs.setdefault("prefix", "status")
        super().__init__(*args, **kwargs)
        self.status.choices = [SelectChoice(status.value, status.label) for status in statuses]

    def validate_closed_reason(self, field):
        if self.status.data == "closed" and not field.data:
            raise ValidationError(_l("Choose why the enquiry is closed."))


class TaskForm(FlaskForm):
    title = StringField(
        _l("Task"),
        filters=[strip],
        validators=[DataRequired(message=_l("Enter what is to be done.")), Length(max=300)],
    )
    due_date = DateField(_l("Due date"), validators=[Optional()])
    assignee_id = SelectField(_l("Assignee"), coerce=optional_id, default="")
    submit = SubmitField(_l("Add task"))

    def __init__(self, *args, users_with_counts=(), **kwargs):
        kwargs.setdefault("prefix", "task")
        super().__init__(*args, **kwargs)
        self.assignee_id.choices = _user_choices(users_with_counts, empty=_l("— Nobody —"))


class ConvertForm(FlaskForm):
    """Link or create the organisation and contact, and optionally log a first activity."""

    organisation_mode = RadioField(
        _l("Organisation"),
        choices=[
            SelectChoice("existing", _l("An existing organisation")),
            SelectChoice("new", _l("A new organisation")),
        ],
        default="existing",
    )
    organisation = OrganisationPickerField(
        _l("Existing organisation"),
        description=_l("Type part of the name and pick from the list, or type the exact name."),
    )
    org_name = StringField(
        _l("Name of the new organisation"), filters=[strip], validators=[Length(max=200)]
    )
    org_kind = SelectField(
        _l("Kind of the new organisation"),
        choices=OrganisationKind.choices,
        default=OrganisationKind.COMPANY.value,
    )

    contact_mode = RadioField(
        _l("Contact"),
        choices=[
            SelectChoice("existing", _l("An existing contact")),
            SelectChoice("new", _l("A new contact")),
        ],
        default="existing",
    )
    contact = ContactPickerField(
        _l("Existing contact"),
        description=_l("Type part of the name or the e-mail address and pick from the list."),
    )
    first_name = StringField(_l("First name"), filters=[strip], validators=[Length(max=100)])
    last_name = StringField(_l("Last name"), filters=[strip], validators=[Length(max=100)])
    email = EmailField(_l("E-mail"), filters=[strip], validators=[Length(max=254)])
    phone = StringField(_l("Phone"), filters=[strip], validators=[Length(max=50)])
    title = StringField(_l("Title"), filters=[strip], validators=[Length(max=200)])

    log_activity = BooleanField(_l("Also log a first activity"))
    activity_kind = SelectField(
        _l("Kind of activity"),
        choices=ActivityKind.choices,
        default=ActivityKind.DIALOGUE_MEETING.value,
    )
    activity_title = StringField(
        _l("Activity title"), filters=[strip], validators=[Length(max=300)]
    )
    activity_date = DateField(_l("Activity date"), validators=[Optional()], default=date.today)
    activity_outcome = TextAreaField(
        _l("Outcome"), filters=[strip], validators=[Length(max=services.MAX_OUTCOME_LENGTH)]
    )
    submit = SubmitField(_l("Convert enquiry"))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "convert")
        super().__init__(*args, **kwargs)

    def validate(self, extra_validators=None):
        super().validate(extra_validators)
        # What was typed into the part of the form that was not chosen does not count.
        ignored = []
        if self.organisation_mode.data == "new":
            ignored.append(self.organisation)
        if self.contact_mode.data == "new":
            ignored.append(self.contact)
        if not self.log_activity.data:
            ignored += [self.activity_title, self.activity_date, self.activity_outcome]
        for field in ignored:
            field.errors = []
        return not self.errors

    def validate_organisation(self, field):
        if self.organisation_mode.data == "existing" and field.data is None and not field.errors:
            raise ValidationError(_l("Pick the organisation, or choose a new one."))

    def validate_org_name(self, field):
        if self.organisation_mode.data == "new" and not field.data:
            raise ValidationError(_l("Enter the name of the new organisation."))

    def validate_contact(self, field):
        if self.contact_mode.data == "existing" and field.data is None and not field.errors:
            raise ValidationError(_l("Pick the contact, or choose a new one."))

    def validate_last_name(self, field):
        if self.contact_mode.data == "new" and not field.data:
            raise ValidationError(_l("Enter the contact's last name."))

    def validate_email(self, field):
        if self.contact_mode.data == "new" and field.data and not valid_address(field.data):
            raise ValidationError(_l("Enter a valid e-mail address."))

    def validate_activity_title(self, field):
        if self.log_activity.data and not field.data:
            raise ValidationError(_l("Enter the activity's title."))

    def validate_activity_date(self, field):
        if self.log_activity.data and field.data is None and not field.errors:
            raise ValidationError(_l("Enter the activity's date."))

    def service_arguments(self):
        """The keyword arguments for services.convert_enquiry."""
        arguments = {}
        if self.organisation_mode.data == "new":
            arguments["new_organisation"] = {"name": self.org_name.data, "kind": self.org_kind.data}
        else:
            arguments["organisation"] = self.organisation.data
        if self.contact_mode.data == "new":
            arguments["new_contact"] = {
                "first_name": self.first_name.data,
                "last_name": self.last_name.data,
                "email": self.email.data,
                "phone": self.phone.data,
                "title": self.title.data,
            }
        else:
            arguments["contact"] = self.contact.data
        if self.log_activity.data:
            arguments["activity"] = {
                "kind": self.activity_kind.data,
                "title": self.activity_title.data,
                "date": self.activity_date.data,
                "outcome": self.activity_outcome.data,
            }
        return arguments
