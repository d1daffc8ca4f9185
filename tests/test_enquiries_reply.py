"""Replying to the enquirer from the enquiry: who may, the form and its templates, the queued
message and its stored e-mail, the headers on the wire (aiosmtpd), threading, injection, the
first response and the waiting status; and the admin pages for reply templates."""

import email
import email.policy
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from markupsafe import escape

from crm.core.models import AuditEntry
from crm.core.types import utcnow
from crm.enquiries import services
from crm.enquiries.models import EnquirySource, EnquiryStatus, ReplyTemplate
from crm.mail.models import Email, EmailDirection, EmailState, OutboxMessage, OutboxStatus
from crm.mail.sending import build_message, send_due_messages
from crm.reports import figures
from crm.settings import services as settings
from tests.test_mail_smtp import smtp  # noqa: F401  (the real SMTP server fixture)


@pytest.fixture
def assigned(db, make_user, make_enquiry):
    member = make_user("member", name="Maja Member")
    enquiry = make_enquiry(
        name="Sarah Mitchell",
        email="sarah@datawell.example",
        language="en",
        age=timedelta(days=2),
        assignee_id=member.id,
        status=EnquiryStatus.ASSIGNED,
        assigned_at=utcnow() - timedelta(days=1),
    )
    db.session.commit()
    return member, enquiry


def reply(client, enquiry, *, subject=None, body="Thank you for writing to us."):
    return client.post(
        f"/enquiries/{enquiry.id}/reply",
        data={"reply-subject": subject or f"Re: {enquiry.reference}", "reply-body": body},
    )


def sent_emails(db, enquiry):
    db.session.expire_all()
    return db.session.scalars(
        sa.select(Email).where(Email.enquiry_id == enquiry.id).order_by(Email.id)
    ).all()


def only_replies_due(db):
    """The enquiry's receipt and notices are sent already: only replies are due."""
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.kind != "enquiry_reply")
        .values(status=OutboxStatus.SENT)
    )
    db.session.commit()


def replies_queued(db):
    return db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "enquiry_reply")
    ).all()


# ---------------------------------------------------------------- who may reply


def test_the_assignee_and_coordinators_reply(client, db, signed_in, assigned, make_user):
    member, enquiry = assigned
    signed_in(member)
    assert 'id="reply-heading"' in client.get(f"/enquiries/{enquiry.id}").get_data(as_text=True)
    assert reply(client, enquiry).status_code == 302

    client.post("/logout")
    signed_in("coordinator")
    assert reply(client, enquiry, body="Second").status_code == 302
    client.post("/logout")
    signed_in("admin")
    assert reply(client, enquiry, body="Third").status_code == 302

    assert len(replies_queued(db)) == 3


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_others_get_no_form_and_are_refused(client, db, signed_in, assigned, role):
    _member, enquiry = assigned
    signed_in(role)  # a member who is not the assignee, or a viewer

    page = client.get(f"/enquiries/{enquiry.id}")
    response = reply(client, enquiry)

    assert page.status_code in (403, 404)
    assert response.status_code in (403, 404)
    assert replies_queued(db) == []
    assert sent_emails(db, enquiry) == []


def test_may_reply_rules(db, make_user, assigned):
    member, enquiry = assigned
    other = make_user("member")
    assert services.may_reply(enquiry, member)
    assert services.may_reply(enquiry, make_user("coordinator"))
    assert not services.may_reply(enquiry, other)
    assert not services.may_reply(enquiry, make_user("viewer"))
    enquiry.anonymised_at = utcnow()
    assert not services.may_reply(enquiry, member)
    with pytest.raises(services.EnquiryError):
        services.send_reply(enquiry, subject="Re", body="Hello", actor=member)


# ---------------------------------------------------------------- the form


def test_the_form_is_prefilled_with_the_reference_and_topic(client, signed_in, assigned):
    member, enquiry = assigned
    signed_in(member)

    html = client.get(f"/enquiries/{enquiry.id}").get_data(as_text=True)

    subject = services.reply_subject(enquiry)
    with force_locale("en"):  # the enquirer's language
        assert subject == f"Re: {enquiry.reference} {enquiry.topic.label}"
    assert f'value="{escape(subject)}"' in html
    assert "sarah@datawell.example" in html


