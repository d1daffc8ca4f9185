"""A record whose organisation or contact was deleted can still be edited and saved: the
form keeps the links it showed, and the deleted record stays one that nobody can pick anew.

Found by using it: an activity whose organisation had been deleted could not be saved
("There is no organisation called One AB.") until its link was removed, and the link was
then lost for good if the organisation was restored.
"""

from werkzeug.datastructures import MultiDict

from crm.activities.models import Activity
from crm.auth.models import Role
from crm.core import records
from crm.extensions import db
from tests.factories import make_activity, make_agreement, make_contact, make_organisation
from tests.security.conftest import page_form


def _deleted(record, actor):
    records.soft_delete(record, actor=actor)
    db.session.commit()
    return record


def _resubmitted(client, url, **changes):
    """The edit page's form sent back as the browser shows it, with `changes` made."""
    fields = page_form(client.get(url).get_data(as_text=True), having="title")
    fields = [(name, changes.get(name, value)) for name, value in fields]
    return client.post(url, data=MultiDict(fields))


def _saved(client, url, record, **changes):
    """`record` as stored after its edit page's form was saved with `changes`."""
    response = _resubmitted(client, url, **changes)
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    return db.session.get(type(record), record.id)


def test_an_activity_keeps_its_deleted_organisation_and_contact_when_saved(client, signed_in):
    coordinator = signed_in("coordinator")
    one = make_organisation("One AB")
    two = make_organisation("Two AB")
    anna = make_contact("Anna", "Andersson")
    activity = make_activity("Dialogue", organisations=[one, two], contacts=[anna])
    _deleted(one, coordinator)
    _deleted(anna, coordinator)

    activity = _saved(
        client, f"/activities/{activity.id}/edit", activity, title="Dialogue, part two"
    )

    assert activity.title == "Dialogue, part two"
    assert {link.organisation.name for link in activity.organisations} == {"One AB", "Two AB"}
    assert [contact.full_name for contact in activity.contacts] == ["Anna Andersson"]


def test_a_deleted_organisation_is_still_not_picked_for_another_activity(client, signed_in):
    coordinator = signed_in("coordinator")
    one = make_organisation("One AB")
    make_activity("Dialogue", organisations=[one])
    other = make_activity("Another")
    _deleted(one, coordinator)

    url = f"/activities/{other.id}/edit"
    response = _resubmitted(client, url, **{"organisations-0-organisation": f"One AB (#{one.id})"})

    assert response.status_code == 200
    assert "There is no organisation called One AB." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Activity, other.id).organisations == []


def test_an_agreement_keeps_its_deleted_party_when_saved(client, signed_in):
    coordinator = signed_in("coordinator")
    one = make_organisation("One AB")
    two = make_organisation("Two AB")
    agreement = make_agreement("Biobank MoU", parties=[one, two])
    _deleted(two, coordinator)

    agreement = _saved(
        client, f"/agreements/{agreement.id}/edit", agreement, title="Biobank MoU 2027"
    )

    assert agreement.title == "Biobank MoU 2027"
    assert {party.organisation.name for party in agreement.parties} == {"One AB", "Two AB"}


def test_a_contact_keeps_its_deleted_organisation_and_affiliation_when_saved(client, signed_in):
    coordinator = signed_in("coordinator")
    home = make_organisation("Home AB")
    guest = make_organisation("Guest AB")
    anna = make_contact(
        "Anna", "Andersson", organisation=home, affiliations=[(guest.id, "Advisor")]
    )
    _deleted(home, coordinator)
    _deleted(guest, coordinator)

    anna = _saved(client, f"/contacts/{anna.id}/edit", anna, title="Research director")

    assert anna.title == "Research director"
    assert anna.organisation_id == home.id
    assert [(a.organisation_id, a.role) for a in anna.affiliations] == [(guest.id, "Advisor")]


def test_the_api_changes_such_an_activity_and_leaves_its_links(api_client):
    api = api_client(Role.COORDINATOR)
    one = make_organisation("One AB")
    activity = make_activity("Dialogue", organisations=[one])
    _deleted(one, api.user)

    response = api.patch(f"/api/v1/activities/{activity.id}", json={"title": "Dialogue II"})

    assert response.status_code == 200, response.json
    assert response.json["title"] == "Dialogue II"
    assert [row["organisation_id"] for row in response.json["organisations"]] == [one.id]


def test_the_api_takes_back_the_links_a_record_has_though_deleted_but_no_new_ones(api_client):
    api = api_client(Role.COORDINATOR)
    home = make_organisation("Home AB")
    gone = make_organisation("Gone AB")
    anna = make_contact("Anna", "Andersson", organisation=home)
    agreement = make_agreement("Biobank MoU", parties=[home])
    _deleted(home, api.user)
    _deleted(gone, api.user)

    # What a program read, sent back: the links the records have now are kept.
    read = api.get(f"/api/v1/contacts/{anna.id}").json
    kept = api.patch(
        f"/api/v1/contacts/{anna.id}",
        json={"organisation_id": read["organisation_id"], "title": "CEO"},
    )
    assert kept.status_code == 200, kept.json
    assert kept.json["organisation_id"] == home.id
    parties = [
        {"organisation_id": party["organisation_id"], "role": party["role"]}
        for party in api.get(f"/api/v1/agreements/{agreement.id}").json["parties"]
    ]
    assert (
        api.patch(f"/api/v1/agreements/{agreement.id}", json={"parties": parties}).status_code
        == 200
    )

    # A deleted organisation the record does not link to is refused, naming the field.
    refused = api.patch(f"/api/v1/contacts/{anna.id}", json={"organisation_id": gone.id})
    assert refused.status_code == 422
    assert refused.json["errors"] == [
        {"field": "organisation_id", "detail": "There is no record with this id."}
    ]


def test_the_pages_mark_a_deleted_organisation_or_contact_and_do_not_link_it(client, signed_in):
    member = signed_in("member")
    live = make_organisation("Live AB")
    gone = make_organisation("Gone AB")
    anna = make_contact("Anna", "Andersson")
    activity = make_activity("Dialogue", organisations=[live, gone], contacts=[anna])
    agreement = make_agreement("Biobank MoU", parties=[live, gone])
    _deleted(gone, member)
    _deleted(anna, member)

    for url in (f"/activities/{activity.id}", f"/agreements/{agreement.id}"):
        page = client.get(url).get_data(as_text=True)
        assert f'href="/organisations/{live.id}">Live AB</a>' in page
        assert 'Gone AB <span class="muted">(deleted)</span>' in page
        assert f'href="/organisations/{gone.id}"' not in page
    page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert 'Anna Andersson <span class="muted">(deleted)</span>' in page
    assert f'href="/contacts/{anna.id}"' not in page
