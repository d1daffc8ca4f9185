"""The public enquiry form: languages, validation, bot and abuse protection, and intake."""

import html
import re
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy.exc import OperationalError

from crm.auth.models import Role
from crm.core.models import AuditEntry
from crm.core.types import utcnow
from crm.enquiries import intake
from crm.enquiries.models import Enquiry, EnquiryStatus, Topic
from crm.extensions import limiter
from crm.mail import services as mail_services
from crm.mail.models import OutboxMessage
from crm.privacy.services import notice_id_for_new_enquiry
from crm.public import contact_views
from crm.settings import services as settings
from crm.settings.models import ConsentText

REFERENCE = re.compile(r"ENQ-\d{4}-\d{5}")

VALID = {
    "name": "Anna Andersson",
    "email": "Anna.Andersson@Kvarnbo.example",
    "phone": "+46 70-123 45 67",
    "organisation_name": "Kvarnbo Genomik AB",
    "organisation_type": "company",
    "topic": "clinical_studies",
    "message": "We would like to discuss a clinical study on hereditary cancer.",
    "acknowledgement": "y",
}


@pytest.fixture
def consent_texts(db):
    """Consent texts in both languages, with a newer English version."""
    texts = {
        "sv": ConsentText(version=1, language="sv", body="Region Skåne behandlar dina uppgifter."),
        "en_old": ConsentText(version=1, language="en", body="Old English notice."),
        "en": ConsentText(version=2, language="en", body="Region Skåne processes your data."),
    }
    db.session.add_all(texts.values())
    db.session.commit()
    return texts


@pytest.fixture
def coordinator(make_user, db):
    user = make_user(Role.COORDINATOR, email="coordinator@example.org")
    user.language = "en"
    db.session.commit()
    return user


@pytest.fixture
def fresh_limiter(app):
    limiter.reset()
    yield limiter
    limiter.reset()


def hidden_value(page, name):
    match = re.search(rf'name="{name}" type="hidden" value="([^"]*)"', page)
    assert match, f"no hidden field {name}"
    return html.unescape(match.group(1))


