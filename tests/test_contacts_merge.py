"""Merging two contacts keeps what protects the person and every organisation link."""

import pytest

from crm.organisations import services


@pytest.fixture
def admin(make_user):
    return make_user("admin")


def _organisation(name, actor):
    return services.create_organisation({"kind": "company", "name": name}, actor=actor)


def test_merge_keeps_do_not_contact_legal_hold_and_the_other_primary_organisation(db, admin):
    roche = _organisation("Roche", admin)
    novartis = _organisation("Novartis", admin)
    db.session.flush()
    keep = services.create_contact(
        {"last_name": "Öberg", "first_name": "Åsa", "organisation_id": roche.id}, actor=admin
    )
    remove = services.create_contact(
        {
            "last_name": "Oberg",
            "first_name": "Asa",
            "email": "asa@example.com",
            "organisation_id": novartis.id,
            "do_not_contact": True,
            # Affiliated with the kept contact's primary organisation: must not repeat it.
            "affiliations": [(roche.id, "advisor")],
        },
        actor=admin,
    )
    remove.legal_hold, remove.legal_hold_reason = True, "Public record"
    db.session.commit()

    services.merge_contacts(keep, remove, actor=admin)
    db.session.commit()

    assert keep.do_not_contact is True
    assert keep.legal_hold is True and keep.legal_hold_reason == "Public record"
    assert keep.email == "asa@example.com"
    assert keep.organisation_id == roche.id
    assert [item.organisation_id for item in keep.affiliations] == [novartis.id]
    assert remove.deleted_at is not None


def test_affiliations_are_named_in_the_history(db, admin):
    roche = _organisation("Roche", admin)
    db.session.flush()
    contact = services.create_contact({"last_name": "Holm"}, actor=admin)
    db.session.flush()
    services.update_contact(contact, {"affiliations": [(roche.id, "board")]}, actor=admin)
    db.session.commit()

    from crm.core.audit import history

    latest = history("contacts", contact.id)[0]
    assert latest.changes["affiliations"] == [[], ["Roche (board)"]]


@pytest.mark.parametrize("url", ["/contacts/3000000000", "/organisations/99999999999"])
def test_ids_beyond_the_integer_range_are_404(client, login, url):
    login("admin")
    assert client.get(url).status_code == 404
