"""Forms of the CSV import: the upload, and the confirmation after a dry run."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired, FileSize
from wtforms import BooleanField, HiddenField, SubmitField
from wtforms.validators import DataRequired

from crm.organisations.import_services import MAX_IMPORT_BYTES


class ImportUploadForm(FlaskForm):
    file = FileField(
        _l("CSV file"),
        validators=[
            FileRequired(_l("Choose a CSV file to import.")),
            FileAllowed(["csv", "txt"], _l("Choose a file ending in .csv.")),
            FileSize(
                MAX_IMPORT_BYTES,
                message=_l("The file is larger than 1 MB. Split it into smaller files."),
            ),
        ],
        description=_l("Comma- or semicolon-separated, UTF-8 or Windows text, at most 1 MB."),
        render_kw={"accept": ".csv,text/csv"},
    )
    dry_run = BooleanField(_l("Dry run only (write nothing)"), default=True)
    submit = SubmitField(_l("Upload"))


class ImportConfirmForm(FlaskForm):
    """Re-posts the content of a dry run for the real import, so it need not be uploaded again.

    The content comes from the browser: it is checked exactly like an upload.
    """

    content = HiddenField(validators=[DataRequired()])
