"""What happens to each incoming message: file_message fed real RFC 5322 bytes."""

import sqlalchemy as sa

from crm.activities.models import Activity, ActivityKind
from crm.core.models import AuditEntry
from crm.documents.models import Document
from crm.enquiries.models import Enquiry, EnquirySource, EnquiryStatus
from crm.mail.models import Email, EmailDirection, EmailState, OutboxMessage
from crm.mailbox.routing import file_message
from tests.mailbox_messages import message

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def count(db, model, *where):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def receipts(db):
    return count(db, OutboxMessage, OutboxMessage.kind == "enquiry_receipt")


def sent_reply(db, enquiry, message_id="<reply-1@example.org>"):
    """An outgoing reply stored on the enquiry, as send_reply stores it."""
    email = Email(
        message_id=message_id,
        direction=EmailDirection.OUTGOING,
        enquiry_id=enquiry.id,
        subject=f"Re: {enquiry.reference}",
        from_address="office@example.org",
        to_addresses=enquiry.email,
    )
    db.session.add(email)
    db.session.commit()
    return email


def test_an_unknown_sender_becomes_an_enquiry_with_a_receipt(db):
    email = file_message(message(body="Hej, vi vill samarbeta med er om forskning och data."))
    db.session.commit()

    enquiry = db.session.get(Enquiry, email.enquiry_id)
    assert email.state == EmailState.FILED
    assert enquiry.source == EnquirySource.EMAIL
    assert enquiry.email == "anna@acme.example"
    assert enquiry.name == "Anna Andersson"
    assert enquiry.reference.startswith("ENQ-")
    assert enquiry.language == "sv"
    assert enquiry.privacy_notice_id is not None
    assert enquiry.consent_text_id is None
    assert "samarbeta" in enquiry.message
    assert receipts(db) == 1


def test_an_english_message_makes_an_english_enquiry(db):
    email = file_message(
        message(body="Hello, we would like to know more about the data and the work.")
    )

    assert db.session.get(Enquiry, email.enquiry_id).language == "en"


def test_the_same_message_twice_is_stored_once(db):
    raw = message(message_id="<once@acme.example>")

    first = file_message(raw)
    db.session.commit()
    second = file_message(raw)
    db.session.commit()

    assert first.id == second.id
    assert count(db, Email) == 1
    assert count(db, Enquiry) == 1
    assert receipts(db) == 1


def test_a_reply_joins_its_enquiry_and_moves_a_waiting_one_on(db, make_enquiry, make_user):
    member = make_user("member")
    enquiry = make_enquiry(assignee_id=member.id, status=EnquiryStatus.WAITING)
    sent_reply(db, enquiry)
    before = count(db, OutboxMessage)

    email = file_message(
        message(
            subject=f"Re: {enquiry.reference}",
            body="Thanks!\n\nOn Tue, 3 Mar 2026, Office <office@example.org> wrote:\n> Hello",
            headers={"In-Reply-To": "<reply-1@example.org>"},
        )
    )
    db.session.commit()

    assert email.enquiry_id == enquiry.id and email.state == EmailState.FILED
    assert email.reply_text == "Thanks!"
    assert db.session.get(Enquiry, enquiry.id).status == EnquiryStatus.IN_PROGRESS
    notice = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "enquiry_email_received")
    ).one()
    assert notice.recipient == member.email
    assert "Thanks" not in notice.body_text  # nothing the sender wrote
    assert count(db, OutboxMessage) == before + 1
    assert count(db, Enquiry) == 1
    assert count(
        db, AuditEntry, AuditEntry.entity_type == "enquiries", AuditEntry.action == "status"
    )


def test_a_reply_is_found_by_the_reference_in_its_subject(db, make_enquiry):
    enquiry = make_enquiry()

    email = file_message(message(subject=f"SV: Vi har tagit emot {enquiry.reference}"))

    assert email.enquiry_id == enquiry.id
    assert count(db, Enquiry) == 1


def test_an_auto_reply_to_an_enquiry_joins_it_without_notice_or_status_change(
    db, make_enquiry, make_user
):
    member = make_user("member")
    enquiry = make_enquiry(assignee_id=member.id, status=EnquiryStatus.WAITING)
    sent_reply(db, enquiry)
    before = count(db, OutboxMessage)

    email = file_message(
        message(
            subject="Out of office",
            headers={"In-Reply-To": "<reply-1@example.org>", "Auto-Submitted": "auto-replied"},
        )
    )
    db.session.commit()

    assert email.enquiry_id == enquiry.id
    assert db.session.get(Enquiry, enquiry.id).status == EnquiryStatus.WAITING
    assert count(db, OutboxMessage) == before


def test_automatic_mail_never_makes_an_enquiry_or_a_receipt(db):
    for number, headers in enumerate(
        [
            {"Auto-Submitted": "auto-replied"},
            {"Precedence": "bulk"},
            {"Return-Path": "<>"},
            {"List-Id": "<news.acme.example>"},
        ]
    ):
        email = file_message(message(message_id=f"<auto{number}@acme.example>", headers=headers))
        assert email.state == EmailState.UNMATCHED, headers

    bounce = file_message(message(sender="MAILER-DAEMON@acme.example", subject="Undeliverable"))
    assert bounce.state == EmailState.UNMATCHED
    assert count(db, Enquiry) == 0
    assert receipts(db) == 0