def open_form(client, language="en"):
    """GET the form; returns the page and the hidden fields a browser would send back."""
    response = client.get(f"/contact?lang={language}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    hidden = {name: hidden_value(page, name) for name in ("form_token", "consent_text_id")}
    return page, hidden


def send(client, language="en", hidden=None, **changes):
    """Fill in the form (VALID with `changes`; None leaves a field out) and send it."""
    if hidden is None:
        _page, hidden = open_form(client, language)
    data = {**VALID, **hidden, **changes}
    data = {key: value for key, value in data.items() if value is not None}
    return client.post(f"/contact?lang={language}", data=data, follow_redirects=True)


def translated(language, text, **variables):
    with force_locale(language):
        return _(text, **variables)


def local_year(moment):
    return moment.astimezone(ZoneInfo("Europe/Stockholm")).year


def count(db, model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def assert_nothing_stored(db):
    assert count(db, Enquiry) == 0
    assert count(db, OutboxMessage) == 0


def field_error(page, field):
    match = re.search(rf'<p class="error" id="{field}-error">(.*?)</p>', page, re.S)
    return html.unescape(match.group(1)) if match else None


# --- the page -------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["sv", "en"])
def test_form_shows_labels_consent_text_and_language_switch(client, consent_texts, language):
    page, hidden = open_form(client, language)

    assert f'<html lang="{language}">' in page
    for label in ("Your name", "E-mail", "Topic", "Your message", "Send enquiry"):
        assert html.escape(translated(language, label)) in page
    assert html.escape(consent_texts[language].body) in page
    assert "Old English notice." not in page
    assert hidden["consent_text_id"] == str(consent_texts[language].id)
    other = "en" if language == "sv" else "sv"
    assert f'href="/contact?lang={other}" lang="{other}"' in page
    # The honeypot is out of sight, out of the tab order and not autofilled.
    assert re.search(r'<div class="contact-extra" aria-hidden="true">', page)
    assert re.search(r'<input autocomplete="off" id="website" name="website" tabindex="-1"', page)
    # Length limits are in the page too.
    assert 'maxlength="200"' in page and 'maxlength="5000"' in page


def test_browser_language_is_used_without_lang(client, consent_texts):
    response = client.get("/contact", headers={"Accept-Language": "en-GB,en;q=0.9"})

    page = response.get_data(as_text=True)
    assert '<html lang="en">' in page
    assert consent_texts["en"].body in page


def test_first_visit_creates_version_one_of_the_consent_text(client, db):
    settings.put("data_controller", "Region Skåne")
    db.session.commit()

    page, hidden = open_form(client, "en")

    text = db.session.get(ConsentText, int(hidden["consent_text_id"]))
    assert (text.version, text.language) == (1, "en")
    assert "Region Skåne" in text.body
    assert html.escape(text.body) in page
    # A second visit shows the same text rather than adding another.
    open_form(client, "en")
    assert count(db, ConsentText) == 1


def test_public_page_links_to_the_form(client):
    page = client.get("/?lang=en").get_data(as_text=True)

    assert 'href="/contact?lang=en"' in page


# --- validation -----------------------------------------------------------------------------

CASES = {
    "missing name": ({"name": ""}, "name", "Enter your name."),
    "bad e-mail": ({"email": "anna.andersson-at-kvarnbo"}, "email", "Enter a valid e-mail"),
    "missing topic": ({"topic": ""}, "topic", "Choose the topic of your enquiry."),
    "unknown topic": ({"topic": "world_domination"}, "topic", "Not a valid choice"),
    "too-long message": ({"message": "x" * 5001}, "message", "Write between 5 and 5000"),
    "too-short message": ({"message": "Hi"}, "message", "Write between 5 and 5000"),
    "missing acknowledgement": ({"acknowledgement": None}, "acknowledgement", "Tick the box"),
    "bad phone": ({"phone": "call me maybe"}, "phone", "Enter a phone number"),
    "too-long name": ({"name": "A" * 201}, "name", "Write at most 200 characters."),
    "too-long organisation": (
        {"organisation_name": "B" * 201},
        "organisation_name",
        "Write at most 200 characters.",
    ),
    "unknown organisation type": (
        {"organisation_type": "secret_society"},
        "organisation_type",
        "Not a valid choice",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_shown_at_its_field_and_kept(client, db, consent_texts, case):
    changes, field, message = CASES[case]

    response = send(client, **changes)

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    error = field_error(page, field)
    assert error is not None and message in error, error
    assert f'aria-describedby="{field}-error"' in page or f'-hint {field}-error"' in page
    summary = re.search(r'<div class="error-summary".*?</div>', page, re.S).group()
    assert f'<a href="#{field}">' in summary
    assert html.escape(message) in summary
    # What was typed is still there, the bad value included.
    typed = {**VALID, **changes}
    for name in ("name", "email", "phone", "organisation_name"):
        if typed.get(name) and len(typed[name]) <= 200:
            assert f'value="{html.escape(typed[name].strip())}"' in page
    if len(typed["message"]) <= 100:
        assert html.escape(typed["message"]) in page
    if case != "missing acknowledgement":
        assert re.search(r'<input checked id="acknowledgement"', page)
    assert "ENQ-" not in page
    assert_nothing_stored(db)


def test_swedish_errors_in_swedish(client, db, consent_texts):
    response = send(client, "sv", name="")

    page = response.get_data(as_text=True)
    assert field_error(page, "name") == translated("sv", "Enter your name.")
    assert_nothing_stored(db)


# --- bots and abuse ---------------------------------------------------------------------------


def test_filled_honeypot_looks_like_success_but_stores_nothing(client, db, consent_texts):
    response = send(client, website="https://cheap-pills.example")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Thank you for your enquiry" in page
    assert not REFERENCE.search(page)
    assert_nothing_stored(db)


@pytest.mark.config(CONTACT_MIN_FILL_SECONDS=30)
def test_too_fast_submission_stores_nothing_and_asks_again(client, db, consent_texts):
    _page, hidden = open_form(client)

    response = send(client, hidden=hidden)

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "has not been sent yet" in page
    assert "Thank you" not in page
    assert f'value="{VALID["name"]}"' in page
    # A fresh form token, so a person can send it again.
    assert hidden_value(page, "form_token") != hidden["form_token"]
    assert_nothing_stored(db)


def _old_token(app, age_seconds):
    class OldSigner(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - age_seconds

    serializer = URLSafeTimedSerializer(
        app.config["SECRET_KEY"], salt="contact-form-token", signer=OldSigner
    )
    return serializer.dumps({"s": "a" * 43, "l": "en"})


@pytest.mark.parametrize("case", ["missing", "forged", "other key", "expired", "wrong consent"])
def test_bad_form_token_or_consent_id_stores_nothing(app, client, db, consent_texts, case):
    _page, hidden = open_form(client)
    if case == "missing":
        hidden["form_token"] = ""
    elif case == "forged":
        hidden["form_token"] = hidden["form_token"][:-4] + "AAAA"
    elif case == "other key":
        other = URLSafeTimedSerializer("another-secret", salt="contact-form-token")
        hidden["form_token"] = other.dumps({"s": "a" * 43, "l": "en"})
    elif case == "expired":
        hidden["form_token"] = _old_token(app, 3 * 24 * 60 * 60)
    else:
        # The Swedish text's id on the English form: not what this visitor was shown.
        hidden["consent_text_id"] = str(consent_texts["sv"].id)

    response = send(client, hidden=hidden)

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "has not been sent yet" in page
    assert f'value="{VALID["name"]}"' in page
    assert_nothing_stored(db)


@pytest.mark.config(RATELIMIT_ENABLED=True, CONTACT_RATE_LIMIT="2 per minute")
def test_rate_limit_answers_429_with_a_friendly_page(client, db, consent_texts, fresh_limiter):
    for _attempt in range(2):
        assert send(client).status_code == 200

    response = send(client)

    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert "Too many requests" in page
    assert "Thank you" not in page
    assert count(db, Enquiry) == 2
    # Reading the form is not limited, only sending it.
    assert client.get("/contact").status_code == 200


def send_from(client, address, **headers):
    """Send the form as a visitor at `address` would through a reverse proxy, which writes
    the address into X-Forwarded-For (the connection itself comes from the proxy)."""
    forwarded = {"X-Forwarded-For": address, **headers}
    response = client.get("/contact?lang=en", headers=forwarded)
    page = response.get_data(as_text=True)
    hidden = {name: hidden_value(page, name) for name in ("form_token", "consent_text_id")}
    return client.post(
        "/contact?lang=en", data={**VALID, **hidden}, headers=forwarded, follow_redirects=True
    )


@pytest.mark.config(RATELIMIT_ENABLED=True, CONTACT_RATE_LIMIT="2 per minute")
def test_without_trusted_proxies_a_forwarded_address_does_not_escape_the_rate_limit(
    client, db, consent_texts, fresh_limiter
):
    for address in ("198.51.100.1", "198.51.100.2"):
        assert send_from(client, address).status_code == 200

    # Anyone can write the header: without a proxy that sets it, it is not believed.
    assert send_from(client, "198.51.100.3").status_code == 429
    assert count(db, Enquiry) == 2


@pytest.mark.config(RATELIMIT_ENABLED=True, CONTACT_RATE_LIMIT="2 per minute", TRUSTED_PROXIES=1)
def test_behind_a_trusted_proxy_each_visitor_has_their_own_rate_limit(
    client, db, consent_texts, fresh_limiter
):
    for _attempt in range(2):
        assert send_from(client, "198.51.100.1").status_code == 200
    assert send_from(client, "198.51.100.1").status_code == 429

    # Another visitor behind the same proxy can still send an enquiry.
    assert send_from(client, "198.51.100.2").status_code == 200
    assert count(db, Enquiry) == 3


@pytest.mark.config(TRUSTED_PROXIES=1, PUBLIC_URL="https://crm.example.org")
def test_behind_a_trusted_proxy_the_notice_links_to_the_public_address(
    client, db, consent_texts, coordinator
):
    # Links come from PUBLIC_URL, not from the host the proxy reached the app at.
    response = send_from(
        client,
        "198.51.100.1",
        **{"X-Forwarded-Proto": "http", "X-Forwarded-Host": "app-1.internal"},
    )

    assert response.status_code == 200
    enquiry = db.session.scalars(sa.select(Enquiry)).one()
    notice = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "enquiry_notice")
    ).one()
    assert f"https://crm.example.org/enquiries/{enquiry.id}" in notice.body_text


@pytest.mark.config(WTF_CSRF_ENABLED=True)
def test_post_without_csrf_token_is_refused(client, db, consent_texts):
    page, hidden = open_form(client)

    response = send(client, hidden=hidden)

    assert response.status_code == 400
    assert_nothing_stored(db)
    # With the token from the page it goes through.
    csrf_token = hidden_value(page, "csrf_token")
    response = send(client, hidden=hidden, csrf_token=csrf_token)
    assert response.status_code == 200
    assert count(db, Enquiry) == 1


def test_oversized_post_is_refused(client, db, consent_texts):
    _page, hidden = open_form(client)

    response = send(client, hidden=hidden, message="x" * contact_views.MAX_REQUEST_BYTES)

    assert response.status_code == 413
    assert "larger than we accept" in response.get_data(as_text=True)
    assert_nothing_stored(db)


def test_a_long_message_in_any_script_fits_the_size_limit(client, db, consent_texts):
    response = send(client, message="🧬" * 5000, name="Åsa Öberg-Ünal " * 13)

    assert REFERENCE.search(response.get_data(as_text=True))
    assert count(db, Enquiry) == 1


HEADER_ATTACKS = {
    "name": "Anna\r\nBcc: victim@evil.example",
    "email": "anna@kvarnbo.example\r\nBcc: victim@evil.example",
    "organisation_name": "Kvarnbo\r\nBcc: victim@evil.example",
    "phone": "070 123\r\nBcc: victim@evil.example",
    "topic": "other\r\nBcc: victim@evil.example",
    "message": "Hello\r\nBcc: victim@evil.example\r\n\r\nA real question here.",
}


@pytest.mark.parametrize("field", HEADER_ATTACKS)
def test_no_cr_or_lf_reaches_a_mail_header(client, db, consent_texts, coordinator, field):
    response = send(client, **{field: HEADER_ATTACKS[field]})

    page = response.get_data(as_text=True)
    messages = db.session.scalars(sa.select(OutboxMessage)).all()
    for message in messages:
        for header in (message.recipient, message.subject, message.reply_to or ""):
            assert "\r" not in header and "\n" not in header
        assert "evil.example" not in message.recipient
        assert "evil.example" not in message.subject
    if field == "message":
        # The message is body text only: stored as typed, never in a header.
        assert REFERENCE.search(page)
        assert len(messages) == 2
    else:
        assert field_error(page, field) is not None
        assert_nothing_stored(db)


# --- intake -----------------------------------------------------------------------------------


def test_valid_submission_stores_one_enquiry_and_two_messages(
    client, db, consent_texts, coordinator
):
    settings.put("office_name", "GMS Industry Collaboration")
    db.session.commit()
    before = utcnow()

    response = send(client, "sv")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    enquiry = db.session.scalars(sa.select(Enquiry)).one()
    assert REFERENCE.fullmatch(enquiry.reference)
    assert enquiry.reference in page
    assert enquiry.name == "Anna Andersson"
    assert enquiry.email == "anna.andersson@kvarnbo.example"
    assert enquiry.phone == "+46 70-123 45 67"
    assert enquiry.organisation_name == "Kvarnbo Genomik AB"
    assert enquiry.organisation_type == "company"
    assert enquiry.topic == Topic.CLINICAL_STUDIES
    assert enquiry.message == VALID["message"]
    assert enquiry.language == "sv"
    assert enquiry.status == EnquiryStatus.NEW
    assert enquiry.assignee_id is None
    assert enquiry.consent_text_id == consent_texts["sv"].id
    assert before - timedelta(seconds=1) <= enquiry.consent_given_at <= utcnow()
    assert before - timedelta(seconds=1) <= enquiry.received_at <= utcnow()
    assert enquiry.submission_token
    entry = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.entity_type == "enquiries")
    ).one()
    assert entry.action == "create" and entry.actor_id is None
    assert "Anna" not in str(entry.changes)

    messages = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [message.kind for message in messages] == ["enquiry_receipt", "enquiry_notice"]
    receipt, notice = messages
    assert receipt.recipient == "anna.andersson@kvarnbo.example"
    assert receipt.language == "sv"
    assert receipt.enquiry_id == enquiry.id
    assert enquiry.reference in receipt.subject
    assert receipt.subject == translated(
        "sv", "We have received your enquiry %(reference)s", reference=enquiry.reference
    )
    for text in (enquiry.reference, "GMS Industry Collaboration"):
        assert text in receipt.body_text
    assert translated("sv", "Clinical studies") in receipt.body_text
    # Nothing the sender typed (tests/test_enquiries_receipts.py).
    assert VALID["message"] not in receipt.body_text and "Anna" not in receipt.body_text

    assert notice.recipient == "coordinator@example.org"
    assert notice.language == "en"
    assert notice.enquiry_id == enquiry.id
    assert enquiry.reference in notice.subject and "Clinical studies" in notice.subject
    assert "Anna" not in notice.subject
    assert f"/enquiries/{enquiry.id}" in notice.body_text
    assert "Kvarnbo Genomik AB (Company)" in notice.body_text


def test_the_form_answers_with_a_redirect_to_a_thank_you_page_for_its_sender_only(
    app, client, db, consent_texts
):
    _page, hidden = open_form(client, "en")
    data = {**VALID, **hidden}

    response = client.post("/contact?lang=en", data=data)

    assert response.status_code == 303
    assert response.headers["Location"] == "/contact/thanks?lang=en"
    reference = db.session.scalars(sa.select(Enquiry.reference)).one()
    # The thank-you page, read again (a reload), shows the reference each time...
    for _reload in range(2):
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert reference in page
    # ...to the sender only: another visitor sees no reference and no address.
    other = app.test_client().get(response.headers["Location"])
    assert other.status_code == 200
    assert not REFERENCE.search(other.get_data(as_text=True))
    assert "anna.andersson" not in other.get_data(as_text=True)
    assert count(db, Enquiry) == 1


def test_a_new_enquiry_is_found_by_the_search(client, login, db, consent_texts):
    send(client, "en")
    reference = db.session.scalars(sa.select(Enquiry.reference)).one()

    login(Role.COORDINATOR)
    page = client.get(f"/search/?q={reference}").get_data(as_text=True)

    assert reference in page
    assert "Anna Andersson" in page


def test_english_submission_gets_an_english_receipt(client, db, consent_texts, coordinator):
    send(client, "en")

    enquiry = db.session.scalars(sa.select(Enquiry)).one()
    assert enquiry.language == "en"
    assert enquiry.consent_text_id == consent_texts["en"].id
    receipt = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "enquiry_receipt")
    ).one()
    assert receipt.language == "en"
    assert receipt.subject == f"We have received your enquiry {enquiry.reference}"
    assert "Thank you for your enquiry" in receipt.body_text


