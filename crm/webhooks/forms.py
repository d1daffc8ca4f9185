"""The forms of the webhook pages."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError

from crm.auth.profile_forms import CheckboxesField
from crm.core.forms import CompleteForm, strip
from crm.webhooks.addresses import MAX_URL_LENGTH
from crm.webhooks.models import EVENTS
from crm.webhooks.services import MAX_DESCRIPTION_LENGTH


class WebhookForm(CompleteForm):
    """A new webhook, or a change to one. Whether the address may be used is the service's
    check (crm.webhooks.addresses), shown on the address field."""

    url = StringField(
        _l("Address (URL)"),
        description=_l(
            "Where the receiver accepts the events, starting with https://, e.g. "
            "https://example.org/hooks/crm."
        ),
        filters=[strip],
        validators=[
            DataRequired(message=_l("Enter the address to send the events to.")),
            Length(max=MAX_URL_LENGTH),
        ],
    )
    description = StringField(
        _l("Description"),
        description=_l("What receives the events, for whoever reads this list next."),
        filters=[strip],
        validators=[Length(max=MAX_DESCRIPTION_LENGTH)],
    )
    events = CheckboxesField(
        _l("Events"),
        description=_l("The events this webhook is sent."),
        choices=[SelectChoice(name, label) for name, label in EVENTS.items()],
    )
    active = BooleanField(_l("Active: send the events"), default=True)
    submit = SubmitField(_l("Save webhook"))

    def validate_events(self, field):
        # Not DataRequired: its flag would make a browser require every box.
        if not field.data:
            raise ValidationError(_l("Choose at least one event."))

    def data_for_service(self):
        return {
            "url": self.url.data,
            "description": self.description.data,
            "events": self.events.data,
            "active": self.active.data,
        }
