"""Forms for organisations and their memberships."""

import re
from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from crm.auth.forms import owner_choices
from crm.core.forms import CompleteForm
from crm.core.text import InvalidOrgNumber, fold, normalise_domain, normalise_org_number
from crm.core.text import normalise_website as _normalise_website
from crm.extensions import db
from crm.organisations.models import (
    PARTNER_LABEL,
    Organisation,
    OrganisationKind,
    Sector,
    SizeClass,
    may_be_partner,
)

_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
_LIST_SEPARATORS = re.compile(r"[\s,;]+")
MAX_TAG_LENGTH = 60
PARTNER_REFUSED = _l(
    "A company cannot be a GMS partner: the partners are the healthcare regions and "
    "universities that run GMS. Untick the box or choose another kind."
)


class MultiCheckboxField(SelectMultipleField):
    """A group of checkboxes, one per choice."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def split_list(text, separators=_LIST_SEPARATORS):
    return [item for item in separators.split(text or "") if item]


def parse_tags(text):
    """Comma-separated tags, folded as they are stored ("Oncology" is "oncology")."""
    return list(dict.fromkeys(fold(tag) for tag in (text or "").split(",") if fold(tag)))


class OrganisationForm(CompleteForm):
    kind = SelectField(
        _l("Kind"), choices=OrganisationKind.choices, default=OrganisationKind.COMPANY.value
    )
    name = StringField(
        _l("Name"),
        validators=[DataRequired(message=_l("Enter the name.")), Length(max=200)],
    )
    org_number = StringField(
        _l("Organisation number"),
        validators=[Length(max=20)],
        description=_l("Swedish organisation number, NNNNNN-NNNN. Optional."),
    )
    website = StringField(_l("Website"), validators=[Length(max=300)])
    email_domains = TextAreaField(
        _l("E-mail domains"),
        validators=[Length(max=2000)],
        description=_l(
            "Used to match enquiries to this organisation, e.g. example.se. "
            "Separate several with commas or new lines."
        ),
    )
    country = StringField(
        _l("Country"),
        default="SE",
        validators=[DataRequired(message=_l("Enter a two-letter country code."))],
        description=_l("Two-letter code, e.g. SE."),
    )
    city = StringField(_l("City"), validators=[Length(max=120)])
    sectors = MultiCheckboxField(_l("Sectors"), choices=Sector.choices)
    size_class = SelectField(
        _l("Size"),
        choices=lambda: [SelectChoice("", _l("Not known"))] + SizeClass.choices(),
        default="",
    )
    description = TextAreaField(_l("Description"), validators=[Length(max=10_000)])
    tags = StringField(
        _l("Tags"),
        validators=[Length(max=1000)],
        description=_l("Separate tags with commas."),
    )
    is_partner = BooleanField(PARTNER_LABEL)
    owner_id = SelectField(_l("Owner"), default="", description=_l("The responsible person."))
    confirm_duplicate = BooleanField(
        _l("Create anyway: this is not one of the organisations above")
    )
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, organisation=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        self.owner_id.choices = owner_choices(
            organisation.owner_id if organisation else None, blank=_l("No owner")
        )
        self._normalised = {}

    @classmethod
    def for_organisation(cls, organisation, **kwargs):
        """The form prefilled from a saved organisation (its collections as text)."""
        return cls(
            organisation=organisation,
            data={
                "kind": organisation.kind.value,
                "name": organisation.name,
                "org_number": organisation.org_number or "",
                "website": organisation.website or "",
                "email_domains": ", ".join(item.domain for item in organisation.email_domains),
                "country": organisation.country,
                "city": organisation.city or "",
                "sectors": [str(value) for value in organisation.sector_values],
                "size_class": organisation.size_class.value if organisation.size_class else "",
                "description": organisation.description or "",
                "tags": ", ".join(tag.name for tag in organisation.tags),
                "is_partner": organisation.is_partner,
                "owner_id": str(organisation.owner_id or ""),
            },
            **kwargs,
        )

    def validate_name(self, field):
        field.data = " ".join((field.data or "").split())
        if not field.data:
            raise ValidationError(_l("Enter the name."))

    def validate_org_number(self, field):
        try:
            number = normalise_org_number(field.data)
        except InvalidOrgNumber as error:
            if str(error) == "check_digit":
                raise ValidationError(
                    _l(
                        "The organisation number's check digit is wrong. "
                        "Check the number for typing errors."
                    )
                ) from None
            raise ValidationError(
                _l("Enter the organisation number as ten digits, NNNNNN-NNNN.")
            ) from None
        if number:
            existing = db.session.scalar(
                sa.select(Organisation).where(Organisation.org_number == number)
            )
            if existing is not None and (
                self.organisation is None or existing.id != self.organisation.id
            ):
                if existing.is_deleted:
                    message = _l(
                        "The deleted organisation %(name)s has this organisation number. "
                        "A coordinator can restore it.",
                        name=existing.name,
                    )
                else:
                    message = _l(
                        "%(name)s already has this organisation number.", name=existing.name
                    )
                raise ValidationError(message)
        self._normalised["org_number"] = number

    def validate_website(self, field):
        try:
            self._normalised["website"] = _normalise_website(field.data)
        except ValueError:
            raise ValidationError(_l("Enter a web address such as https://example.se.")) from None

    def validate_email_domains(self, field):
        domains = []
        for item in split_list(field.data):
            try:
                domains.append(normalise_domain(item))
            except ValueError:
                raise ValidationError(
                    _l("“%(domain)s” is not an e-mail domain such as example.se.", domain=item)
                ) from None
        self._normalised["email_domains"] = list(dict.fromkeys(domains))

    def validate_country(self, field):
        value = (field.data or "").strip()
        if not _COUNTRY.match(value):
            raise ValidationError(_l("Enter a two-letter country code, e.g. SE."))
        field.data = value.upper()

    def validate_is_partner(self, field):
        if field.data and not may_be_partner(self.kind.data):
            raise ValidationError(PARTNER_REFUSED)

    def validate_tags(self, field):
        tags = parse_tags(field.data)
        for tag in tags:
            if len(tag) > MAX_TAG_LENGTH:
                raise ValidationError(
                    _l("A tag can be at most %(count)d characters long.", count=MAX_TAG_LENGTH)
                )
        self._normalised["tags"] = tags

    def data_for_service(self):
        """The validated, normalised values, as the organisation services take them."""
        return {
            "kind": OrganisationKind(self.kind.data),
            "name": self.name.data,
            "org_number": self._normalised.get("org_number"),
            "website": self._normalised.get("website"),
            "email_domains": self._normalised.get("email_domains", []),
            "country": self.country.data,
            "city": (self.city.data or "").strip() or None,
            "sectors": [Sector(value) for value in self.sectors.data or []],
            "size_class": SizeClass(self.size_class.data) if self.size_class.data else None,
            "description": (self.description.data or "").strip() or None,
            "tags": self._normalised.get("tags", []),
            "is_partner": bool(self.is_partner.data),
            "owner_id": int(self.owner_id.data) if self.owner_id.data else None,
        }


class AddMembershipForm(FlaskForm):
    association_id = SelectField(
        _l("Association"),
        coerce=int,
        validators=[InputRequired(message=_l("Choose an association."))],
    )
    since = DateField(_l("Member since"), validators=[Optional()])
    submit = SubmitField(_l("Add membership"))

    def __init__(self, *args, associations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.association_id.choices = [
            SelectChoice(association.id, association.name) for association in associations
        ]


class EndMembershipForm(CompleteForm):
    until = DateField(
        _l("Membership ended on"),
        default=date.today,
        validators=[InputRequired(message=_l("Enter the date the membership ended."))],
    )
    next = HiddenField()
    submit = SubmitField(_l("End membership"))

    def __init__(self, *args, membership=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.membership = membership

    def validate_until(self, field):
        since = self.membership.since if self.membership else None
        if since and field.data and field.data < since:
            raise ValidationError(
                _l("The end date cannot be before the membership began (%(date)s).", date=since)
            )


class MergeForm(FlaskForm):
    remove_id = HiddenField(validators=[DataRequired()])
    submit = SubmitField(_l("Merge"))
