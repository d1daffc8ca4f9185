"""Forms of the activity pages: the full form and the quick-log."""

from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from crm.activities.models import ActivityKind, ActivityOrganisationRole, ActivityStatus
from crm.activities.quicklog_services import (
    similar_contacts,
    similar_organisations,
    split_contact_name,
)
from crm.activities.services import status_for_date
from crm.agreements.models import Agreement
from crm.auth.models import User
from crm.core.forms import CompleteForm, optional_id, strip
from crm.extensions import db
from crm.mail.services import valid_address
from crm.organisations.fields import (
    _TRAILING_ID,
    ContactPickerField,
    OrganisationPickerField,
    keeping,
)
from crm.organisations.models import OrganisationKind

ORGANISATION_ROWS = 3
CONTACT_ROWS = 3
MAX_ROWS = 30
PICKER_HINT = _l("Type part of the name and pick from the list, or type the exact name.")


def agreement_choices(current_id=None):
    agreements = db.session.scalars(
        sa.select(Agreement)
        .where(sa.or_(Agreement.deleted_at.is_(None), Agreement.id == current_id))
        .order_by(Agreement.title, Agreement.id)
    ).all()
    return [SelectChoice("", _l("— None —"))] + [
        SelectChoice(str(agreement.id), agreement.title) for agreement in agreements
    ]


def staff_choices(current_ids=()):
    users = db.session.scalars(
        sa.select(User)
        .where(sa.or_(User.active.is_(True), User.id.in_(list(current_ids) or [0])))
        .order_by(User.name)
    ).all()
    return [(user.id, user.name) for user in users]


class OrganisationRowForm(Form):
    """One organisation of the activity and its role (nested, so no CSRF of its own)."""

    organisation = OrganisationPickerField(_l("Organisation"), description=PICKER_HINT)
    role = SelectField(
        _l("Role"),
        choices=ActivityOrganisationRole.choices,
        default=ActivityOrganisationRole.PARTICIPANT.value,
    )


