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
from crm.activities.services import status_for_date
from crm.agreements.models import Agreement
from crm.auth.models import User
from crm.core.forms import CompleteForm, optional_id, strip
from crm.extensions import db
from crm.organisations.fields import ContactPickerField, OrganisationPickerField

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
    description = TextAreaField(_l("Description"), filters=[strip])
    outcome = TextAreaField(_l("Outcome"), filters=[strip])
    is_public = BooleanField(_l("Show on the public website"))
    public_summary = TextAreaField(_l("Public summary"), filters=[strip])
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, activity=None, **kwargs):
        super().__init__(*args, **kwargs)
        current_agreement = activity.agreement_id if activity else None
        current_staff = [user.id for user in activity.staff] if activity else []
        self.agreement_id.choices = agreement_choices(current_agreement)
        self.staff.choices = staff_choices(current_staff)

    @classmethod
    def for_activity(cls, activity):
        form = cls(activity=activity, obj=activity)
        form.agreement_id.data = activity.agreement_id
        form.kind.data = activity.kind.value
        form.status.data = activity.status.value
        form.staff.data = [user.id for user in activity.staff]
        links = sorted(activity.organisations, key=lambda link: link.organisation.name)
        _fill(form.organisations, len(links), ORGANISATION_ROWS)
        for entry in form.organisations:
            entry.organisation.data = None
            entry.role.data = ActivityOrganisationRole.PARTICIPANT.value
        for entry, link in zip(form.organisations, links, strict=False):
            entry.organisation.data = link.organisation
            entry.role.data = link.role.value
        contacts = sorted(activity.contacts, key=lambda contact: contact.full_name)
        _fill(form.contacts, len(contacts), CONTACT_ROWS)
        for entry in form.contacts:
            entry.data = None
        for entry, contact in zip(form.contacts, contacts, strict=False):
            entry.data = contact
        return form

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
    organisation_1 = OrganisationPickerField(_l("Organisation"), description=PICKER_HINT)
    organisation_2 = OrganisationPickerField(_l("Second organisation"), description=PICKER_HINT)
    contact_1 = ContactPickerField(_l("Contact"), description=PICKER_HINT)
    contact_2 = ContactPickerField(_l("Second contact"), description=PICKER_HINT)
    outcome = TextAreaField(_l("Outcome"), filters=[strip])
    submit = SubmitField(_l("Save"))

    def data_for_service(self, *, staff, today):
        organisations = [
            (field.data, ActivityOrganisationRole.PARTICIPANT)
            for field in (self.organisation_1, self.organisation_2)
            if field.data is not None
        ]
        if len(organisations) == 2 and organisations[0][0].id == organisations[1][0].id:
            organisations = organisations[:1]
        return {
            "kind": ActivityKind(self.kind.data),
            "title": self.title.data,
            "start_date": self.start_date.data,
            "status": status_for_date(self.start_date.data, today),
            "outcome": self.outcome.data or None,
            "organisations": organisations,
            "contacts": [f.data for f in (self.contact_1, self.contact_2) if f.data is not None],
            "staff": [staff],
        }
