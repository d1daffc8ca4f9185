"""Fuzzing the public enquiry form with Hypothesis: whatever is posted, never a 500, and
either a complete enquiry (with its e-mails) is stored or nothing at all.

Each example posts arbitrary Unicode (control characters and NUL, right-to-left marks,
emoji, very long text), missing fields and broken hidden fields to /contact. State is not
reset between examples; each one compares the tables before and after its own request.
"""

import re

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from crm.auth.models import Role
from crm.core.models import AuditEntry
from crm.enquiries import intake
from crm.enquiries.models import Enquiry
from crm.mail.models import OutboxMessage
from crm.public.contact_forms import issue_form_token

REFERENCE = re.compile(r"<strong>(ENQ-\d{4}-\d{5})</strong>")

VALID = {
    "name": "Anna Andersson",
    "email": "anna@kvarnbo.example",
    "phone": "+46 70-123 45 67",
    "organisation_name": "Kvarnbo Genomik AB",
    "organisation_type": "company",
    "topic": "clinical_studies",
    "message": "We would like to discuss a clinical study on hereditary cancer.",
    "acknowledgement": "y",
}
FIELDS = sorted(VALID)
HIDDEN = ("form_token", "consent_text_id", "website")

# Any code point a browser can send (no lone surrogates): NUL and other control characters,
# right-to-left marks and overrides, combining marks, emoji.
ANY_CHARACTER = st.characters(exclude_categories=("Cs",))
TRICKY = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "Anna\x00Andersson",
        "\u202eevil.exe\u202c",
        "\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627",
        "😀👩‍🔬🇸🇪",
        "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇",
        "line one\r\nBcc: evil@example.com",
        "<script>alert(1)</script>",
        "'; DROP TABLE enquiries; --",
        '=HYPERLINK("http://evil.example")',
        "anna@kvarnbo.example\r\nCc: evil@example.com",
        "Anna <anna@kvarnbo.example>, bob@evil.example",
        "\ufeff\u200b\u2028\u2029",
        "company",
        "y",
    ]
)
FUZZ = st.one_of(
    st.text(ANY_CHARACTER, max_size=80),
    TRICKY,
    # Very long text, up to beyond what the form (and the request size limit) accepts.
    st.builds(
        lambda piece, times: piece * times,
        st.text(ANY_CHARACTER, min_size=1, max_size=4),
        st.sampled_from([201, 255, 5001, 12_000, 40_000]),
    ),
)


@st.composite
def submissions(draw):
    """(form data, which fields were left valid): some fields fuzzed or left out, the rest
    as a person would fill them in; hidden fields sometimes broken too."""
    fuzzed = draw(st.sets(st.sampled_from(FIELDS + list(HIDDEN)), max_size=4))
    data = {}
    for name in FIELDS:
        if name in fuzzed:
            value = draw(st.one_of(st.none(), FUZZ))
        else:
            value = VALID[name]
        if value is not None:
            data[name] = value
    token = "valid"
    if "form_token" in fuzzed:
        token = draw(st.sampled_from(["valid", "swedish", "missing", "fuzz"]))
    data["form_token"] = token
    if "consent_text_id" in fuzzed:
        data["consent_text_id"] = draw(st.one_of(st.none(), FUZZ, st.just("999999")))
    if "website" in fuzzed:
        data["website"] = draw(st.one_of(st.just(""), FUZZ))
    if "fuzz" == token:
        data["form_token"] = draw(FUZZ)
    return data, fuzzed


def count(db, model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def snapshot(db):
    db.session.expire_all()
    return {model: count(db, model) for model in (Enquiry, OutboxMessage, AuditEntry)}


@pytest.fixture
def form(app, db, make_user):
    """The consent texts and a coordinator (so each enquiry queues a receipt and a notice)."""
    make_user(Role.COORDINATOR, email="coordinator@example.org")
    consent = {language: intake.current_consent_text(language).id for language in ("en", "sv")}
    db.session.commit()
    return consent


# The examples share one database and mostly one address: under the daily cap on receipts per
# address, all but the first few would be stored without their receipt.
@pytest.mark.config(CONTACT_RECEIPTS_PER_ADDRESS_PER_DAY=1_000_000)
@settings(
    max_examples=60,
    database=None,  # no example database in the working tree; a failure prints its example
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(submission=submissions())
@example(submission=({**VALID, "form_token": "valid"}, set()))
@example(submission=({**VALID, "name": "Ünïcødé 😀 \u202eRTL", "form_token": "valid"}, set()))
@example(submission=({**VALID, "message": "\x00" * 10, "form_token": "valid"}, {"message"}))
@example(submission=({**VALID, "name": "x" * 40_000, "form_token": "valid"}, {"name"}))
def test_public_form_never_fails_and_stores_all_or_nothing(app, db, client, form, submission):
    data, fuzzed = submission
    data = dict(data)
    language_of_token = {"valid": "en", "swedish": "sv"}.get(data["form_token"])
    if language_of_token:
        data["form_token"] = issue_form_token(language_of_token)
    elif data["form_token"] == "missing":
        del data["form_token"]
    data.setdefault("consent_text_id", str(form["en"]))
    before = snapshot(db)

    response = client.post("/contact?lang=en", data=data, follow_redirects=True)

    page = response.get_data(as_text=True)
    assert response.status_code in (200, 413), response.status_code
    assert "Traceback" not in page
    after = snapshot(db)
    references = REFERENCE.findall(page)
    event(f"HTTP {response.status_code}, {'stored' if references else 'nothing stored'}")
    if references:
        # Thanked with a reference: one complete enquiry with both its e-mails.
        [reference] = references
        assert after[Enquiry] == before[Enquiry] + 1
        assert after[OutboxMessage] == before[OutboxMessage] + 2
        enquiry = db.session.scalars(sa.select(Enquiry).where(Enquiry.reference == reference)).one()
        assert enquiry.name == data["name"].strip() and enquiry.name
        assert enquiry.email == data["email"].strip().lower()
        assert enquiry.message == data["message"].strip()
        assert len(enquiry.message) >= 5
        assert enquiry.topic.value == data["topic"]
        assert enquiry.consent_text_id == form["en"]
        assert (enquiry.phone or None) == ((data.get("phone") or "").strip() or None)
        organisation = (data.get("organisation_name") or "").strip() or None
        assert enquiry.organisation_name == organisation
        kinds = db.session.scalars(
            sa.select(OutboxMessage.kind).where(OutboxMessage.enquiry_id == enquiry.id)
        ).all()
        assert sorted(kinds) == ["enquiry_notice", "enquiry_receipt"]
    else:
        # Anything else (an error shown, a bot's fake thank-you, too large): nothing kept.
        assert after == before
        if not fuzzed:
            pytest.fail("a valid submission was not stored")
    # Never an e-mail without its enquiry.
    orphans = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(OutboxMessage)
        .outerjoin(Enquiry, Enquiry.id == OutboxMessage.enquiry_id)
        .where(Enquiry.id.is_(None))
    )
    assert orphans == 0