class ActivityForm(CompleteForm):
    kind = SelectField(
        _l("Kind"),
        choices=ActivityKind.choices,
        validators=[InputRequired(message=_l("Choose the kind."))],
    )
    title = StringField(
        _l("Title"),
        filters=[strip],
        validators=[DataRequired(message=_l("Enter a title.")), Length(max=300)],
    )
    start_date = DateField(
        _l("Start date"),
        default=date.today,
        validators=[InputRequired(message=_l("Enter the start date."))],
    )
    start_time = TimeField(_l("Start time"), validators=[Optional()])
    end_date = DateField(_l("End date"), validators=[Optional()])
    end_time = TimeField(_l("End time"), validators=[Optional()])
    place = StringField(_l("Place"), filters=[strip], validators=[Length(max=300)])
    is_online = BooleanField(_l("Online"))
    status = SelectField(
        _l("Status"), choices=ActivityStatus.choices, default=ActivityStatus.PLANNED.value
    )
    organisations = FieldList(
        FormField(OrganisationRowForm),
        label=_l("Organisations"),
        min_entries=ORGANISATION_ROWS,
        max_entries=MAX_ROWS,
    )
    contacts = FieldList(
        ContactPickerField(_l("Contact"), description=PICKER_HINT),
        label=_l("Contacts"),
        min_entries=CONTACT_ROWS,
        max_entries=MAX_ROWS,
    )
    staff = SelectMultipleField(
        _l("Staff"),
        coerce=int,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    agreement_id = SelectField(_l("Agreement"), coerce=optional_id, validate_choice=True)
    add_organisation = SubmitField(_l("Add another organisation"))
    add_contact = SubmitField(_l("Add another contact"))
    description = TextAreaField(_l("Description"), filters=[strip])
    outcome = TextAreaField(_l("Outcome"), filters=[strip])
    is_public = BooleanField(_l("Show on the public website"))
    public_summary = TextAreaField(_l("Public summary"), filters=[strip])
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, activity=None, **kwargs):
        with keeping(self.linked_records(activity) if activity else []):
            super().__init__(*args, **kwargs)
        current_agreement = activity.agreement_id if activity else None
        current_staff = [user.id for user in activity.staff] if activity else []
        self.agreement_id.choices = agreement_choices(current_agreement)
        self.staff.choices = staff_choices(current_staff)

    @staticmethod
    def linked_records(activity):
        """The organisations and contacts the activity is linked to now."""
        return [link.organisation for link in activity.organisations] + list(activity.contacts)

    @classmethod
    def for_activity(cls, activity, **kwargs):
        form = cls(activity=activity, obj=activity, **kwargs)
        form.agreement_id.data = activity.agreement_id
        form.kind.data = activity.kind.value
        form.status.data = activity.status.value
        form.staff.data = [user.id for user in activity.staff]
        links = sorted(activity.organisations, key=lambda link: link.organisation.name)
        # One empty row more than it has, so another organisation can always be added.
        _fill(form.organisations, len(links) + 1, ORGANISATION_ROWS)
        for entry in form.organisations:
            entry.organisation.data = None
            entry.role.data = ActivityOrganisationRole.PARTICIPANT.value
        for entry, link in zip(form.organisations, links, strict=False):
            entry.organisation.data = link.organisation
            entry.role.data = link.role.value
        contacts = sorted(activity.contacts, key=lambda contact: contact.full_name)
        _fill(form.contacts, len(contacts) + 1, CONTACT_ROWS)
        for entry in form.contacts:
            entry.data = None
        for entry, contact in zip(form.contacts, contacts, strict=False):
            entry.data = contact
        return form

    def wants_another_row(self):
        """Add a row when one of the "add another" buttons was pressed; True if so."""
        return _add_row(
            self, (self.add_organisation, self.organisations), (self.add_contact, self.contacts)
        )

    def validate_end_date(self, field):
        if field.data and self.start_date.data and field.data < self.start_date.data:
            raise ValidationError(_l("The end date cannot be before the start date."))

    def validate_public_summary(self, field):
        if self.is_public.data and not field.data:
            raise ValidationError(_l("Write a public summary, or untick “public”."))

    def data_for_service(self):
        staff = {
            user.id: user
            for user in db.session.scalars(
                sa.select(User).where(User.id.in_(self.staff.data or [0]))
            )
        }
        return {
            "kind": ActivityKind(self.kind.data),
            "title": self.title.data,
            "start_date": self.start_date.data,
            "start_time": self.start_time.data,
            "end_date": self.end_date.data,
            "end_time": self.end_time.data,
            "place": self.place.data or None,
            "is_online": self.is_online.data,
            "status": ActivityStatus(self.status.data),
            "agreement_id": self.agreement_id.data,
            "description": self.description.data or None,
            "outcome": self.outcome.data or None,
            "is_public": self.is_public.data,
            "public_summary": self.public_summary.data or None,
            "organisations": [
                (entry.organisation.data, ActivityOrganisationRole(entry.role.data))
                for entry in self.organisations
                if entry.organisation.data is not None
            ],
            "contacts": [entry.data for entry in self.contacts if entry.data is not None],
            "staff": [staff[user_id] for user_id in self.staff.data or [] if user_id in staff],
        }


def _fill(field_list, count, minimum):
    """Make `field_list` hold max(count, minimum) entries."""
    while len(field_list) < max(count, minimum):
        field_list.append_entry()


class _NewNameAllowed:
    """For a picker field: a name nobody has may be a new record rather than an error.

    `data` is the record named, or None; `new_name` holds a name no record has.
    """

    def process_formdata(self, valuelist):
        self.new_name = None
        try:
            super().process_formdata(valuelist)
        except ValueError:
            text = " ".join(_TRAILING_ID.sub("", self.raw_text).split())
            if not text or self.matches(text):
                raise
            self.new_name = text


class NewOrNamedOrganisationField(_NewNameAllowed, OrganisationPickerField):
    """An organisation picker where a name nobody has may be a new organisation."""


