"""The built-in privacy notice, shown until an admin publishes one, and its first version."""

from flask_babel import force_locale
from flask_babel import gettext as _

from crm.settings import services as settings


def default_notice_text(language, *, retention_months, email_retention_months):
    """The built-in notice as plain text in `language`: the first version's text."""
    values = settings.get_many(
        ["office_name", "office_name_sv", "office_name_en", "data_controller"]
    )
    controller = values["data_controller"] or settings.office_name(language, values)
    with force_locale(language):
        paragraphs = default_notice(controller, retention_months, email_retention_months)
    return "\n\n".join(f"{heading}\n{text}" for heading, text in paragraphs)


def default_notice(controller, retention_months, email_retention_months):
    """The built-in notice: [(heading, paragraph)], in the current language."""
    return [
        (
            _("Who is responsible"),
            _(
                "%(controller)s is the data controller for the personal data in this system. "
                "Contact us through the contact form or the address on our website if you have "
                "questions about how we process your personal data.",
                controller=controller,
            ),
        ),
        (
            _("What we process and why"),
            _(
                "We process the names, contact details, titles and organisations of people we "
                "collaborate with or who contact us, and what they write to us, in order to "
                "answer enquiries, plan and follow up collaboration, and keep agreements."
            ),
        ),
        (
            _("Legal basis"),
            _(
                "We process the data to perform a task in the public interest and on the basis "
                "of our legitimate interest in collaborating with industry. When you send an "
                "enquiry, we process your data to answer it."
            ),
        ),
        (
            _("How long we keep it"),
            _(
                "Enquiries are anonymised %(months)s months after they are closed, unless rules "
                "on public records require us to keep them. Contact details are kept while the "
                "collaboration lasts.",
                months=retention_months,
            )
            + " "
            + _(
                "E-mail exchanged with us is kept with the enquiry it belongs to; other e-mail "
                "is deleted after %(months)s months.",
                months=email_retention_months,
            ),
        ),
        (
            _("Your rights"),
            _(
                "You have the right to know what data we hold about you and to get a copy of it, "
                "to have wrong data corrected, to have data erased or its processing restricted, "
                "and to object to the processing."
            ),
        ),
        (
            _("Complaints"),
            _(
                "If you think we process your personal data wrongly, you can complain to the "
                "Swedish Authority for Privacy Protection (Integritetsskyddsmyndigheten, IMY), "
                "www.imy.se."
            ),
        ),
    ]
