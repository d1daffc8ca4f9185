"""Bulk actions on the enquiry list: choosing rows or all that match, the confirmation page,
assigning and changing status through the services (one audit entry each), the export of
the selection, and who may change what."""

import csv
import io

import sqlalchemy as sa

from crm.core.models import AuditEntry
from crm.enquiries.models import Enquiry, EnquiryStatus, Topic
from crm.mail.models import OutboxMessage


def audit_actions(db, enquiry, action):
    return db.session.scalars(
        sa.select(AuditEntry).where(
            AuditEntry.entity_type == "enquiries",
            AuditEntry.entity_id == enquiry.id,
            AuditEntry.action == action,
        )
    ).all()


def reload(db, enquiry):
    db.session.expire_all()
    return db.session.get(Enquiry, enquiry.id)


def test_list_has_a_labelled_checkbox_per_row_and_the_bulk_bar(client, signed_in, make_enquiry):
    signed_in("coordinator")
    enquiry = make_enquiry()
    html = client.get("/enquiries/").get_data(as_text=True)
    assert f'id="select-{enquiry.id}"' in html
    assert f"Select {enquiry.reference}" in html
    assert "All 1 enquiry that matches the filter" in html
    assert '<option value="assign">Assign</option>' in html


def test_coordinator_assigns_the_ticked_enquiries(client, db, signed_in, make_enquiry, make_user):
    signed_in("coordinator")
    colleague = make_user("member", name="Colleague")
    first, second, untouched = make_enquiry(), make_enquiry(), make_enquiry()

    page = client.get(
        "/enquiries/bulk", query_string={"id": [first.id, second.id], "action": "assign"}
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "You have chosen 2 enquiries." in html
    assert "Assign 2 enquiries" in html
    # The confirmation page changes nothing.
    assert reload(db, first).assignee_id is None

    response = client.post(
        "/enquiries/bulk",
        data={"id": [first.id, second.id], "action": "assign", "bulk-assignee_id": colleague.id},
        follow_redirects=True,
    )
    assert "2 enquiries changed." in response.get_data(as_text=True)
    for enquiry in (first, second):
        enquiry = reload(db, enquiry)
        assert enquiry.assignee_id == colleague.id
        assert enquiry.status == EnquiryStatus.ASSIGNED
        assert len(audit_actions(db, enquiry, "assign")) == 1
    assert reload(db, untouched).assignee_id is None
    assert audit_actions(db, untouched, "assign") == []
    told = db.session.scalars(
        sa.select(OutboxMessage).where(
            OutboxMessage.kind == "enquiry_assigned", OutboxMessage.recipient == colleague.email
        )
    ).all()
    assert len(told) == 2


def test_all_that_match_the_filter(client, db, signed_in, make_enquiry):
    signed_in("coordinator")
    matching = [make_enquiry(topic=Topic.RD_COLLABORATION) for _ in range(3)]
    other = make_enquiry(topic=Topic.OTHER)

    html = client.get(
        "/enquiries/bulk",
        query_string={"topic": "rd_collaboration", "scope": "all", "action": "status"},
    ).get_data(as_text=True)
    assert "You have chosen 3 enquiries." in html
    # The filter goes on to the form, so the way back keeps it.
    assert 'name="topic" value="rd_collaboration"' in html

    response = client.post(
        "/enquiries/bulk",
        data={
            "id": [e.id for e in matching],
            "action": "status",
            "topic": "rd_collaboration",
            "bulk-status": "in_progress",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/enquiries/?topic=rd_collaboration")
    assert all(reload(db, e).status == EnquiryStatus.IN_PROGRESS for e in matching)
    assert reload(db, other).status == EnquiryStatus.NEW


def test_closing_needs_a_reason_and_bad_input_changes_nothing(client, db, signed_in, make_enquiry):
    signed_in("coordinator")
    enquiry = make_enquiry()
    response = client.post(
        "/enquiries/bulk",
        data={"id": enquiry.id, "action": "status", "bulk-status": "closed"},
    )
    assert response.status_code == 200
    assert "Choose why the enquiries are closed." in response.get_data(as_text=True)
    assert reload(db, enquiry).status == EnquiryStatus.NEW

    for data in (
        {"id": enquiry.id, "action": "status", "bulk-status": "converted"},
        {"id": enquiry.id, "action": "status", "bulk-status": "nonsense"},
        {"id": "abc", "action": "status", "bulk-status": "waiting"},
        {"id": enquiry.id, "action": "delete"},
    ):
        response = client.post("/enquiries/bulk", data=data)
        assert response.status_code in (200, 302, 400)
        assert reload(db, enquiry).status == EnquiryStatus.NEW

    response = client.get("/enquiries/bulk", query_string={"action": "status"})
    assert response.status_code == 302
    response = client.get("/enquiries/bulk", query_string={"action": "drop", "id": enquiry.id})
    assert response.status_code == 302


def test_refusals_speak_of_enquiries_not_rows(client, signed_in, make_enquiry):
    """The enquiry list's bulk pages are the shared ones, in the enquiries' own words."""
    signed_in("member")
    others = make_enquiry()
    for args, message in (
        ({"action": "drop", "id": others.id}, "Choose what to do with the chosen enquiries."),
        ({"action": "status"}, "Choose at least one enquiry."),
    ):
        response = client.get("/enquiries/bulk", query_string=args, follow_redirects=True)
        assert message in response.get_data(as_text=True)
    response = client.post(
        "/enquiries/bulk",
        data={"id": others.id, "action": "status", "bulk-status": "waiting"},
        follow_redirects=True,
    )
    assert "None of the chosen enquiries can be changed by you." in response.get_data(as_text=True)

    client.post("/language/sv?next=/")
    response = client.get(
        "/enquiries/bulk", query_string={"action": "status"}, follow_redirects=True
    )
    assert "Välj minst en förfrågan." in response.get_data(as_text=True)


def test_refusals_are_reported_and_the_others_still_change(client, db, signed_in, make_enquiry):
    signed_in("coordinator")
    new, closed = make_enquiry(), make_enquiry()
    client.post(
        "/enquiries/bulk",
        data={
            "id": closed.id,
            "action": "status",
            "bulk-status": "closed",
            "bulk-closed_reason": "answered",
        },
    )
    response = client.post(
        "/enquiries/bulk",
        data={"id": [new.id, closed.id], "action": "status", "bulk-status": "waiting"},
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "1 enquiry changed." in html
    assert f"{reload(db, closed).reference} was not changed" in html
    assert reload(db, new).status == EnquiryStatus.WAITING
    assert reload(db, closed).status == EnquiryStatus.CLOSED


def test_member_changes_only_their_own_enquiries(client, db, signed_in, make_enquiry, make_user):
    other = make_user("member")
    member = make_user("member")
    own = make_enquiry(assignee_id=member.id, status=EnquiryStatus.ASSIGNED)
    theirs = make_enquiry(assignee_id=other.id, status=EnquiryStatus.ASSIGNED)
    unassigned = make_enquiry()
    signed_in(member)

    html = client.get("/enquiries/").get_data(as_text=True)
    assert '<option value="assign">' not in html

    # "All" is what the member's list shows: their own.
    html = client.get(
        "/enquiries/bulk", query_string={"scope": "all", "action": "status"}
    ).get_data(as_text=True)
    assert "You have chosen 1 enquiry." in html

    client.post(
        "/enquiries/bulk",
        data={
            "id": [own.id, theirs.id, unassigned.id],
            "action": "status",
            "bulk-status": "in_progress",
        },
    )
    assert reload(db, own).status == EnquiryStatus.IN_PROGRESS
    assert reload(db, theirs).status == EnquiryStatus.ASSIGNED
    assert reload(db, unassigned).status == EnquiryStatus.NEW
    assert audit_actions(db, theirs, "status") == []

    # Only their enquiries: nothing to change, nothing changed.
    response = client.post(
        "/enquiries/bulk",
        data={"id": theirs.id, "action": "status", "bulk-status": "waiting"},
        follow_redirects=True,
    )
    assert "None of the chosen enquiries can be changed by you." in response.get_data(as_text=True)
    # Members do not assign, in bulk or one by one.
    response = client.post(
        "/enquiries/bulk",
        data={"id": own.id, "action": "assign", "bulk-assignee_id": other.id},
    )
    assert response.status_code == 403
    assert reload(db, own).assignee_id == member.id


def test_viewer_has_no_bulk_actions(client, signed_in, make_enquiry):
    enquiry = make_enquiry()
    signed_in("viewer")
    assert client.get(f"/enquiries/bulk?action=export&id={enquiry.id}").status_code == 403
    response = client.post(
        "/enquiries/bulk", data={"id": enquiry.id, "action": "status", "bulk-status": "waiting"}
    )
    assert response.status_code == 403


def test_export_of_the_selection(client, signed_in, make_enquiry):
    signed_in("coordinator")
    first, _second, third = make_enquiry(), make_enquiry(), make_enquiry()
    response = client.get(
        "/enquiries/bulk", query_string={"id": [first.id, third.id], "action": "export"}
    )
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "reference"
    assert sorted(row[0] for row in rows[1:]) == sorted([first.reference, third.reference])