class NewOrNamedContactField(_NewNameAllowed, ContactPickerField):
    """A contact picker where a name nobody has may be a new contact."""


NEW = "new"


class QuickOrganisationRow(Form):
    """An organisation of the quick-log: picked, or new (nested, so no CSRF of its own)."""

    name = NewOrNamedOrganisationField(
        _l("Organisation"),
        description=_l("Pick from the list, or type the name of a new organisation."),
    )
    kind = SelectField(
        _l("Kind, if it is new"),
        choices=OrganisationKind.choices,
        default=OrganisationKind.COMPANY.value,
    )
    # Offered when the name is new and resembles organisations we have: which one is meant.
    choice = RadioField(_l("Which organisation do you mean?"), choices=[], validate_choice=False)


class QuickContactRow(Form):
    """A contact of the quick-log: picked, or new (nested, so no CSRF of its own)."""

    name = NewOrNamedContactField(
        _l("Contact"),
        description=_l("Pick from the list, or type the first and last name of a new contact."),
    )
    email = StringField(
        _l("E-mail, if it is new"), filters=[strip], validators=[Optional(), Length(max=254)]
    )
    choice = RadioField(_l("Which contact do you mean?"), choices=[], validate_choice=False)


def _add_row(form, *buttons_and_rows):
    """The "add another" buttons work without script: the pressed one adds an empty row and
    the form is shown again, with nothing saved."""
    if not form.is_submitted():
        return False
    for button, rows in buttons_and_rows:
        if button.data:
            if len(rows) < MAX_ROWS:
                rows.append_entry()
            return True
    return False


