"""The enquiry page puts the message, the facts and the actions first; the longer forms
(reply, follow-up task, convert) open on demand in <details>, and open by themselves when
they come back with errors. Works without JavaScript."""

import re

import pytest

from crm.auth.models import Role
from crm.core.types import utcnow
from crm.enquiries.models import EnquiryStatus


@pytest.fixture
def assigned(db, make_user, make_enquiry):
    member = make_user("member", name="Maja Member")
    enquiry = make_enquiry(
        message="We would like to test our sensor in your lab.",
        assignee_id=member.id,
        status=EnquiryStatus.ASSIGNED,
        assigned_at=utcnow(),
    )
    return member, enquiry


def details_tag(html, element_id):
    match = re.search(rf'<details[^>]*id="{element_id}"[^>]*>', html)
    assert match, f"no <details id={element_id}>"
    return match.group(0)


def test_message_facts_and_actions_come_before_the_long_forms(client, signed_in, assigned):
    member, enquiry = assigned
    signed_in(member)

    html = client.get(f"/enquiries/{enquiry.id}").get_data(as_text=True)

    positions = [
        html.index(enquiry.message),
        html.index('id="facts-heading"'),
        html.index('id="actions-heading"'),
        html.index('id="reply"'),
        html.index('id="new-task"'),
        html.index('id="convert"'),
    ]
    assert positions == sorted(positions)
    for element_id in ("reply", "new-task", "convert"):
        assert " open" not in details_tag(html, element_id)
    # The actions name the forms and lead to them.
    actions = html.split('id="actions-heading"')[1].split("</section>")[0]
    for target in ("#reply", "#new-task", "#convert"):
        assert f'href="{target}"' in actions


def test_a_task_form_with_errors_comes_back_open(client, signed_in, assigned):
    member, enquiry = assigned
    signed_in(member)

    response = client.post(f"/enquiries/{enquiry.id}/tasks", data={"task-title": ""})

    html = response.get_data(as_text=True)
    assert response.status_code in (200, 400)
    assert " open" in details_tag(html, "new-task")
    assert " open" not in details_tag(html, "convert")


def test_a_conversion_with_errors_comes_back_open(client, signed_in, assigned):
    member, enquiry = assigned
    signed_in(member)

    response = client.post(
        f"/enquiries/{enquiry.id}/convert",
        data={"convert-organisation_mode": "new", "convert-contact_mode": "new"},
    )

    html = response.get_data(as_text=True)
    assert " open" in details_tag(html, "convert")
    assert " open" not in details_tag(html, "new-task")


def test_a_reply_with_errors_comes_back_open(client, signed_in, assigned):
    member, enquiry = assigned
    signed_in(member)

    response = client.post(
        f"/enquiries/{enquiry.id}/reply", data={"reply-subject": "", "reply-body": ""}
    )

    assert " open" in details_tag(response.get_data(as_text=True), "reply")


def test_a_coordinator_sees_assign_among_the_actions(client, signed_in, make_enquiry):
    signed_in(Role.COORDINATOR)
    enquiry = make_enquiry()

    html = client.get(f"/enquiries/{enquiry.id}").get_data(as_text=True)

    actions = html.split('id="actions-heading"')[1]
    assert actions.index('id="triage-heading"') < actions.index('id="conversation-heading"')
