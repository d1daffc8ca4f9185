"""Forms of the outbox page."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SubmitField


class RetryForm(FlaskForm):
    """Send a failed message again: nothing to fill in but the CSRF token."""

    next = HiddenField()
    submit = SubmitField(_l("Send again"))
