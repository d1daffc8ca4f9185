"""The profile form: a user's own, and the base of the admin's form for any user."""

import re

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from crm.auth import profiles
from crm.core.forms import CompleteForm, save_or_show_error, strip
from crm.core.images import MAX_IMAGE_BYTES
from crm.core.topics import Topic

# What a phone number is written with, in Sweden and abroad: +46 (0)31-123 45 67.
_PHONE = re.compile(r"^\+?[0-9 ()/.\-]{3,50}$")


class CheckboxesField(SelectMultipleField):
    """A group of checkboxes, one per choice."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def language_choices():
    return [SelectChoice("sv", _l("Swedish")), SelectChoice("en", _l("English"))]


class ProfileForm(CompleteForm):
    name = StringField(
        _l("Name"),
        filters=[strip],
        validators=[DataRequired(message=_l("Enter a name.")), Length(max=200)],
    )
    title = StringField(
        _l("Title"),
        description=_l('Your role at the office, e.g. "Innovation advisor".'),
        filters=[strip],
        validators=[Length(max=200)],
    )
    phone = StringField(_l("Phone"), filters=[strip], validators=[Length(max=50)])
    language = SelectField(
        _l("Language"),
        description=_l("The language of the pages and of the e-mails you get."),
        choices=language_choices(),
    )
    topics = CheckboxesField(
        _l("Topics of expertise"),
        description=_l("Enquiries about these topics are suggested to you."),
        choices=Topic.choices,
    )
    photo = FileField(
        _l("Photo"),
        description=_l(
            "Shown with your name on the public page if you are a public contact person. "
            "PNG, JPEG or WebP, at most %(size)d MB.",
            size=MAX_IMAGE_BYTES // (1024 * 1024),
        ),
    )
    remove_photo = BooleanField(_l("Remove the photo"))
    # The page says beside it what is then shown (a checkbox's label carries no hint).
    is_public_contact = BooleanField(_l("Show me as a contact person on the public page"))
    submit = SubmitField(_l("Save"))

    def validate_phone(self, field):
        if field.data and not _PHONE.match(field.data):
            raise ValidationError(
                _l("Enter the phone number with digits, spaces and + - ( ) only.")
            )

    @classmethod
    def for_user(cls, user, **data):
        """The form filled from `user`; on a GET its topics too (a POST brings its own)."""
        form = cls(obj=user, **data)
        if not form.is_submitted():
            form.topics.data = [topic.value for topic in profiles.topics_of(user)]
        return form

    def values(self):
        """The fields a user changes on their own profile, as the service takes them."""
        return {
            "name": self.name.data,
            "title": self.title.data,
            "phone": self.phone.data,
            "language": self.language.data,
            "is_public_contact": self.is_public_contact.data,
        }

    def save(self, user, *, actor):
        """Store the form on `user` (fields, topics, photo) with one audit entry; what
        changed ({field: [old, new]}), or None when an error is shown on the form and
        nothing was stored."""
        upload = self.photo.data
        return save_or_show_error(
            self,
            lambda: profiles.update_user(
                user,
                self.values(),
                topics=self.topics.data,
                # None when no file was chosen.
                photo=upload if upload and getattr(upload, "filename", None) else None,
                remove_photo=self.remove_photo.data,
                actor=actor,
            ),
        )