def test_an_email_enquiry_replies_to_its_original_subject(db, make_enquiry):
    enquiry = make_enquiry(language="sv")
    enquiry.source = EnquirySource.EMAIL
    db.session.add(
        Email(
            message_id="<first@datawell.example>",
            direction=EmailDirection.INCOMING,
            subject="SV: Pilot of federated queries",
            from_address="sarah@datawell.example",
            enquiry_id=enquiry.id,
        )
    )
    db.session.flush()

    assert services.reply_subject(enquiry) == f"Re: {enquiry.reference} Pilot of federated queries"


def test_templates_follow_the_language(client, db, signed_in, assigned):
    member, enquiry = assigned
    swedish = ReplyTemplate(language="sv", name="Tack", body="Hej! Tack för ditt meddelande.")
    english = ReplyTemplate(language="en", name="Thanks", body="Hello! Thank you for writing.")
    db.session.add_all([swedish, english])
    db.session.commit()
    signed_in(member)

    html = client.get(f"/enquiries/{enquiry.id}").get_data(as_text=True)
    # The enquirer writes English: English is chosen, and its templates come first.
    assert re.search(r'<option value="en" selected>', html)
    assert html.index('data-language="en"') < html.index('data-language="sv"')

    picked = client.get(f"/enquiries/{enquiry.id}?reply_language=sv&template={swedish.id}")
    html = picked.get_data(as_text=True)
    assert re.search(r'<option value="sv" selected>', html)
    assert html.index('data-language="sv"') < html.index('data-language="en"')
    assert "Hej! Tack för ditt meddelande.</textarea>" in html
    # A template id that means nothing leaves the reply empty.
    html = client.get(f"/enquiries/{enquiry.id}?template=x99").get_data(as_text=True)
    assert "Hej! Tack" not in html.split('name="reply-body"')[1].split("</textarea>")[0]


def test_a_missing_body_is_refused_with_a_message(client, db, signed_in, assigned):
    member, enquiry = assigned
    signed_in(member)

    response = reply(client, enquiry, body="   ")

    assert response.status_code == 200
    assert "Write the reply." in response.get_data(as_text=True)
    assert replies_queued(db) == []


# ---------------------------------------------------------------- what is queued and stored


def test_a_reply_is_queued_and_stored_in_the_conversation(client, db, signed_in, assigned):
    member, enquiry = assigned
    signed_in(member)

    response = reply(client, enquiry, body="Dear Sarah,\n\nThank you.\n<b>not html</b>")

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/enquiries/{enquiry.id}#conversation")
    [message] = replies_queued(db)
    [stored] = sent_emails(db, enquiry)
    office = settings.get("office_name")
    assert message.recipient == "sarah@datawell.example"
    assert message.subject == f"Re: {enquiry.reference}"
    assert message.sender_name == office
    assert message.reply_to == "office@example.org"  # MAIL_REPLY_ADDRESS
    assert message.enquiry_id == enquiry.id
    assert message.status == OutboxStatus.PENDING
    assert re.fullmatch(r"<[^<>@\s]+@example\.org>", message.message_id)
    assert message.in_reply_to is None and message.references is None
    assert stored.message_id == message.message_id
    assert stored.direction == EmailDirection.OUTGOING
    assert stored.state == EmailState.FILED
    assert stored.outbox_message_id == message.id
    assert stored.sent_by_id == member.id
    assert stored.to_addresses == "sarah@datawell.example"
    assert stored.subject == message.subject
    assert stored.body_text == "Dear Sarah,\n\nThank you.\n<b>not html</b>"
    # At once in the conversation, below the enquiry's own message, as escaped text.
    html = client.get(f"/enquiries/{enquiry.id}").get_data(as_text=True)
    conversation = html.split('id="conversation-heading"')[1]
    assert html.index(enquiry.message) < html.index('id="conversation-heading"')
    assert "Dear Sarah," in conversation
    assert "&lt;b&gt;not html&lt;/b&gt;" in conversation
    assert "<b>not html</b>" not in html
    assert "Maja Member replied" in conversation


def test_the_reply_address_falls_back_to_the_sender(app, db, assigned):
    member, enquiry = assigned
    app.config["MAIL_REPLY_ADDRESS"] = None

    services.send_reply(enquiry, subject="Re", body="Hello", actor=member)

    [message] = replies_queued(db)
    assert message.reply_to == "crm@example.org"
    assert enquiry.reference in message.subject  # added when the subject lacked it


