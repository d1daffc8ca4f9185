"""Bulk actions on the organisation, contact and activity lists: set the owner, add and
remove a tag, change the status, export the chosen rows; one audit entry per record;
viewers only export; deleted rows are never touched."""

import csv
import io

import sqlalchemy as sa

from crm.activities.models import Activity, ActivityStatus
from crm.core.models import AuditEntry
from crm.organisations.models import Contact, Organisation


def updates(db, record):
    return db.session.scalars(
        sa.select(AuditEntry).where(
            AuditEntry.entity_type == record.__tablename__,
            AuditEntry.entity_id == record.id,
            AuditEntry.action == "update",
        )
    ).all()


def fresh(db, model, record):
    db.session.expire_all()
    return db.session.get(model, record.id)


def csv_rows(response):
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_set_the_owner_of_the_chosen_organisations(
    client, db, signed_in, make_organisation, make_user
):
    owner = make_user("member", name="Olle Owner")
    signed_in("member")
    alpha, beta, gamma = (make_organisation(name) for name in ("Alpha AB", "Beta AB", "Gamma AB"))

    html = client.get("/organisations/").get_data(as_text=True)
    assert "Select Alpha AB" in html
    assert "All 3 organisations that match the filter" in html

    html = client.get(
        "/organisations/bulk", query_string={"id": [alpha.id, beta.id], "action": "owner"}
    ).get_data(as_text=True)
    assert "You have chosen 2 organisations." in html
    assert "Set the owner: 2 organisations" in html

    response = client.post(
        "/organisations/bulk",
        data={"id": [alpha.id, beta.id], "action": "owner", "bulk-owner_id": owner.id},
        follow_redirects=True,
    )
    assert "Changed: 2 organisations." in response.get_data(as_text=True)
    for organisation in (alpha, beta):
        assert fresh(db, Organisation, organisation).owner_id == owner.id
        [entry] = updates(db, organisation)
        assert entry.changes["owner_id"] == [None, owner.id]
    assert fresh(db, Organisation, gamma).owner_id is None
    assert updates(db, gamma) == []


def test_add_and_remove_a_tag_on_all_that_match(client, db, signed_in, make_organisation):
    signed_in("member")
    tagged = make_organisation("Tagged AB", tags=["fair"])
    plain = make_organisation("Plain AB")
    other = make_organisation("Elsewhere Oy")

    html = client.get(
        "/organisations/bulk", query_string={"q": "AB", "scope": "all", "action": "add_tag"}
    ).get_data(as_text=True)
    assert "You have chosen 2 organisations." in html

    response = client.post(
        "/organisations/bulk",
        data={"id": [tagged.id, plain.id], "action": "add_tag", "q": "AB", "bulk-tag": "Fair"},
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "Changed: 1 organisation." in html
    assert "Already as chosen, left as they were: 1 organisation." in html
    assert [tag.name for tag in fresh(db, Organisation, plain).tags] == ["fair"]
    assert fresh(db, Organisation, other).tags == []

    client.post(
        "/organisations/bulk",
        data={"id": [tagged.id, plain.id], "action": "remove_tag", "bulk-tag": "fair"},
    )
    assert fresh(db, Organisation, tagged).tags == []
    assert fresh(db, Organisation, plain).tags == []
    # Added once and removed once: two audit entries each, one per change.
    assert len(updates(db, plain)) == 2

    response = client.post(
        "/organisations/bulk", data={"id": plain.id, "action": "add_tag", "bulk-tag": ""}
    )
    assert response.status_code == 200
    assert "Enter a tag." in response.get_data(as_text=True)
    assert fresh(db, Organisation, plain).tags == []


def test_deleted_organisations_are_never_touched(
    client, db, signed_in, make_organisation, make_user
):
    owner = make_user("member")
    signed_in("coordinator")
    gone = make_organisation("Gone AB", deleted=True)
    client.post(
        "/organisations/bulk", data={"id": gone.id, "action": "owner", "bulk-owner_id": owner.id}
    )
    assert fresh(db, Organisation, gone).owner_id is None
    html = client.get("/organisations/?deleted=1").get_data(as_text=True)
    assert 'id="bulk-form"' not in html


def test_viewer_exports_but_does_not_change(client, db, signed_in, make_organisation, make_user):
    owner = make_user("member")
    alpha, beta = make_organisation("Alpha AB"), make_organisation("Beta AB")
    signed_in("viewer")
    html = client.get("/organisations/").get_data(as_text=True)
    assert '<option value="owner">' not in html
    response = client.get(
        "/organisations/bulk", query_string={"id": [alpha.id], "action": "export"}
    )
    assert [row[1] for row in csv_rows(response)[1:]] == ["Alpha AB"]
    assert (
        client.get(
            "/organisations/bulk", query_string={"id": alpha.id, "action": "owner"}
        ).status_code
        == 403
    )
    response = client.post(
        "/organisations/bulk", data={"id": beta.id, "action": "owner", "bulk-owner_id": owner.id}
    )
    assert response.status_code == 403
    assert fresh(db, Organisation, beta).owner_id is None


def test_contacts_owner_and_export(client, db, signed_in, make_contact, make_user):
    owner = make_user("member")
    signed_in("member")
    anna = make_contact("Anna", "Andersson")
    bo = make_contact("Bo", "Berg")
    html = client.get("/contacts/").get_data(as_text=True)
    assert "Select Anna Andersson" in html

    html = client.get("/contacts/bulk", query_string={"scope": "all", "action": "owner"}).get_data(
        as_text=True
    )
    assert "You have chosen 2 contacts." in html
    client.post(
        "/contacts/bulk", data={"id": [anna.id], "action": "owner", "bulk-owner_id": owner.id}
    )
    assert fresh(db, Contact, anna).owner_id == owner.id
    assert fresh(db, Contact, bo).owner_id is None
    assert len(updates(db, anna)) == 1

    response = client.get("/contacts/bulk", query_string={"id": [bo.id], "action": "export"})
    rows = csv_rows(response)
    assert [row[1:3] for row in rows[1:]] == [["Bo", "Berg"]]

    response = client.post(
        "/contacts/bulk", data={"id": [bo.id], "action": "owner", "bulk-owner_id": "999999"}
    )
    assert response.status_code == 200
    assert fresh(db, Contact, bo).owner_id is None


def test_activities_change_status(client, db, signed_in, make_activity):
    signed_in("member")
    first, second = make_activity("First workshop"), make_activity("Second workshop")
    html = client.get("/activities/").get_data(as_text=True)
    assert "Select First workshop" in html
    response = client.post(
        "/activities/bulk",
        data={"id": [first.id, second.id], "action": "status", "bulk-status": "cancelled"},
        follow_redirects=True,
    )
    assert "Changed: 2 activities." in response.get_data(as_text=True)
    assert fresh(db, Activity, first).status == ActivityStatus.CANCELLED
    assert len(updates(db, first)) == 1

    response = client.post(
        "/activities/bulk",
        data={"id": [first.id], "action": "status", "bulk-status": "exploded"},
    )
    assert response.status_code == 200
    assert fresh(db, Activity, first).status == ActivityStatus.CANCELLED
    response = client.get("/activities/bulk", query_string={"id": [], "action": "status"})
    assert response.status_code == 302
