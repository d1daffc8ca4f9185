"""Forms of the agreement pages: the agreement form, the status buttons and confirmations."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from crm.agreements.lifecycle import next_statuses
from crm.agreements.models import AgreementKind, AgreementStatus, PartyRole
from crm.agreements.services import INITIAL_STATUSES
from crm.auth.forms import owner_choices
from crm.core.forms import CompleteForm, strip
from crm.core.records import parse_id
from crm.organisations.fields import OrganisationPickerField, keeping

PARTY_ROWS = 3
MAX_ROWS = 30
PICKER_HINT = _l("Type part of the name and pick from the list, or type the exact name.")


def _optional_id(value):
    if value in (None, "", "None"):
        return None
    return parse_id(value)


def status_choices(statuses):
    return [(status.value, status.label) for status in statuses]


class PartyRowForm(Form):
    """One party of the agreement and its role (nested, so no CSRF of its own)."""

    organisation = OrganisationPickerField(_l("Organisation"), description=PICKER_HINT)
    role = SelectField(_l("Role"), choices=PartyRole.choices, default=PartyRole.PARTY.value)


class AgreementForm(CompleteForm):
    kind = SelectField(
        _l("Kind"),
        choices=AgreementKind.choices,
        validators=[InputRequired(message=_l("Choose the kind."))],
    )
    title = StringField(
        _l("Title"),
        filters=[strip],
        validators=[DataRequired(message=_l("Enter a title.")), Length(max=300)],
    )
    parties = FieldList(
        FormField(PartyRowForm),
        label=_l("Parties"),
        min_entries=PARTY_ROWS,
        max_entries=MAX_ROWS,
    )
    our_signatory = StringField(
        _l("Our signatory"),
        filters=[strip],
        description=_l("Who signs, or signed, for us."),
        validators=[Length(max=200)],
    )
    status = SelectField(_l("Status"), default=AgreementStatus.DRAFT.value)
    signed_date = DateField(_l("Signed on"), validators=[Optional()])
    start_date = DateField(_l("Start date"), validators=[Optional()])
    end_date = DateField(
        _l("End date"),
        description=_l("Leave empty if it runs until further notice."),
        validators=[Optional()],
    )
    renewal_notice_days = IntegerField(
        _l("Renewal notice (days)"),
        default=90,
        description=_l("How many days before the end date to decide on renewal."),
        validators=[
            InputRequired(message=_l("Enter a number of days, 0 or more.")),
            NumberRange(min=0, max=3650, message=_l("Enter a number of days from 0 to 3650.")),
        ],
    )
    owner_id = SelectField(_l("Owner"), coerce=_optional_id, validate_choice=True)
    description = TextAreaField(_l("Description"), filters=[strip])
    is_public = BooleanField(_l("Show on the public website"))
    covers_members = BooleanField(
        _l("Covers the members of the associations that sign it"),
    )
    submit = SubmitField(_l("Save"))
    # Messages about the parties as a whole (none named, one named twice), set by the view.
    parties_list_errors = ()

    def __init__(self, *args, agreement=None, **kwargs):
        with keeping(self.linked_records(agreement) if agreement else []):
            super().__init__(*args, **kwargs)
        self.owner_id.choices = owner_choices(agreement.owner_id if agreement else None)
        statuses = next_statuses(agreement.status) if agreement else INITIAL_STATUSES
        self.status.choices = status_choices(statuses)
        self.status.validate_choice = True

    @staticmethod
    def linked_records(agreement):
        """The organisations that are the agreement's parties now."""
        return [party.organisation for party in agreement.parties]

    @classmethod
    def for_agreement(cls, agreement, **kwargs):
        form = cls(agreement=agreement, obj=agreement, **kwargs)
        form.kind.data = agreement.kind.value
        form.status.data = agreement.status.value
        form.owner_id.data = agreement.owner_id
        parties = sorted(agreement.parties, key=lambda party: party.organisation.name.lower())
        while len(form.parties) < max(len(parties) + 1, PARTY_ROWS):
            form.parties.append_entry()
        for entry in form.parties:
            entry.organisation.data = None
            entry.role.data = PartyRole.PARTY.value
        for entry, party in zip(form.parties, parties, strict=False):
            entry.organisation.data = party.organisation
            entry.role.data = party.role.value
        return form

    def data_for_service(self):
        return {
            "kind": AgreementKind(self.kind.data),
            "title": self.title.data,
            "status": AgreementStatus(self.status.data),
            "our_signatory": self.our_signatory.data or None,
            "signed_date": self.signed_date.data,
            "start_date": self.start_date.data,
            "end_date": self.end_date.data,
            "renewal_notice_days": self.renewal_notice_days.data,
            "owner_id": self.owner_id.data,
            "description": self.description.data or None,
            "is_public": self.is_public.data,
            "covers_members": self.covers_members.data,
            "parties": [
                (entry.organisation.data, PartyRole(entry.role.data))
                for entry in self.parties
                if entry.organisation.data is not None
            ],
        }


class StatusForm(FlaskForm):
    """One of the detail page's status buttons: the CSRF token and the status to move to."""

    status = SelectField(_l("Status"), choices=AgreementStatus.choices)