def test_incoming_mail_shows_its_new_part_and_the_whole_collapsed(client, db, signed_in, assigned):
    member, enquiry = assigned
    db.session.add(
        Email(
            message_id="<answer@datawell.example>",
            direction=EmailDirection.INCOMING,
            subject="Re: hello",
            from_address="sarah@datawell.example",
            from_name="Sarah Mitchell",
            body_text="Yes please.\n\n> On Monday you wrote: <script>x</script>",
            reply_text="Yes please.",
            body_html="<p>Yes please.</p><img src='https://tracker.example/x.png'>",
            enquiry_id=enquiry.id,
        )
    )
    db.session.commit()
    signed_in(member)

    html = client.get(f"/enquiries/{enquiry.id}").get_data(as_text=True)

    assert "Yes please." in html
    assert "<details>" in html.split('id="conversation-heading"')[1]
    assert "&gt; On Monday you wrote: &lt;script&gt;x&lt;/script&gt;" in html
    assert "tracker.example" not in html  # the HTML is never shown


# ---------------------------------------------------------------- headers


def test_headers_on_the_wire(app, db, smtp, assigned):  # noqa: F811
    member, enquiry = assigned
    settings.put("office_name", "Innovation Office – GMS")
    db.session.add(
        Email(
            message_id="<question@datawell.example>",
            direction=EmailDirection.INCOMING,
            references="<older@datawell.example>",
            subject="Question",
            from_address="sarah@datawell.example",
            enquiry_id=enquiry.id,
            received_at=utcnow() - timedelta(hours=1),
        )
    )
    services.send_reply(enquiry, subject="Re: Question", body="Answer.", actor=member)
    db.session.commit()
    only_replies_due(db)
    [message] = replies_queued(db)
    smtp.start()

    assert send_due_messages()["sent"] == 1

    [(_peer, envelope)] = smtp.handler.envelopes
    parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert envelope.mail_from == "crm@example.org"
    assert envelope.rcpt_tos == ["sarah@datawell.example"]
    assert str(parsed["From"]) == "Innovation Office – GMS <crm@example.org>"
    assert str(parsed["Reply-To"]) == "office@example.org"
    assert parsed["Message-ID"] == message.message_id
    assert parsed["In-Reply-To"] == "<question@datawell.example>"
    assert parsed["References"] == "<older@datawell.example> <question@datawell.example>"
    assert parsed["Subject"] == f"Re: Question [{enquiry.reference}]"
    assert parsed["Auto-Submitted"] is None  # a person wrote it: a company's responder may answer
    assert message.in_reply_to == "<question@datawell.example>"
    [_question, sent] = sent_emails(db, enquiry)
    assert sent.message_id == parsed["Message-ID"]
    assert sent.in_reply_to == parsed["In-Reply-To"]
    assert sent.references == parsed["References"]


def test_a_mail_outage_loses_nothing(app, db, smtp, assigned):  # noqa: F811
    member, enquiry = assigned
    services.send_reply(enquiry, subject="Re", body="Hello", actor=member)
    only_replies_due(db)

    assert send_due_messages()["retried"] == 1  # the server is down
    [message] = replies_queued(db)
    assert message.status == OutboxStatus.PENDING
    smtp.start()
    assert send_due_messages(now=message.next_attempt_at)["sent"] == 1
    parsed = email.message_from_bytes(smtp.handler.envelopes[0][1].original_content)
    assert parsed["Message-ID"] == message.message_id  # the same on every attempt


def test_a_second_reply_threads_on_the_first(db, assigned):
    member, enquiry = assigned

    first = services.send_reply(enquiry, subject="Re: 1", body="One", actor=member)
    second = services.send_reply(enquiry, subject="Re: 2", body="Two", actor=member)

    assert first.in_reply_to is None
    assert second.in_reply_to == first.message_id
    assert second.references == first.message_id
    assert second.message_id != first.message_id
    third = services.send_reply(enquiry, subject="Re: 3", body="Three", actor=member)
    assert third.references == f"{first.message_id} {second.message_id}"
    outbox = db.session.get(OutboxMessage, third.outbox_message_id)
    assert (outbox.in_reply_to, outbox.references) == (third.in_reply_to, third.references)


