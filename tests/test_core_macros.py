"""The shared form macros show every kind of WTForms error as readable text."""

from flask import render_template_string
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FieldList, StringField
from wtforms.validators import DataRequired


class _Form(FlaskForm):
    class Meta:
        csrf = False

    name = StringField(_l("Name"), validators=[DataRequired(message=_l("Enter the name."))])
    aliases = FieldList(StringField("Alias", validators=[DataRequired(message="Alias needed.")]))


def test_error_summary_reads_lazy_plain_and_list_errors(app):
    with app.test_request_context(
        method="POST", data={"aliases-0": ""}, headers={"Accept-Language": "en"}
    ):
        form = _Form()
        assert not form.validate()
        html = render_template_string(
            '{% from "_macros.html" import form_errors %}{{ form_errors(form) }}', form=form
        )
    assert "Enter the name." in html
    assert "Alias needed." in html
    assert "E n t e r" not in html