def test_enquiry_keeps_the_consent_version_it_showed(client, db, consent_texts):
    _page, hidden = open_form(client, "en")
    # An admin publishes a new notice while the visitor is typing.
    db.session.add(ConsentText(version=3, language="en", body="Newest notice."))
    db.session.commit()

    send(client, hidden=hidden)

    enquiry = db.session.scalars(sa.select(Enquiry)).one()
    assert enquiry.consent_text_id == consent_texts["en"].id


def test_double_submit_stores_one_enquiry(client, db, consent_texts, coordinator):
    _page, hidden = open_form(client)

    first = send(client, hidden=hidden)
    second = send(client, hidden=hidden)

    references = [REFERENCE.search(r.get_data(as_text=True)).group() for r in (first, second)]
    assert references[0] == references[1]
    assert count(db, Enquiry) == 1
    assert count(db, OutboxMessage) == 2


def test_each_form_gets_its_own_reference(client, db, consent_texts):
    first = send(client)
    second = send(client)

    references = {REFERENCE.search(r.get_data(as_text=True)).group() for r in (first, second)}
    assert len(references) == 2
    assert count(db, Enquiry) == 2


def test_notification_recipients_setting_replaces_the_coordinators(
    client, db, consent_texts, coordinator
):
    settings.put("notification_recipients", ["Desk@Example.org", "not an address"])
    db.session.commit()

    send(client)

    notices = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "enquiry_notice")
    ).all()
    assert [notice.recipient for notice in notices] == ["desk@example.org"]
    assert notices[0].language == "sv"  # not a user: the office's default language


