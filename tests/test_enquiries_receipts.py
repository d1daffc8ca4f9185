"""The receipt the contact form sends: it goes to whatever address a stranger types, so it holds
only the office's own words, an address gets a few a day at most, and the thank-you page keeps
no address in the session cookie."""

import html
import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa

from crm.auth.models import Role
from crm.core.types import utcnow
from crm.enquiries import intake
from crm.enquiries.models import Enquiry
from crm.mail.models import OutboxMessage
from crm.public.contact_views import RECEIPT_KEY
from crm.settings import services as settings
from tests.test_enquiries_form import REFERENCE, VALID, count, open_form, send, translated

VICTIM = "victim@example.net"
# What an abuser would have the office send: every field a sender types, each recognisable.
ABUSE = {
    "name": "Cheap pills at pills.example",
    "email": VICTIM,
    "phone": "+46 70 999 88 77",
    "organisation_name": "Click here bank.example",
    "message": "Your account is locked, log in at https://phish.example/login to keep it.",
}
TYPED = ["pills.example", "999 88 77", "bank.example", "phish.example"]


@pytest.fixture
def coordinator(make_user, db):
    return make_user(Role.COORDINATOR, email="coordinator@example.org")


def outbox(db, kind):
    return db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
    ).all()


# --- what the receipt says ------------------------------------------------------------------


@pytest.mark.parametrize("language", ["sv", "en"])
def test_the_receipt_holds_only_the_offices_words(client, login, db, coordinator, language):
    settings.put("office_name", "GMS Industry Collaboration")
    db.session.commit()

    response = send(client, language, **ABUSE)

    assert REFERENCE.search(response.get_data(as_text=True))
    enquiry = db.session.scalars(sa.select(Enquiry)).one()
    (receipt,) = outbox(db, "enquiry_receipt")
    assert receipt.recipient == VICTIM
    assert receipt.subject == translated(
        language, "We have received your enquiry %(reference)s", reference=enquiry.reference
    )
    body = receipt.body_text
    for text in ("GMS Industry Collaboration", enquiry.reference):
        assert text in body
    assert translated(language, "Clinical studies") in body
    # Links to the office's own pages, at its public address, in the sender's language.
    assert f"http://localhost/?lang={language}" in body
    assert f"http://localhost/privacy?lang={language}" in body
    assert (
        translated(language, "If you did not send this enquiry, you can ignore this message.")
        in body
    )
    for typed in TYPED + [ABUSE["name"], ABUSE["organisation_name"], ABUSE["message"][:20]]:
        assert typed not in body
        assert typed not in receipt.subject
    # The coordinators still have all of it: the enquiry page shows what was typed.
    login(coordinator)
    page = html.unescape(client.get(f"/enquiries/{enquiry.id}").get_data(as_text=True))
    for typed in (ABUSE["name"], ABUSE["message"], ABUSE["organisation_name"], ABUSE["phone"]):
        assert typed in page
    (notice,) = outbox(db, "enquiry_notice")
    assert notice.recipient == "coordinator@example.org"


# --- how many receipts an address gets -------------------------------------------------------


def test_an_address_gets_at_most_three_receipts_a_day(client, db, coordinator, caplog):
    assert client.application.config["CONTACT_RECEIPTS_PER_ADDRESS_PER_DAY"] == 3
    caplog.set_level(logging.WARNING)
    addresses = [VICTIM, VICTIM, "Victim@Example.NET", VICTIM]

    pages = [send(client, email=address).get_data(as_text=True) for address in addresses]

    # All four are stored and announced to the coordinators, and each sender sees the same
    # thank-you page with their reference: nothing tells an abuser that a limit was reached.
    references = db.session.scalars(sa.select(Enquiry.reference).order_by(Enquiry.id)).all()
    assert len(references) == 4
    for page, reference in zip(pages, references, strict=True):
        assert reference in page
        assert translated("en", "Thank you for your enquiry") in page
    assert len(outbox(db, "enquiry_notice")) == 4
    receipts = outbox(db, "enquiry_receipt")
    assert [receipt.recipient for receipt in receipts] == [VICTIM] * 3
    assert [receipt.enquiry_id for receipt in receipts] == [1, 2, 3]
    # The log says so, with the enquiry's reference and without the address.
    assert references[3] in caplog.text
    assert "victim" not in caplog.text.lower()

    # Another address is not held back by it.
    send(client, email="someone.else@example.org")
    assert [r.recipient for r in outbox(db, "enquiry_receipt")][-1] == "someone.else@example.org"


def test_receipts_older_than_a_day_are_not_counted(client, db):
    for _ in range(3):
        send(client, email=VICTIM)
    db.session.execute(
        sa.update(OutboxMessage).values(created_at=utcnow() - timedelta(hours=24, minutes=1))
    )
    db.session.commit()

    send(client, email=VICTIM)

    assert count(db, Enquiry) == 4
    assert len(outbox(db, "enquiry_receipt")) == 4


def test_the_receipt_count_reads_the_receipts_index(app, db):
    """The count runs on every enquiry; it must stay an index lookup (the kind is written out
    in the statement so the partial index can serve it)."""
    statement = intake._RECEIPTS_SINCE.compile(dialect=db.engine.dialect)
    params = {"recipient": VICTIM, "since": utcnow() - timedelta(days=1)}
    if statement.positional:
        params = tuple(params[name] for name in statement.positiontup)
    connection = db.session.connection()
    if db.engine.dialect.name == "sqlite":
        plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).all()
    else:
        # An empty table is read faster without the index: ask for the plan that uses it.
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = connection.exec_driver_sql(f"EXPLAIN {statement}", params).all()
    assert "ix_outbox_messages_receipts" in str(plan)


# --- the thank-you page ---------------------------------------------------------------------


def _session_cookie(client):
    cookie = client.get_cookie(client.application.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    return cookie.value


def test_the_session_cookie_does_not_carry_the_address(app, client, db):
    _page, hidden = open_form(client, "en")
    response = client.post("/contact?lang=en", data={**VALID, **hidden})
    assert response.status_code == 303

    # What anyone holding the cookie can read from it (it is signed, not encrypted).
    payload = app.session_interface.get_signing_serializer(app).loads(_session_cookie(client))
    reference = db.session.scalars(sa.select(Enquiry.reference)).one()
    assert payload[RECEIPT_KEY] == {"reference": reference}
    assert "kvarnbo" not in str(payload).lower()

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert reference in page
    assert "kvarnbo" not in page.lower()
    assert (
        html.escape(
            translated(
                "en",
                "We send a receipt with the reference number to the e-mail address you gave. "
                "Please quote it if you contact us about this enquiry.",
            )
        )
        in page
    )


def test_an_address_kept_by_an_older_session_is_not_shown(app, client):
    """A cookie set before the address was dropped from it still shows only the reference."""
    with client.session_transaction() as session:
        session[RECEIPT_KEY] = {"reference": "ENQ-2026-00042", "email": VICTIM}

    page = client.get("/contact/thanks?lang=en").get_data(as_text=True)

    assert "ENQ-2026-00042" in page
    assert "victim" not in page.lower()