@pytest.mark.parametrize(
    "subject",
    [
        "Re: hello\r\nBcc: victim@example.com",
        "Re: hello\nX-Injected: yes",
        "Re: hello\rContent-Type: text/html",
    ],
)
def test_header_injection_in_the_subject_is_impossible(client, db, signed_in, assigned, subject):
    member, enquiry = assigned
    signed_in(member)

    assert reply(client, enquiry, subject=subject).status_code == 302

    [message] = replies_queued(db)
    assert "\r" not in message.subject and "\n" not in message.subject
    built = build_message(message).as_bytes()
    headers = email.message_from_bytes(built)
    assert headers["Bcc"] is None and headers["X-Injected"] is None
    assert headers.get_all("Content-Type") == ['text/plain; charset="utf-8"']
    assert headers["To"] == "sarah@datawell.example"


def test_hostile_threading_headers_and_office_name_are_cleaned(db, assigned):
    member, enquiry = assigned
    settings.put("office_name", "Office\r\nBcc: victim@example.com")
    db.session.add(
        Email(
            message_id="<ok@datawell.example>",
            direction=EmailDirection.INCOMING,
            references="<a@x.example>\r\nBcc: victim@example.com <b@x.example>",
            from_address="sarah@datawell.example",
            enquiry_id=enquiry.id,
        )
    )
    db.session.flush()

    sent = services.send_reply(enquiry, subject="Re", body="Hello", actor=member)

    outbox = db.session.get(OutboxMessage, sent.outbox_message_id)
    assert outbox.references == "<a@x.example> <b@x.example> <ok@datawell.example>"
    assert outbox.sender_name == "Office Bcc: victim@example.com"
    headers = email.message_from_bytes(build_message(outbox).as_bytes())
    assert headers["Bcc"] is None
    assert "\n" not in headers["From"]


# ---------------------------------------------------------------- first response and status


def test_the_first_reply_is_the_first_response_and_the_enquiry_waits(db, make_user, assigned):
    member, enquiry = assigned
    services.add_comment(enquiry, "Called the data team.", actor=member)
    assert enquiry.first_response_at is None  # a comment is not a response

    services.send_reply(enquiry, subject="Re", body="Hello", actor=member)

    responded = enquiry.first_response_at
    assert responded is not None
    assert enquiry.status == EnquiryStatus.WAITING
    entry = db.session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.entity_type == "enquiries", AuditEntry.action == "reply")
        .order_by(AuditEntry.id)
    ).one()
    assert entry.changes == {"status": ["assigned", "waiting"]}
    assert entry.actor_id == member.id
    # A second reply keeps the first response's time and changes no status.
    services.send_reply(enquiry, subject="Re", body="Again", actor=member)
    assert enquiry.first_response_at == responded
    assert enquiry.status == EnquiryStatus.WAITING


def test_a_reply_to_a_closed_enquiry_keeps_its_status(db, make_enquiry, make_user):
    coordinator = make_user("coordinator")
    enquiry = make_enquiry(closed_ago=timedelta(days=1))

    services.send_reply(enquiry, subject="Re", body="One more thing", actor=coordinator)

    assert enquiry.status == EnquiryStatus.CLOSED


def test_waiting_is_open_and_a_status_to_choose(client, db, signed_in, assigned):
    member, enquiry = assigned
    assert EnquiryStatus.WAITING in services.status_choices(enquiry, member)
    assert services.change_status(enquiry, "waiting", actor=member)
    db.session.commit()
    assert EnquiryStatus.WAITING not in services.status_choices(enquiry, member)
    assert EnquiryStatus.IN_PROGRESS in services.status_choices(enquiry, member)
    signed_in(member)

    # The inbox's "open" filter and the dashboard's own list count it as open.
    inbox = client.get("/enquiries/").get_data(as_text=True)
    assert f'href="/enquiries/{enquiry.id}"' in inbox
    waiting = client.get("/enquiries/?status=waiting").get_data(as_text=True)
    assert f'href="/enquiries/{enquiry.id}"' in waiting
    dashboard = client.get("/dashboard/").get_data(as_text=True)
    assert f"/enquiries/{enquiry.id}" in dashboard


