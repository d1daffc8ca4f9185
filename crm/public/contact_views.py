"""The public contact form: an enquiry in Swedish or English, guarded against bots."""

from types import SimpleNamespace

from flask import (
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from crm.core.security import public_route
from crm.enquiries import bots, intake
from crm.extensions import db, limiter
from crm.privacy.services import notice_id_for_new_enquiry
from crm.public import contact_bp
from crm.public.contact_forms import EnquiryForm, issue_form_token, read_form_token
from crm.settings import services as settings

# A filled-in form is a few kilobytes (a 5,000-character message of emoji, URL-encoded, is
# 60 kB); anything much larger is not a person's enquiry and is refused before it is read.
MAX_REQUEST_BYTES = 128 * 1024
# Where the thank-you page finds the reference of what its visitor sent.
RECEIPT_KEY = "contact_receipt"


@contact_bp.before_request
def _limit_request_size():
    request.max_content_length = MAX_REQUEST_BYTES
    if request.content_length is not None and request.content_length > MAX_REQUEST_BYTES:
        abort(413)


def _contact_rate_limit():
    return current_app.config["CONTACT_RATE_LIMIT"]


@contact_bp.route("/contact", methods=["GET", "POST"])
@public_route
@limiter.limit(_contact_rate_limit, methods=["POST"])
def form():
    """Public: the enquiry form; a valid submission answers with the thank-you page."""
    language = _language()
    form = EnquiryForm()
    if request.method == "POST":
        return _receive(form, language)
    consent = _current_consent(language)
    _fresh_hidden_fields(form, consent, language)
    return _render_form(form, consent)


def _receive(form, language):
    if form.honeypot_filled:
        # A bot: it sees what a person would, and nothing is kept but the count.
        _count_turned_away("honeypot filled in")
        session.pop(RECEIPT_KEY, None)
        return _to_thanks(language)

    token = read_form_token(form.form_token.data)
    consent = None
    if token is not None:
        consent = intake.consent_text_shown(form.consent_text_id.data, token.language)
    fields_valid = form.validate_on_submit()
    stale = token is None or consent is None or token.language != language
    too_fast = (
        not stale and token.seconds_since_shown < current_app.config["CONTACT_MIN_FILL_SECONDS"]
    )
    if stale or too_fast:
        # Expired, forged or sent faster than a person types: keep nothing, but let a person
        # send what they typed again with a fresh form token.
        if too_fast:
            _count_turned_away("sent too fast")
        consent = _current_consent(language)
        _fresh_hidden_fields(form, consent, language)
        problem = _(
            "Your enquiry has not been sent yet. Please check the details below and send the "
            "form again."
        )
        return _render_form(form, consent, problem=problem)
    if not fields_valid:
        return _render_form(form, consent)

    data = form.data_for_service(
        consent_text_id=consent.id, submission_token=token.submission_token
    )
    # The consent text as shown, apart from the session: if the database goes away while the
    # enquiry is stored, the form still comes back with what was typed.
    consent = SimpleNamespace(id=consent.id, body=consent.body)
    try:
        received = intake.submit_enquiry(
            data, language=language, privacy_notice_id=notice_id_for_new_enquiry()
        )
        db.session.commit()
    except IntegrityError:
        # The same form sent twice at once: the other request stored it first.
        db.session.rollback()
        received = intake.find_by_submission_token(token.submission_token)
        if received is None:
            current_app.logger.exception("Contact form: the enquiry could not be stored")
            return _not_received(form, consent)
    except Exception:
        # Never a thank-you for an enquiry that was not kept (database down, outbox refused).
        _rollback_quietly()
        current_app.logger.exception("Contact form: the enquiry could not be stored")
        return _not_received(form, consent)
    # Post/redirect/get: reloading the thank-you page shows it again rather than offering to
    # send the form twice. The reference travels in the sender's own session, so the page
    # shows it to them and to nobody else. Only the reference: the session cookie is signed,
    # not encrypted, so whoever holds it can read what is in it.
    session[RECEIPT_KEY] = {"reference": received.reference}
    return _to_thanks(language)


def _count_turned_away(reason):
    try:
        bots.count_turned_away(reason)
        db.session.commit()
    except SQLAlchemyError:
        # Only a statistic: the visitor's answer does not depend on it, and with the database
        # gone every bot of a flood would otherwise add a line to the log.
        _rollback_quietly()


@contact_bp.route("/contact/thanks")
@public_route
def thanks():
    """Public: the page after sending the form, with the reference number it was given."""
    return _no_store(render_template("contact/thanks.html", receipt=session.get(RECEIPT_KEY)))


def _to_thanks(language):
    response = redirect(url_for("contact.thanks", lang=language), 303)
    response.headers["Cache-Control"] = "no-store"
    return response


def _not_received(form, consent):
    problem = _(
        "Sorry, your enquiry could not be received because of a fault on our side. "
        "What you wrote is kept below: please try sending it again in a few minutes."
    )
    return _render_form(form, consent, problem=problem, status=503)


def _language():
    languages = current_app.config["LANGUAGES"]
    language = str(get_locale() or languages[0])
    return language if language in languages else languages[0]


def _current_consent(language):
    """The consent text to show, committed if it had to be created from the default."""
    try:
        consent = intake.current_consent_text(language)
        db.session.commit()
    except IntegrityError:
        # Another first visitor created it at the same moment.
        db.session.rollback()
        consent = intake.current_consent_text(language)
    return consent


def _fresh_hidden_fields(form, consent, language):
    form.consent_text_id.data = str(consent.id)
    form.form_token.data = issue_form_token(language)


def _render_form(form, consent, *, problem=None, status=200):
    language = _language()
    other_language = next(
        (code for code in current_app.config["LANGUAGES"] if code != language), None
    )
    values = _office_settings(
        ["office_name", "office_name_sv", "office_name_en", "data_controller"]
    )
    html = render_template(
        "contact/form.html",
        form=form,
        consent=consent,
        language=language,
        other_language=other_language,
        office_name=settings.office_name(language, values),
        data_controller=values["data_controller"],
        problem=problem,
    )
    return _no_store(html, status)


def _office_settings(keys):
    try:
        return settings.get_many(keys)
    except SQLAlchemyError:
        # The database has gone away (so the enquiry was not stored): the built-in values,
        # so that the visitor still gets the form back with what they typed.
        _rollback_quietly()
        return {key: settings.DEFAULTS.get(key) for key in keys}


def _rollback_quietly():
    try:
        db.session.rollback()
    except SQLAlchemyError:
        pass  # the connection is gone and has been dropped from the pool


def _no_store(html, status=200):
    # The page carries this visitor's form and CSRF tokens (or their reference): no caching.
    response = make_response(html, status)
    response.headers["Cache-Control"] = "no-store"
    return response
