from flask_wtf import FlaskForm


class NotificationActionForm(FlaskForm):
    """The CSRF token for opening a notification and for "mark all read"."""