def test_without_coordinators_the_enquiry_is_still_received(
    client, db, consent_texts, make_user, caplog
):
    make_user(Role.COORDINATOR, active=False)
    make_user(Role.MEMBER)

    response = send(client)

    assert REFERENCE.search(response.get_data(as_text=True))
    assert count(db, Enquiry) == 1
    kinds = db.session.scalars(sa.select(OutboxMessage.kind)).all()
    assert kinds == ["enquiry_receipt"]
    assert "no coordinator to notify" in caplog.text


def _failing_queue(fail_on_message, error):
    """queue_messages that stores the messages before `fail_on_message`, then fails."""
    real = mail_services.queue_messages

    def queue_messages(messages):
        real(messages[: fail_on_message - 1])
        raise error

    return queue_messages


@pytest.mark.parametrize(
    ("fail_on_message", "error"),
    [
        (1, RuntimeError("outbox unavailable")),
        # The receipt is written, then the coordinators' notice fails.
        (2, OperationalError("INSERT INTO outbox_messages", {}, Exception("disk full"))),
        (1, mail_services.InvalidRecipient("bad")),
    ],
)
def test_failure_to_queue_stores_nothing_and_shows_an_error(
    client, db, consent_texts, coordinator, monkeypatch, fail_on_message, error
):
    _page, hidden = open_form(client)
    monkeypatch.setattr(intake.mail, "queue_messages", _failing_queue(fail_on_message, error))

    response = send(client, hidden=hidden)

    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert "could not be received" in page
    assert "Thank you" not in page
    assert not REFERENCE.search(page)
    assert f'value="{VALID["name"]}"' in page
    assert_nothing_stored(db)

    # Once the fault is gone, sending the same form again is received once.
    monkeypatch.undo()
    response = send(client, hidden=hidden)
    assert REFERENCE.search(response.get_data(as_text=True))
    assert count(db, Enquiry) == 1
    assert count(db, OutboxMessage) == 2


