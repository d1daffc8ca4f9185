"""Forms of the contact pages."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, ValidationError

from crm.auth.forms import owner_choices
from crm.core.forms import CompleteForm, strip
from crm.organisations.fields import ContactPickerField, OrganisationPickerField, keeping
from crm.organisations.models import LegalBasis

# Rows for other affiliations the form offers; more are kept when a contact already has them.
AFFILIATION_ROWS = 3
MAX_AFFILIATION_ROWS = 20


def _email(value):
    value = (value or "").strip().lower()
    return value or None


def _optional_id(value):
    """SelectField coerce for an optional id: "" (nobody) is None."""
    if value in (None, "", "None"):
        return None
    return int(value)


class AffiliationForm(Form):
    """One other organisation the contact is affiliated with (nested, so no CSRF of its own)."""

    organisation = OrganisationPickerField(
        _l("Organisation"),
        description=_l("Type part of the name and pick from the list, or type the exact name."),
    )
    role = StringField(_l("Role there"), filters=[strip], validators=[Length(max=200)])

    def validate_role(self, field):
        if field.data and self.organisation.data is None and not self.organisation.errors:
            raise ValidationError(_l("Pick the organisation this role is at."))


class ContactForm(CompleteForm):
    first_name = StringField(_l("First name"), filters=[strip], validators=[Length(max=100)])
    last_name = StringField(
        _l("Last name"),
        filters=[strip],
        validators=[DataRequired(message=_l("Enter the last name.")), Length(max=100)],
    )
    email = EmailField(
        _l("E-mail"),
        filters=[_email],
        validators=[
            Optional(),
            Email(message=_l("Enter a valid e-mail address.")),
            Length(max=254),
        ],
    )
    phone = StringField(_l("Phone"), filters=[strip], validators=[Length(max=50)])
    title = StringField(_l("Title"), filters=[strip], validators=[Length(max=200)])
    organisation = OrganisationPickerField(
        _l("Organisation"),
        description=_l("Type part of the name and pick from the list, or type the exact name."),
    )
    affiliations = FieldList(
        FormField(AffiliationForm),
        label=_l("Other affiliations"),
        min_entries=AFFILIATION_ROWS,
        max_entries=MAX_AFFILIATION_ROWS,
    )
    legal_basis = RadioField(
        _l("Legal basis for keeping this contact"),
        choices=LegalBasis.choices,
        # Missing and unknown values both fail the choice check, with this one message.
        invalid_choice_message=_l("Choose the legal basis."),
    )
    do_not_contact = BooleanField(_l("Do not contact this person"))
    notes = TextAreaField(_l("Notes"), filters=[strip])
    owner_id = SelectField(_l("Owner"), coerce=_optional_id, validate_choice=True)
    create_anyway = BooleanField(_l("Create anyway: this is a different person"))
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, contact=None, **kwargs):
        """`contact`: the one being edited (its owner stays a choice, its links may stay
        though deleted); None for a new contact."""
        with keeping(self.linked_records(contact) if contact else []):
            super().__init__(*args, **kwargs)
        self.owner_id.choices = owner_choices(contact.owner_id if contact else None)

    @staticmethod
    def linked_records(contact):
        """The organisations the contact is linked to now."""
        linked = [affiliation.organisation for affiliation in contact.affiliations]
        return linked + ([contact.organisation] if contact.organisation else [])

    def data_for_service(self):
        """The validated form as the data services.create_contact/update_contact take."""
        organisation = self.organisation.data
        return {
            "first_name": self.first_name.data or "",
            "last_name": self.last_name.data,
            "email": self.email.data,
            "phone": self.phone.data or None,
            "title": self.title.data or None,
            "organisation_id": organisation.id if organisation else None,
            "notes": self.notes.data or None,
            "legal_basis": LegalBasis(self.legal_basis.data),
            "do_not_contact": self.do_not_contact.data,
            "owner_id": self.owner_id.data,
            "affiliations": [
                (entry.organisation.data.id, entry.role.data or None)
                for entry in self.affiliations
                if entry.organisation.data is not None
            ],
        }


class ContactDeleteForm(FlaskForm):
    submit = SubmitField(_l("Delete contact"))


class MergePickForm(FlaskForm):
    """Step one of a merge: which contact is the duplicate that goes away."""

    duplicate = ContactPickerField(
        _l("Duplicate to merge into this contact"),
        description=_l("Type part of the name or the e-mail address and pick from the list."),
        validators=[InputRequired(message=_l("Pick the duplicate contact."))],
    )
    submit = SubmitField(_l("Continue"))

    def __init__(self, *args, keep, **kwargs):
        super().__init__(*args, **kwargs)
        self.keep = keep

    def validate_duplicate(self, field):
        if field.data is not None and field.data.id == self.keep.id:
            raise ValidationError(_l("A contact cannot be merged with itself."))


class MergeConfirmForm(FlaskForm):
    """Step two: the person has seen both records and confirms."""

    remove_id = HiddenField()
    submit = SubmitField(_l("Merge"))
