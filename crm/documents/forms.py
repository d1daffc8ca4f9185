"""Forms for uploading documents, replacing their files and editing their details."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class DocumentUploadForm(FlaskForm):
    file = FileField(
        _l("File"),
        validators=[FileRequired(message=_l("Choose a file to upload."))],
        description=_l("PDF, Word, Excel, PowerPoint, images (PNG, JPEG, GIF), text or CSV."),
    )
    title = StringField(
        _l("Title"),
        validators=[Optional(), Length(max=300)],
        description=_l("Leave empty to use the file name."),
    )
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    is_public = BooleanField(_l("Public: may be shown on the public collaboration page"))


class DocumentReplaceForm(FlaskForm):
    file = FileField(
        _l("New file"),
        validators=[FileRequired(message=_l("Choose a file to upload."))],
        description=_l(
            "The current file is kept as an earlier version. "
            "PDF, Word, Excel, PowerPoint, images (PNG, JPEG, GIF), text or CSV."
        ),
    )


class DocumentEditForm(FlaskForm):
    title = StringField(
        _l("Title"),
        validators=[DataRequired(message=_l("Enter a title.")), Length(max=300)],
    )
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    is_public = BooleanField(_l("Public: may be shown on the public collaboration page"))