def test_two_auto_responders_cannot_loop(db):
    """Our receipt reaches a sender whose auto-responder answers: that answer gets nothing
    back, so the exchange stops after one round."""
    first = file_message(message(message_id="<first@acme.example>"))
    db.session.commit()
    assert receipts(db) == 1

    for number in range(3):
        file_message(
            message(
                message_id=f"<auto-{number}@acme.example>",
                subject="Automatic reply: We have received your enquiry",
                headers={"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"},
            )
        )
    db.session.commit()

    assert receipts(db) == 1
    assert count(db, Enquiry) == 1
    assert first.enquiry_id is not None


def test_mail_from_staff_is_logged_as_an_email_activity(
    db, make_user, make_organisation, make_contact
):
    member = make_user("member", email="maria@example.org")
    acme = make_organisation("Acme AB", email_domains=["acme.example"])
    anna = make_contact("Anna", "Andersson", email="anna@acme.example")

    email = file_message(
        message(
            sender="Maria <Maria@example.org>",
            to="anna@acme.example",
            cc="office@example.org",
            subject="Our meeting",
            body="Hi Anna, see you on Tuesday.",
        )
    )
    db.session.commit()

    activity = db.session.get(Activity, email.activity_id)
    assert email.state == EmailState.FILED and email.logged_by_id == member.id
    assert activity.kind == ActivityKind.EMAIL
    assert activity.title == "Our meeting"
    assert activity.start_date.isoformat() == "2026-03-03"
    assert [contact.id for contact in activity.contacts] == [anna.id]
    assert [link.organisation_id for link in activity.organisations] == [acme.id]
    assert count(db, Enquiry) == 0
    # The text stays in the e-mail only, so its erasure and retention reach every copy.
    assert activity.description is None


def test_the_activity_page_shows_its_email(client, db, signed_in, make_user):
    make_user("member", email="maria@example.org")
    email = file_message(
        message(sender="maria@example.org", to="anna@acme.example", subject="Our meeting",
                body="Hi Anna, see you on Tuesday.")
    )  # fmt: skip
    db.session.commit()
    signed_in("viewer")

    page = client.get(f"/activities/{email.activity_id}").get_data(as_text=True)

    assert f'<a href="/mail/{email.id}">Our meeting</a>' in page
    assert "see you on Tuesday." in page


def test_a_forward_from_staff_logs_the_forwarded_people(db, make_user, make_contact):
    make_user("member", email="maria@example.org")
    bo = make_contact("Bo", "Berg", email="bo@acme.example")

    email = file_message(
        message(
            sender="maria@example.org",
            subject="Fwd: Offer",
            body="FYI\n\n---------- Forwarded message ---------\nFrom: Bo Berg <bo@acme.example>\n"
            "To: maria@example.org\nSubject: Offer\n\nHere is our offer.",
        )
    )

    activity = db.session.get(Activity, email.activity_id)
    assert [contact.id for contact in activity.contacts] == [bo.id]


def test_an_inactive_user_or_the_office_itself_is_unmatched(db, make_user):
    make_user("member", email="gone@example.org", active=False)

    former = file_message(message(sender="gone@example.org"))
    own = file_message(message(sender="office@example.org", message_id="<own@example.org>"))

    assert former.state == own.state == EmailState.UNMATCHED
    assert count(db, Enquiry) == 0


def test_bad_mail_is_quarantined_and_the_next_message_still_filed(db, app):
    app.config["MAIL_MAX_MESSAGE_BYTES"] = 5000
    huge = message(body="x" * 10_000, message_id="<huge@acme.example>")
    undecodable = (
        b"From: a@acme.example\r\nMessage-ID: <bad@acme.example>\r\n"
        b"Content-Type: text/plain; charset=no-such-charset\r\n\r\nHej\r\n"
    )

    results = [file_message(raw) for raw in (huge, undecodable, b"", b"\r\n\r\nno headers")]
    good = file_message(message())
    db.session.commit()

    assert [email.state for email in results] == [EmailState.QUARANTINED] * 4
    assert results[0].message_id == "<huge@acme.example>"
    assert results[0].quarantine_reason.startswith("too large")
    assert results[1].quarantine_reason.startswith("undecodable")
    assert good.state == EmailState.FILED and good.enquiry_id is not None
    # Read again after a crash: still stored once.
    assert file_message(huge).id == results[0].id


def test_hostile_html_is_stored_sanitised(db):
    email = file_message(
        message(html="<p>Hi</p><script>alert(1)</script><img src='https://t.example/x.gif'>")
    )

    assert "<script" not in email.body_html and "<img" not in email.body_html
    assert "alert" not in email.body_html


def test_attachments_are_stored_as_documents_and_a_disguised_program_refused(db):
    email = file_message(
        message(
            attachments=[
                ("offer.pdf", "application/pdf", PDF),
                ("invoice.pdf", "application/pdf", b"MZ\x90\x00\x03" + b"\x00" * 100),
                ("setup.exe", "application/octet-stream", b"MZ\x90\x00" + b"\x00" * 100),
            ]
        )
    )
    db.session.commit()

    documents = db.session.scalars(sa.select(Document).where(Document.email_id == email.id)).all()
    assert [(document.original_filename, document.content_type) for document in documents] == [
        ("offer.pdf", "application/pdf")
    ]
    assert not documents[0].is_public
