"""The pages that gather what several domains hold about one record (crm/hubs): an
organisation's, a contact's and an agreement's page each list the tasks, activities and
enquiries about that record, and only those (an organisation's and a contact's in their
timeline, crm/timeline)."""

from crm.activities import task_services


def _section(page, heading_id):
    section = page[page.index(f'id="{heading_id}"') :]
    return section[: section.index("</section>")]


def _task(title, subject):
    task = task_services.create_task(
        title=title,
        subject=subject,
        subject_kind=task_services.subject_for(subject).column,
        actor=None,
    )
    return task


def test_the_agreement_page_lists_the_agreements_own_open_tasks(
    client, db, login, make_organisation, make_agreement, make_activity
):
    """It listed the open tasks of the activity whose id equals the agreement's id."""
    login("viewer")
    agreement = make_agreement("Biobank MoU", parties=[make_organisation("Party AB")])
    activity = make_activity("Workshop")
    assert activity.id == agreement.id  # the two ids the old page mixed up
    _task("Send the signed copy", agreement)
    _task("Book the room", activity)
    db.session.commit()

    page = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)

    tasks = _section(page, "tasks-heading")
    assert "Send the signed copy" in tasks
    assert "Book the room" not in tasks


def test_an_organisation_page_lists_its_own_tasks_activities_and_enquiries(
    client, db, login, make_organisation, make_activity, make_enquiry
):
    login("coordinator")
    client.post("/language/en?next=/")
    ours, other = make_organisation("Ours AB"), make_organisation("Other AB")
    make_activity("Our workshop", organisations=[ours])
    make_activity("Their workshop", organisations=[other])
    _task("Call ours back", ours)
    _task("Call them back", other)
    ours_enquiry, their_enquiry = make_enquiry(), make_enquiry()
    ours_enquiry.organisation_id, their_enquiry.organisation_id = ours.id, other.id
    db.session.commit()

    page = client.get(f"/organisations/{ours.id}").get_data(as_text=True)

    timeline = _section(page, "timeline-heading")
    assert "Our workshop" in timeline and "Their workshop" not in page
    assert "Call ours back" in timeline and "Call them back" not in page
    assert ours_enquiry.reference in timeline and their_enquiry.reference not in page


def test_a_member_sees_only_the_enquiries_assigned_to_them_on_a_contact_page(
    client, db, login, make_contact, make_enquiry
):
    member = login("member")
    contact = make_contact("Eva", "Ek")
    mine, theirs = make_enquiry(), make_enquiry()
    for enquiry in (mine, theirs):
        enquiry.contact_id = contact.id
    mine.assignee_id = member.id
    db.session.commit()

    page = client.get(f"/contacts/{contact.id}").get_data(as_text=True)

    timeline = _section(page, "timeline-heading")
    assert mine.reference in timeline
    assert theirs.reference not in page
