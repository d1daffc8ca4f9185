"""The unmatched-mail pages and the e-mail's own page: actions, roles and safe display."""

import pytest
import sqlalchemy as sa

from crm.activities.models import Activity
from crm.core import records
from crm.mail.models import Email, EmailDirection, EmailState
from crm.mailbox.routing import file_message
from crm.mailbox.services import can_read, readable_emails
from tests.mailbox_messages import message

HOSTILE = "<p>Hi</p><img src='https://tracker.example/p.gif' onerror='alert(1)'><b>bold</b>"


@pytest.fixture
def unmatched(db):
    email = file_message(
        message(
            subject="Newsletter",
            body="Plain text of the letter",
            html=HOSTILE,
            headers={"List-Id": "<news.acme.example>"},
        )
    )
    db.session.commit()
    assert email.state == EmailState.UNMATCHED
    return email


def test_the_unmatched_list_shows_the_message_and_says_incoming_mail_is_off(
    client, signed_in, unmatched
):
    signed_in("coordinator")

    page = client.get("/mail/").get_data(as_text=True)

    assert "Newsletter" in page
    assert "Incoming mail is off" in page
    assert f"/mail/{unmatched.id}" in page


def test_the_empty_list_says_so(client, signed_in, db):
    signed_in("admin")

    assert "No unmatched mail" in client.get("/mail/").get_data(as_text=True)


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_see_neither_the_list_nor_an_unmatched_message(
    client, login, unmatched, role
):
    login(role)

    assert client.get("/mail/").status_code == 403
    assert client.get(f"/mail/{unmatched.id}").status_code == 404
    assert client.post(f"/mail/{unmatched.id}/discard").status_code == 403


def test_the_message_page_shows_text_never_the_html(client, signed_in, unmatched):
    signed_in("coordinator")

    page = client.get(f"/mail/{unmatched.id}").get_data(as_text=True)

    assert "Plain text of the letter" in page
    assert "tracker.example" not in page
    assert "<b>bold</b>" not in page and "onerror" not in page


def test_attach_to_an_enquiry_by_reference(client, signed_in, unmatched, make_enquiry, db):
    enquiry = make_enquiry()
    signed_in("coordinator")

    response = client.post(f"/mail/{unmatched.id}/attach", data={"reference": enquiry.reference})

    assert response.status_code == 302
    db.session.refresh(unmatched)
    assert unmatched.enquiry_id == enquiry.id and unmatched.state == EmailState.FILED
    assert unmatched.handled_by_id is not None


def test_an_unknown_reference_changes_nothing(client, signed_in, unmatched, db):
    signed_in("coordinator")

    response = client.post(
        f"/mail/{unmatched.id}/attach", data={"reference": "ENQ-2020-99999"}, follow_redirects=True
    )

    assert "There is no enquiry with that reference" in response.get_data(as_text=True)
    db.session.refresh(unmatched)
    assert unmatched.state == EmailState.UNMATCHED


def test_log_as_an_activity(client, signed_in, unmatched, make_contact, db):
    contact = make_contact("Anna", "Andersson", email="anna@acme.example")
    signed_in("coordinator")

    response = client.post(f"/mail/{unmatched.id}/log")

    assert response.status_code == 302
    db.session.refresh(unmatched)
    activity = db.session.get(Activity, unmatched.activity_id)
    assert [item.id for item in activity.contacts] == [contact.id]


def test_discard_asks_first(client, signed_in, unmatched, db):
    signed_in("coordinator")

    confirm = client.get(f"/mail/{unmatched.id}/discard")
    assert "Discard this e-mail?" in confirm.get_data(as_text=True)
    db.session.refresh(unmatched)
    assert unmatched.state == EmailState.UNMATCHED

    response = client.post(f"/mail/{unmatched.id}/discard", follow_redirects=True)

    assert "The e-mail is discarded" in response.get_data(as_text=True)
    db.session.refresh(unmatched)
    assert unmatched.state == EmailState.DISCARDED
    assert "Newsletter" not in client.get("/mail/").get_data(as_text=True)


def test_a_member_reads_the_mail_of_their_enquiry_and_not_of_others(
    client, login, make_user, make_enquiry, db
):
    member = make_user("member")
    mine = make_enquiry(assignee_id=member.id)
    other = make_enquiry()
    mine_mail = file_message(message(subject=f"Re: {mine.reference}", message_id="<m1@a.example>"))
    other_mail = file_message(
        message(subject=f"Re: {other.reference}", message_id="<m2@a.example>")
    )
    db.session.commit()
    login(member)

    assert client.get(f"/mail/{mine_mail.id}").status_code == 200
    assert client.get(f"/mail/{other_mail.id}").status_code == 404


def test_an_attachment_of_an_unreadable_email_is_not_found(client, login, db):
    email = file_message(
        message(
            headers={"Precedence": "bulk"},
            attachments=[("a.pdf", "application/pdf", b"%PDF-1.4\n%%EOF\n")],
        )
    )
    db.session.commit()
    from crm.documents.models import Document

    document = db.session.scalars(sa.select(Document).where(Document.email_id == email.id)).one()
    login("member")

    assert client.get(f"/documents/{document.id}").status_code == 404
    assert client.get(f"/documents/{document.id}/download").status_code == 404
    assert client.get(f"/documents/new?email_id={email.id}").status_code == 404


def test_the_list_rule_for_emails_agrees_with_the_page_rule(
    db, make_user, make_enquiry, make_activity
):
    """readable_emails (the timeline) and can_read (the e-mail's page) are one rule twice."""
    member = make_user("member")
    mine, other = make_enquiry(), make_enquiry()
    mine.assignee_id = member.id
    live, gone = make_activity("Live"), make_activity("Gone")
    records.soft_delete(gone, actor=None)
    places = [
        {"enquiry_id": mine.id},
        {"enquiry_id": other.id},
        {"activity_id": live.id},
        {"activity_id": gone.id},
        {"enquiry_id": other.id, "activity_id": live.id},
        {"state": EmailState.UNMATCHED},
    ]
    for number, place in enumerate(places):
        db.session.add(
            Email(
                message_id=f"<rule-{number}@example.com>",
                direction=EmailDirection.INCOMING,
                state=place.pop("state", EmailState.FILED),
                **place,
            )
        )
    db.session.commit()
    emails = db.session.scalars(sa.select(Email)).all()

    for user in (member, make_user("viewer"), make_user("coordinator")):
        listed = set(db.session.scalars(sa.select(Email.id).where(readable_emails(user))))
        assert listed == {email.id for email in emails if can_read(email, user)}, user.role