def test_submit_enquiry_service_is_idempotent_per_token(app, db, consent_texts):
    data = {
        "name": "Bo Berg",
        "email": "bo@example.org",
        "topic": Topic.OTHER,
        "message": "A question.",
        "consent_text_id": consent_texts["sv"].id,
        "submission_token": "t" * 43,
    }
    with app.test_request_context("/contact"):
        notice_id = notice_id_for_new_enquiry()
        first = intake.submit_enquiry(data, language="sv", privacy_notice_id=notice_id)
        second = intake.submit_enquiry(data, language="sv", privacy_notice_id=notice_id)
        db.session.commit()

    assert first == second
    assert first.reference == f"ENQ-{local_year(first.received_at)}-{first.id:05d}"
    assert count(db, Enquiry) == 1
    # Only the receipt: nobody to notify.
    assert count(db, OutboxMessage) == 1


def test_reference_steps_past_numbers_already_taken(app, db, consent_texts):
    year = local_year(utcnow())
    # A bare model on purpose: an imported enquiry holds a reference intake would not give.
    db.session.add(
        Enquiry(
            reference=f"ENQ-{year}-00002",
            name="Imported",
            email="imported@example.org",
            topic=Topic.OTHER,
            message="From the old system.",
        )
    )
    db.session.commit()
    data = {
        "name": "Bo Berg",
        "email": "bo@example.org",
        "topic": Topic.OTHER,
        "message": "A question.",
        "consent_text_id": consent_texts["sv"].id,
        "submission_token": "u" * 43,
    }
    with app.test_request_context("/contact"):
        enquiry = intake.submit_enquiry(
            data, language="sv", privacy_notice_id=notice_id_for_new_enquiry()
        )
        db.session.commit()

    assert enquiry.id == 2
    assert enquiry.reference == f"ENQ-{year}-00003"