class QuickLogForm(FlaskForm):
    kind = SelectField(
        _l("Kind"),
        choices=ActivityKind.choices,
        default=ActivityKind.DIALOGUE_MEETING.value,
    )
    title = StringField(
        _l("Title"),
        filters=[strip],
        validators=[DataRequired(message=_l("Enter a title.")), Length(max=300)],
    )
    start_date = DateField(
        _l("Date"),
        default=date.today,
        validators=[InputRequired(message=_l("Enter the date."))],
    )
    organisations = FieldList(
        FormField(QuickOrganisationRow),
        label=_l("Organisations"),
        min_entries=1,
        max_entries=MAX_ROWS,
    )
    add_organisation = SubmitField(_l("Add another organisation"))
    contacts = FieldList(
        FormField(QuickContactRow), label=_l("Contacts"), min_entries=1, max_entries=MAX_ROWS
    )
    add_contact = SubmitField(_l("Add another contact"))
    outcome = TextAreaField(_l("Outcome"), filters=[strip])
    task_title = StringField(
        _l("Follow-up task"),
        filters=[strip],
        validators=[Length(max=300)],
        description=_l("Optional: what is to be done next. Leave empty for no task."),
    )
    task_due_date = DateField(
        _l("Due date"),
        validators=[Optional()],
        description=_l("Year-month-day, e.g. 2026-03-31. Leave empty for no due date."),
        invalid_value_message=_l(
            "This is not a date. Enter the due date as year-month-day, e.g. 2026-03-31."
        ),
    )
    task_assignee_id = SelectField(_l("Assignee"), coerce=optional_id, default="")
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, users=(), **kwargs):
        super().__init__(*args, **kwargs)
        # Plain names, not lazy strings: a lazy string counts as safe HTML, and names are not.
        self.task_assignee_id.choices = [SelectChoice("", _l("— Nobody —"))] + [
            SelectChoice(str(user.id), user.name) for user in users
        ]
        self._user_ids = {user.id for user in users}
        self._users = {user.id: user for user in users}

    def wants_another_row(self):
        """Add a row when one of the "add another" buttons was pressed; True if so."""
        return _add_row(
            self, (self.add_organisation, self.organisations), (self.add_contact, self.contacts)
        )

    def validate_task_due_date(self, field):
        if field.data and not self.task_title.data:
            raise ValidationError(_l("Write the follow-up task, or leave the due date empty."))

    def validate_task_assignee_id(self, field):
        if field.data is not None and field.data not in self._user_ids:
            raise ValidationError(_l("Choose an active member, coordinator or admin."))

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        for row in self.organisations:
            valid = self._resolve_organisation(row.form) and valid
        for row in self.contacts:
            valid = self._resolve_contact(row.form) and valid
        return valid

    def _resolve_organisation(self, row):
        row.resolved = row.name.data
        name = getattr(row.name, "new_name", None)
        if row.name.errors or not name:
            return not row.name.errors
        if len(name) > 200:
            row.name.errors = [*row.name.errors, _l("The name can be at most 200 characters.")]
            return False
        similar = similar_organisations(name)
        return self._resolve_new(
            row,
            similar,
            new={"name": name, "kind": row.kind.data},
            new_label=_l("A new organisation: %(name)s", name=name),
            message=_l(
                "There is no organisation called %(name)s. It may already exist under "
                "another name: pick it below, or choose to create a new one.",
                name=name,
            ),
            display=lambda organisation: organisation.name,
        )

    def _resolve_contact(self, row):
        row.resolved = row.name.data
        name = getattr(row.name, "new_name", None)
        if row.name.errors or not name:
            return not row.name.errors
        if "@" in name:
            row.name.errors = [
                *row.name.errors,
                _l(
                    "No contact has the e-mail address %(email)s. For a new contact, type "
                    "the name here and the address below.",
                    email=name,
                ),
            ]
            return False
        if row.email.data and not valid_address(row.email.data.lower()):
            row.email.errors = [*row.email.errors, _l("Enter a valid e-mail address.")]
            return False
        first, last = split_contact_name(name)
        if len(first) > 100 or len(last) > 100:
            row.name.errors = [*row.name.errors, _l("The name can be at most 200 characters.")]
            return False
        similar = similar_contacts(name, row.email.data)
        return self._resolve_new(
            row,
            similar,
            new={
                "first_name": first,
                "last_name": last,
                "email": (row.email.data or "").lower() or None,
            },
            new_label=_l("A new contact: %(name)s", name=name),
            message=_l(
                "There is no contact called %(name)s. It may already exist: pick it below, "
                "or choose to create a new one.",
                name=name,
            ),
            display=_contact_label,
        )

    def _resolve_new(self, row, similar, *, new, new_label, message, display):
        """A new name in `row`: new when nothing resembles it or the person confirmed it,
        else the record picked among the similar ones, else an error that offers them."""
        if not similar and row.choice.data in (None, "", NEW):
            row.resolved = new
            return True
        row.choice.choices = [(NEW, new_label)] + [
            (str(record.id), display(record)) for record in similar
        ]
        if row.choice.data == NEW:
            row.resolved = new
            return True
        # Only one of those offered for the name as it is now: a choice made for a name the
        # person has since changed does not count.
        picked = next((r for r in similar if str(r.id) == row.choice.data), None)
        if picked is not None:
            row.resolved = picked
            return True
        row.name.errors = [*row.name.errors, message]
        return False

    def data_for_service(self, *, staff, today):
        task = None
        if self.task_title.data:
            task = {
                "title": self.task_title.data,
                "due_date": self.task_due_date.data,
                "assignee": self._users.get(self.task_assignee_id.data),
            }
        return {
            "activity": {
                "kind": ActivityKind(self.kind.data),
                "title": self.title.data,
                "start_date": self.start_date.data,
                "status": status_for_date(self.start_date.data, today),
                "outcome": self.outcome.data or None,
                "staff": [staff],
            },
            "organisations": [
                row.form.resolved for row in self.organisations if row.form.resolved is not None
            ],
            "contacts": [
                row.form.resolved for row in self.contacts if row.form.resolved is not None
            ],
            "task": task,
        }


def _contact_label(contact):
    parts = [contact.full_name]
    if contact.email:
        parts.append(contact.email)
    if contact.organisation is not None:
        parts.append(contact.organisation.name)
    return ", ".join(parts)