def test_the_report_counts_time_to_the_first_reply(db, assigned):
    member, enquiry = assigned
    services.add_comment(enquiry, "Internal note", actor=member)
    db.session.commit()
    year, quarter = enquiry.received_at.year, (enquiry.received_at.month - 1) // 3 + 1

    [before] = figures.quarter_figures((year, quarter), (year, quarter))
    services.send_reply(enquiry, subject="Re", body="Hello", actor=member)
    db.session.commit()
    [after] = figures.quarter_figures((year, quarter), (year, quarter))

    # "Time to first response" is measured to first_response_at, which only a reply stamps.
    assert before.median_to_first_response is None
    expected = (enquiry.first_response_at - enquiry.received_at).total_seconds()
    assert after.median_to_first_response == pytest.approx(expected, abs=1)


# ---------------------------------------------------------------- reply templates (admin)


def test_admin_adds_edits_and_deletes_a_template(client, db, signed_in):
    signed_in("admin")
    assert "Reply templates" in client.get("/admin/settings").get_data(as_text=True)
    assert "No reply templates yet." in client.get("/admin/reply-templates").get_data(as_text=True)

    response = client.post(
        "/admin/reply-templates/new",
        data={"language": "en", "name": " Thanks ", "body": "Hello!\r\nThank you."},
    )
    assert response.status_code == 302
    template = db.session.scalars(sa.select(ReplyTemplate)).one()
    assert (template.language, template.name, template.body) == (
        "en",
        "Thanks",
        "Hello!\nThank you.",
    )
    listing = client.get("/admin/reply-templates").get_data(as_text=True)
    assert "Thanks" in listing and "English" in listing

    response = client.post(
        f"/admin/reply-templates/{template.id}/edit",
        data={"language": "sv", "name": "Tack", "body": "Hej!"},
    )
    assert response.status_code == 302
    db.session.refresh(template)
    assert (template.language, template.name, template.body) == ("sv", "Tack", "Hej!")

    # Deleting asks first; the GET changes nothing.
    confirm = client.get(f"/admin/reply-templates/{template.id}/delete")
    assert confirm.status_code == 200
    assert "Delete Tack?" in confirm.get_data(as_text=True)
    assert db.session.get(ReplyTemplate, template.id) is not None
    template_id = template.id
    response = client.post(f"/admin/reply-templates/{template_id}/delete")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ReplyTemplate, template_id) is None
    assert client.get(f"/admin/reply-templates/{template_id}/edit").status_code == 404


def test_template_validation(client, db, signed_in):
    signed_in("admin")
    db.session.add(ReplyTemplate(language="sv", name="Tack", body="Hej"))
    db.session.commit()

    empty = client.post(
        "/admin/reply-templates/new", data={"language": "sv", "name": "", "body": ""}
    )
    html = empty.get_data(as_text=True)
    assert empty.status_code == 200
    assert "Enter the template&#39;s name." in html or "Enter the template's name." in html
    assert "Write the template&#39;s text." in html or "Write the template's text." in html

    taken = client.post(
        "/admin/reply-templates/new", data={"language": "sv", "name": "tack", "body": "Hej"}
    )
    assert "There is already a template with this name in this language." in taken.get_data(
        as_text=True
    )
    wrong = client.post(
        "/admin/reply-templates/new", data={"language": "de", "name": "Danke", "body": "Hallo"}
    )
    assert wrong.status_code == 200
    # The same name in the other language is fine.
    other = client.post(
        "/admin/reply-templates/new", data={"language": "en", "name": "Tack", "body": "Hi"}
    )
    assert other.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReplyTemplate)) == 2


@pytest.mark.parametrize("role", ["coordinator", "member", "viewer"])
def test_only_admins_keep_templates(client, db, signed_in, role):
    template = ReplyTemplate(language="sv", name="Tack", body="Hej")
    db.session.add(template)
    db.session.commit()
    signed_in(role)

    for url in (
        "/admin/reply-templates",
        "/admin/reply-templates/new",
        f"/admin/reply-templates/{template.id}/edit",
        f"/admin/reply-templates/{template.id}/delete",
    ):
        assert client.get(url).status_code == 403
    assert client.post(f"/admin/reply-templates/{template.id}/delete").status_code == 403
    assert db.session.get(ReplyTemplate, template.id) is not None
