"""The contact pages: list, search, filters, export, detail hub, create, edit, delete, merge."""

import csv
import io
import re
from datetime import date

import pytest
import sqlalchemy as sa

from crm.activities import task_services
from crm.activities.models import Activity, ActivityKind, Task
from crm.auth.models import Role
from crm.core.models import AuditEntry
from crm.enquiries.models import Enquiry, Topic
from crm.organisations import services
from crm.organisations.models import (
    Contact,
    ContactAffiliation,
    LegalBasis,
    OrganisationKind,
)
from tests.helpers import count_queries


@pytest.fixture
def english(client):
    client.post("/language/en?next=/")


def contact_form(**overrides):
    data = {
        "first_name": "Anna",
        "last_name": "Andersson",
        "email": "",
        "phone": "",
        "title": "",
        "organisation": "",
        "legal_basis": "legitimate_interest",
        "notes": "",
        "owner_id": "",
    }
    # The form always sends its three affiliation rows, empty or not.
    for row in range(3):
        data[f"affiliations-{row}-organisation"] = ""
        data[f"affiliations-{row}-role"] = ""
    data.update(overrides)
    return data


def all_contacts(db):
    return db.session.scalars(sa.select(Contact).order_by(Contact.id)).all()


# ---------------------------------------------------------------- create


def test_create_with_organisation_picked_from_the_list_and_affiliations(
    client, db, login, make_organisation
):
    roche = make_organisation("Roche AB")
    lif = make_organisation(
        "Läkemedelsindustriföreningen", kind=OrganisationKind.INDUSTRY_ASSOCIATION
    )
    sahlgrenska = make_organisation("Sahlgrenska", kind=OrganisationKind.HEALTHCARE_REGION)
    login(Role.MEMBER)

    response = client.post(
        "/contacts/new",
        data=contact_form(
            email="Anna.Andersson@Roche.COM ",
            title="Medical director",
            organisation=f"Roche AB (#{roche.id})",
            **{
                "affiliations-0-organisation": f"Läkemedelsindustriföreningen (#{lif.id})",
                "affiliations-0-role": "Board member",
                "affiliations-1-organisation": "",
                "affiliations-1-role": "",
                "affiliations-2-organisation": "sahlgrenska",
                "affiliations-2-role": "",
            },
        ),
    )

    [contact] = all_contacts(db)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/contacts/{contact.id}"
    assert contact.organisation_id == roche.id
    assert contact.email == "anna.andersson@roche.com"
    assert contact.legal_basis == LegalBasis.LEGITIMATE_INTEREST
    assert {(item.organisation_id, item.role) for item in contact.affiliations} == {
        (lif.id, "Board member"),
        (sahlgrenska.id, None),
    }
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.entity_type == "contacts"))
    assert entry.action == "create"


def test_create_with_exact_organisation_name_in_other_case_and_accents(
    client, db, login, make_organisation
):
    lif = make_organisation(
        "Läkemedelsindustriföreningen", kind=OrganisationKind.INDUSTRY_ASSOCIATION
    )
    login(Role.MEMBER)

    response = client.post(
        "/contacts/new", data=contact_form(organisation="LAKEMEDELSINDUSTRIFORENINGEN")
    )

    assert response.status_code == 302
    assert all_contacts(db)[0].organisation_id == lif.id


def test_unknown_organisation_gives_a_field_error_and_creates_nothing(
    client, db, login, english, make_organisation
):
    make_organisation("Roche AB")
    login(Role.MEMBER)

    response = client.post("/contacts/new", data=contact_form(organisation="Rochester Labs"))

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "There is no organisation called Rochester Labs." in page
    assert 'id="organisation-error"' in page
    assert 'value="Rochester Labs"' in page  # what was typed is kept
    assert all_contacts(db) == []

    response = client.post(
        "/contacts/new",
        data=contact_form(**{"affiliations-1-organisation": "Nowhere Inc"}),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "There is no organisation called Nowhere Inc." in page
    assert 'href="#affiliations-1-organisation"' in page
    assert 'href="#affiliations-0-organisation"' not in page
    assert all_contacts(db) == []


def test_a_role_without_an_organisation_is_refused(client, db, login, english):
    login(Role.MEMBER)

    response = client.post("/contacts/new", data=contact_form(**{"affiliations-0-role": "Chair"}))

    assert response.status_code == 200
    assert "Pick the organisation this role is at." in response.get_data(as_text=True)
    assert all_contacts(db) == []


@pytest.mark.parametrize("email", ["not-an-address", "anna@", "anna andersson@example.org"])
def test_bad_email_is_refused(client, db, login, english, email):
    login(Role.MEMBER)

    response = client.post("/contacts/new", data=contact_form(email=email))

    assert response.status_code == 200
    assert "Enter a valid e-mail address." in response.get_data(as_text=True)
    assert all_contacts(db) == []


def test_last_name_and_legal_basis_are_required(client, db, login, english):
    login(Role.MEMBER)

    response = client.post("/contacts/new", data=contact_form(last_name=" ", legal_basis=""))

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Enter the last name." in page
    assert "Choose the legal basis." in page
    assert all_contacts(db) == []


def test_new_contact_form_renders_every_field_labelled(client, login, make_organisation):
    roche = make_organisation("Roche AB")
    login(Role.MEMBER)

    page = client.get(f"/contacts/new?organisation_id={roche.id}").get_data(as_text=True)

    assert f'value="Roche AB (#{roche.id})"' in page  # prefilled from the organisation
    assert 'data-typeahead="/organisations/typeahead"' in page
    for field_id in [
        "first_name",
        "last_name",
        "email",
        "phone",
        "title",
        "organisation",
        "affiliations-0-organisation",
        "affiliations-2-role",
        "legal_basis-0",
        "legal_basis-1",
        "do_not_contact",
        "notes",
        "owner_id",
    ]:
        assert f'for="{field_id}"' in page, field_id
    assert 'name="create_anyway"' not in page


def test_duplicate_warning_and_create_anyway(client, db, login, english, make_contact):
    existing = make_contact(first_name="Åsa", last_name="Öberg", email="asa.oberg@lif.se")
    login(Role.MEMBER)
    form = contact_form(first_name="Asa", last_name="Oberg", email="ASA.OBERG@lif.se")

    response = client.post("/contacts/new", data=form)

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "This contact may already exist" in page
    assert f'href="/contacts/{existing.id}"' in page
    assert 'name="create_anyway"' in page
    assert len(all_contacts(db)) == 1

    response = client.post("/contacts/new", data={**form, "create_anyway": "y"})

    assert response.status_code == 302
    assert len(all_contacts(db)) == 2


# ---------------------------------------------------------------- edit, history, hub


def test_edit_records_history_shown_on_the_page(
    client, db, login, english, make_contact, make_organisation
):
    roche = make_organisation("Roche AB")
    lif = make_organisation("Lif", kind=OrganisationKind.INDUSTRY_ASSOCIATION)
    contact = make_contact(
        email="anna@roche.com", organisation_id=roche.id, affiliations=[(lif.id, "Chair")]
    )
    user = login(Role.MEMBER)

    page = client.get(f"/contacts/{contact.id}/edit").get_data(as_text=True)
    assert f'value="Lif (#{lif.id})"' in page  # the affiliation is in the form
    assert 'name="affiliations-3-organisation"' not in page  # three rows are enough here
    assert '<input checked id="legal_basis-1"' in page
    assert 'value="anna@roche.com"' in page

    response = client.post(
        f"/contacts/{contact.id}/edit",
        data=contact_form(
            email="anna@roche.com",
            title="Chief medical officer",
            organisation=f"Roche AB (#{roche.id})",
            legal_basis="consent",
            do_not_contact="y",
            **{"affiliations-0-organisation": f"Lif (#{lif.id})", "affiliations-0-role": "Chair"},
        ),
    )

    assert response.status_code == 302
    db.session.refresh(contact)
    assert contact.title == "Chief medical officer"
    assert contact.legal_basis == LegalBasis.CONSENT
    assert contact.do_not_contact is True
    assert [(item.organisation_id, item.role) for item in contact.affiliations] == [
        (lif.id, "Chair")
    ]
    page = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "Chief medical officer" in page
    assert "Do not contact this person." in page
    history = page.split('id="history-heading"')[1]
    assert user.name in history
    assert "changed" in history
    assert "Title" in history and "Chief medical officer" in history
    assert "Legitimate interest → Consent" in history


def test_edit_can_remove_an_affiliation(client, db, login, make_contact, make_organisation):
    lif = make_organisation("Lif", kind=OrganisationKind.INDUSTRY_ASSOCIATION)
    contact = make_contact(affiliations=[(lif.id, "Chair")])
    login(Role.MEMBER)

    response = client.post(f"/contacts/{contact.id}/edit", data=contact_form())

    assert response.status_code == 302
    db.session.refresh(contact)
    assert contact.affiliations == []


def test_edit_offers_an_empty_row_and_keeps_an_inactive_owner(
    client, db, login, make_contact, make_organisation, make_user
):
    companies = [make_organisation(f"Company {number}") for number in range(3)]
    former = make_user(Role.MEMBER, name="Former Colleague", active=False)
    contact = make_contact(
        owner_id=former.id, affiliations=[(company.id, None) for company in companies]
    )
    login(Role.MEMBER)

    page = client.get(f"/contacts/{contact.id}/edit").get_data(as_text=True)

    assert 'name="affiliations-3-organisation" type="text" value=""' in page
    assert f'<option selected value="{former.id}">Former Colleague</option>' in page
    form = contact_form(owner_id=str(former.id))
    for number, company in enumerate(companies):
        form[f"affiliations-{number}-organisation"] = f"{company.name} (#{company.id})"
    assert client.post(f"/contacts/{contact.id}/edit", data=form).status_code == 302
    db.session.refresh(contact)
    assert contact.owner_id == former.id
    assert len(contact.affiliations) == 3


def test_detail_hub_lists_activities_enquiries_and_open_tasks(
    client,
    db,
    login,
    english,
    make_contact,
    make_organisation,
    make_user,
    make_activity,
    make_enquiry,
):
    roche = make_organisation("Roche AB")
    contact = make_contact(organisation_id=roche.id, notes="Met at Almedalen")
    coordinator = make_user(Role.COORDINATOR)
    make_activity(
        "Precision medicine seminar",
        kind=ActivityKind.SEMINAR,
        start_date=date(2026, 3, 1),
        contacts=[contact],
    )
    enquiry = make_enquiry(
        name="Anna Andersson",
        email="anna@roche.com",
        topic=Topic.DIAGNOSTICS,
        message="Hello",
        contact_id=contact.id,
        assignee_id=coordinator.id,
    )
    task_services.create_task(
        title="Send the agreement draft", subject=contact, subject_kind="contact_id", actor=None
    )
    done = task_services.create_task(
        title="Done already", subject=contact, subject_kind="contact_id", actor=None
    )
    task_services.complete_task(done, actor=None)
    db.session.commit()
    login(coordinator)

    page = client.get(f"/contacts/{contact.id}").get_data(as_text=True)

    assert f'href="/organisations/{roche.id}"' in page
    assert "Met at Almedalen" in page
    assert "Precision medicine seminar" in page
    assert enquiry.reference in page
    # Open and done tasks are both on the timeline, each saying which it is.
    assert re.search(r"Send the agreement draft</span>\s*<span [^>]*>open<", page)
    assert re.search(r"Done already</span>\s*<span [^>]*>done<", page)


def test_viewers_see_no_enquiries_and_members_only_their_own(
    client, auth, english, make_contact, make_enquiry
):
    contact = make_contact()
    enquiry = make_enquiry(
        name="Anna",
        email="anna@example.org",
        topic=Topic.OTHER,
        message="Hello",
        contact_id=contact.id,
    )

    auth.login(Role.VIEWER)
    page = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "kind=enquiry" not in page  # the timeline's filter offers no enquiries
    assert enquiry.reference not in page

    auth.logout()
    auth.login(Role.MEMBER)
    page = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "kind=enquiry" in page
    assert enquiry.reference not in page


def test_missing_contact_is_404(client, login):
    login(Role.MEMBER)

    assert client.get("/contacts/999").status_code == 404
    assert client.get("/contacts/999/edit").status_code == 404


# ---------------------------------------------------------------- delete and restore


def test_soft_delete_hides_the_contact_and_restore_brings_it_back(
    client, db, auth, english, make_contact
):
    contact = make_contact()
    auth.login(Role.COORDINATOR)

    assert client.get(f"/contacts/{contact.id}/delete").status_code == 200
    response = client.post(f"/contacts/{contact.id}/delete")

    assert response.status_code == 302
    db.session.refresh(contact)
    assert contact.deleted_at is not None
    # Coordinators still open it, with the notice and a restore button.
    page = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "This contact was deleted" in page
    assert f'action="/contacts/{contact.id}/restore"' in page
    # It is listed among the deleted ones only.
    assert f'href="/contacts/{contact.id}"' not in client.get("/contacts/").get_data(as_text=True)
    deleted_list = client.get("/contacts/?deleted=1").get_data(as_text=True)
    assert f'action="/contacts/{contact.id}/restore"' in deleted_list

    auth.logout()
    auth.login(Role.MEMBER)
    assert client.get(f"/contacts/{contact.id}").status_code == 404
    assert client.get(f"/contacts/{contact.id}/edit").status_code == 404
    # Members cannot list the deleted ones: the flag is ignored.
    assert f'href="/contacts/{contact.id}"' not in client.get("/contacts/?deleted=1").get_data(
        as_text=True
    )

    auth.logout()
    auth.login(Role.ADMIN)
    response = client.post(f"/contacts/{contact.id}/restore")
    assert response.status_code == 302
    db.session.refresh(contact)
    assert contact.deleted_at is None
    actions = db.session.scalars(
        sa.select(AuditEntry.action)
        .where(AuditEntry.entity_type == "contacts", AuditEntry.entity_id == contact.id)
        .order_by(AuditEntry.id)
    ).all()
    assert actions == ["create", "delete", "restore"]


# ---------------------------------------------------------------- permissions


def test_viewers_may_read_but_not_change(client, db, login, make_contact):
    contact = make_contact()
    login(Role.VIEWER)

    page = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert f"/contacts/{contact.id}/edit" not in page
    assert f"/contacts/{contact.id}/delete" not in page
    assert f"/contacts/{contact.id}/merge" not in page
    assert "/contacts/new" not in client.get("/contacts/").get_data(as_text=True)

    for url in [
        "/contacts/new",
        f"/contacts/{contact.id}/edit",
        f"/contacts/{contact.id}/delete",
        f"/contacts/{contact.id}/merge",
    ]:
        assert client.get(url).status_code == 403, url
        assert client.post(url, data=contact_form(last_name="Changed")).status_code == 403, url
    assert client.post(f"/contacts/{contact.id}/restore").status_code == 403
    db.session.refresh(contact)
    assert contact.last_name == "Andersson" and contact.deleted_at is None
    assert len(all_contacts(db)) == 1


def test_members_may_not_delete_restore_or_merge(client, db, login, make_contact):
    contact = make_contact()
    other = make_contact(first_name="Bo")
    login(Role.MEMBER)

    page = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert f"/contacts/{contact.id}/edit" in page
    assert f"/contacts/{contact.id}/delete" not in page
    assert f"/contacts/{contact.id}/merge" not in page
    for url in [f"/contacts/{contact.id}/delete", f"/contacts/{contact.id}/merge"]:
        assert client.get(url).status_code == 403
        assert client.post(url, data={"remove_id": other.id}).status_code == 403
    assert client.post(f"/contacts/{contact.id}/restore").status_code == 403
    assert [item.deleted_at for item in all_contacts(db)] == [None, None]


# ---------------------------------------------------------------- list


def test_search_ignores_accents_and_case(client, login, make_contact):
    asa = make_contact(first_name="Åsa", last_name="Öberg", email="asa.oberg@lif.se")
    bo = make_contact(first_name="Bo", last_name="Berg", email="bo@example.org")
    login(Role.VIEWER)

    for query in ["asa oberg", "ÖBERG", "ASA.OBERG@LIF.SE"]:
        page = client.get("/contacts/", query_string={"q": query}).get_data(as_text=True)
        assert f'href="/contacts/{asa.id}"' in page, query
        assert f'href="/contacts/{bo.id}"' not in page, query


def test_filter_by_organisation_finds_primary_and_affiliated_contacts(
    client, english, login, make_contact, make_organisation
):
    lif = make_organisation("Lif", kind=OrganisationKind.INDUSTRY_ASSOCIATION)
    roche = make_organisation("Roche AB")
    primary = make_contact(last_name="Primary", organisation_id=lif.id)
    affiliated = make_contact(
        last_name="Affiliated", organisation_id=roche.id, affiliations=[(lif.id, None)]
    )
    elsewhere = make_contact(last_name="Elsewhere", organisation_id=roche.id)
    login(Role.MEMBER)

    page = client.get(f"/contacts/?organisation_id={lif.id}").get_data(as_text=True)

    assert f'href="/contacts/{primary.id}"' in page
    assert f'href="/contacts/{affiliated.id}"' in page
    assert f'href="/contacts/{elsewhere.id}"' not in page
    chip = page.split('class="chip"')[1].split("</span>")[0]
    assert "Lif" in chip and 'href="/contacts/"' in chip  # removable
    assert f'href="/contacts/new?organisation_id={lif.id}"' in page


def test_other_filters_and_bad_values(client, login, make_contact, make_user):
    owner = make_user(Role.MEMBER)
    consent = make_contact(last_name="Consent", legal_basis=LegalBasis.CONSENT)
    blocked = make_contact(last_name="Blocked", do_not_contact=True, owner_id=owner.id)
    login(Role.VIEWER)

    def listed(query):
        response = client.get("/contacts/", query_string=query)
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        return {contact.id for contact in (consent, blocked) if f'/contacts/{contact.id}"' in page}

    assert listed({"legal_basis": "consent"}) == {consent.id}
    assert listed({"do_not_contact": "yes"}) == {blocked.id}
    assert listed({"do_not_contact": "no"}) == {consent.id}
    assert listed({"owner_id": owner.id}) == {blocked.id}
    assert listed({"legal_basis": "bogus", "owner_id": "x", "page": "-3"}) == {
        consent.id,
        blocked.id,
    }
    assert listed({"organisation_id": "99999999999999", "sort": "-nonsense"}) == {
        consent.id,
        blocked.id,
    }
    assert listed({"sort": "-email"}) == {consent.id, blocked.id}
    assert 'class="badge do-not-contact"' in client.get("/contacts/").get_data(as_text=True)


def test_empty_list_says_so(client, english, login):
    login(Role.VIEWER)

    page = client.get("/contacts/").get_data(as_text=True)

    assert "No contacts yet." in page


def test_list_query_count_does_not_grow_with_rows(client, db, login, make_organisation, make_user):
    organisations = [make_organisation(f"Company {number}") for number in range(5)]
    owners = [make_user(Role.MEMBER) for _ in range(3)]
    login(Role.VIEWER)

    def add_contacts(count):
        for number in range(count):
            services.create_contact(
                {
                    "first_name": f"Person{number}",
                    "last_name": f"Tester{number}",
                    "email": f"person{number}@example.org",
                    "organisation_id": organisations[number % 5].id,
                    "owner_id": owners[number % 3].id,
                    "legal_basis": LegalBasis.CONSENT,
                    "affiliations": [(organisations[(number + 1) % 5].id, "Advisor")],
                },
                actor=None,
            )
        db.session.commit()

    def queries_for_list():
        with count_queries(db) as statements:
            response = client.get("/contacts/?per_page=50")
        assert response.status_code == 200
        return len(statements)

    add_contacts(5)
    few = queries_for_list()
    add_contacts(35)
    many = queries_for_list()

    assert many == few


# ---------------------------------------------------------------- export


def test_export_is_formula_safe_and_exactly_the_filtered_rows(
    client, login, make_contact, make_organisation, make_user
):
    roche = make_organisation("=Roche")
    lif = make_organisation("Lif", kind=OrganisationKind.INDUSTRY_ASSOCIATION)
    owner = make_user(Role.MEMBER, email="owner@example.org")
    risky = make_contact(
        first_name="+46 Anna",
        last_name="Andersson",
        title='=HYPERLINK("http://evil.example","click")',
        email="anna@roche.com",
        organisation_id=roche.id,
        owner_id=owner.id,
        do_not_contact=True,
        affiliations=[(lif.id, "Chair")],
    )
    make_contact(first_name="Bo", last_name="Berg")
    make_contact(first_name="Anna", last_name="Deleted", deleted=True)
    login(Role.VIEWER)

    response = client.get("/contacts/export.csv", query_string={"q": "anna"})

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    header, data = rows[0], rows[1:]
    assert header[:3] == ["id", "first_name", "last_name"]
    assert len(data) == 1
    row = dict(zip(header, data[0], strict=True))
    assert row["id"] == str(risky.id)
    assert row["first_name"] == "'+46 Anna"
    assert row["title"] == '\'=HYPERLINK("http://evil.example","click")'
    assert row["organisation"] == "'=Roche"
    assert row["affiliations"] == "Lif (Chair)"
    assert row["legal_basis"] == "legitimate_interest"
    assert row["do_not_contact"] == "1"
    assert row["owner_email"] == "owner@example.org"


def test_export_has_no_query_per_row(client, db, login, make_contact, make_organisation):
    organisation = make_organisation("Roche AB")
    lif = make_organisation("Lif", kind=OrganisationKind.INDUSTRY_ASSOCIATION)
    login(Role.VIEWER)

    def queries_for_export():
        with count_queries(db) as statements:
            response = client.get("/contacts/export.csv")
            response.get_data()
        return len(statements)

    make_contact(organisation_id=organisation.id, affiliations=[(lif.id, None)])
    few = queries_for_export()
    for number in range(10):
        make_contact(
            last_name=f"Person {number}",
            organisation_id=organisation.id,
            affiliations=[(lif.id, None)],
        )
    assert queries_for_export() == few


def test_list_links_to_export_with_the_same_filters(client, login, make_contact):
    make_contact()
    login(Role.VIEWER)

    page = client.get("/contacts/?q=anna&legal_basis=consent&page=2").get_data(as_text=True)

    assert 'href="/contacts/export.csv?q=anna&amp;legal_basis=consent"' in page


# ---------------------------------------------------------------- merge


def test_merge_moves_every_link_and_deletes_the_duplicate(
    client, db, login, english, make_contact, make_organisation, make_activity, make_enquiry
):
    roche = make_organisation("Roche AB")
    lif = make_organisation("Lif", kind=OrganisationKind.INDUSTRY_ASSOCIATION)
    medtech = make_organisation("Swedish Medtech", kind=OrganisationKind.INDUSTRY_ASSOCIATION)
    keep = make_contact(
        first_name="Åsa",
        last_name="Öberg",
        email="asa@roche.com",
        organisation_id=roche.id,
        affiliations=[(lif.id, "Chair")],
    )
    remove = make_contact(
        first_name="Asa",
        last_name="Oberg",
        phone="+46 70 123 45 67",
        affiliations=[(lif.id, "Member"), (medtech.id, "Advisor")],
    )
    activity = make_activity(start_date=date(2026, 1, 15), contacts=[remove])
    enquiry = make_enquiry(
        name="Asa Oberg", email="asa@example.org", topic=Topic.OTHER, message="Hi",
        contact_id=remove.id,
    )  # fmt: skip
    task = task_services.create_task(
        title="Call back", subject=remove, subject_kind="contact_id", actor=None
    )
    db.session.commit()
    login(Role.COORDINATOR)

    page = client.get(f"/contacts/{keep.id}/merge").get_data(as_text=True)
    assert f'href="/contacts/{keep.id}/merge?remove={remove.id}"' in page  # suggested
    page = client.get(f"/contacts/{keep.id}/merge?remove={remove.id}").get_data(as_text=True)
    assert "1 activity" in page and "1 enquiry" in page and "2 affiliations" in page

    response = client.post(
        f"/contacts/{keep.id}/merge", data={"remove_id": remove.id}, follow_redirects=True
    )

    assert response.status_code == 200
    assert "was merged into this contact" in response.get_data(as_text=True)
    db.session.refresh(keep)
    db.session.refresh(remove)
    assert remove.deleted_at is not None
    assert [contact.id for contact in db.session.get(Activity, activity.id).contacts] == [keep.id]
    assert db.session.get(Enquiry, enquiry.id).contact_id == keep.id
    assert db.session.get(Task, task.id).contact_id == keep.id
    affiliations = db.session.scalars(
        sa.select(ContactAffiliation).where(ContactAffiliation.contact_id == keep.id)
    ).all()
    assert {(item.organisation_id, item.role) for item in affiliations} == {
        (lif.id, "Chair"),
        (medtech.id, "Advisor"),
    }
    assert keep.phone == "+46 70 123 45 67"  # empty field filled from the duplicate
    assert keep.email == "asa@roche.com"
    assert client.get(f"/contacts/{keep.id}").status_code == 200


def test_merge_pick_form_resolves_the_picked_contact(client, login, english, make_contact):
    keep = make_contact(first_name="Anna", last_name="Andersson")
    other = make_contact(first_name="Bo", last_name="Berg", email="bo@example.org")
    login(Role.COORDINATOR)

    response = client.post(
        f"/contacts/{keep.id}/merge", data={"duplicate": f"Bo Berg (#{other.id})"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/contacts/{keep.id}/merge?remove={other.id}"

    response = client.post(f"/contacts/{keep.id}/merge", data={"duplicate": "bo@example.org"})
    assert response.headers["Location"] == f"/contacts/{keep.id}/merge?remove={other.id}"

    response = client.post(
        f"/contacts/{keep.id}/merge", data={"duplicate": f"Anna Andersson (#{keep.id})"}
    )
    assert response.status_code == 200
    assert "A contact cannot be merged with itself." in response.get_data(as_text=True)

    response = client.post(f"/contacts/{keep.id}/merge", data={"duplicate": "Nobody Known"})
    assert response.status_code == 200
    assert "There is no contact called Nobody Known." in response.get_data(as_text=True)

    assert client.get(f"/contacts/{keep.id}/merge?remove={keep.id}").status_code == 302
    assert client.get(f"/contacts/{keep.id}/merge?remove=999").status_code == 404
    assert client.post(f"/contacts/{keep.id}/merge", data={"remove_id": "x"}).status_code == 404


# ---------------------------------------------------------------- type-ahead


def test_typeahead_returns_json_matches(client, login, make_contact, make_organisation):
    roche = make_organisation("Roche AB")
    asa = make_contact(
        first_name="Åsa", last_name="Öberg", email="asa@roche.com", organisation_id=roche.id
    )
    for number in range(12):
        make_contact(first_name="Anna", last_name=f"Person {number:02}")
    make_contact(first_name="Anna", last_name="Gone", deleted=True)
    login(Role.VIEWER)

    data = client.get("/contacts/typeahead?q=asa").get_json()
    assert data == {
        "results": [
            {"id": asa.id, "name": "Åsa Öberg", "label": "Åsa Öberg – Roche AB (asa@roche.com)"}
        ]
    }
    assert len(client.get("/contacts/typeahead?q=anna").get_json()["results"]) == 10
    assert client.get("/contacts/typeahead?q=").get_json() == {"results": []}
    assert client.get("/contacts/typeahead").get_json() == {"results": []}


def test_an_organisations_people_are_found_by_index_not_by_reading_every_contact(
    client, db, signed_in, make_organisation, make_contact
):
    """The list of an organisation's people (its own and those affiliated) reads them by the
    indexes of organisation: written as `organisation_id = ? OR id IN (...)`, PostgreSQL
    checked that against every contact, whatever the indexes (300 ms at 200,000)."""
    roche = make_organisation("Roche AB")
    lif = make_organisation("Lif", kind=OrganisationKind.INDUSTRY_ASSOCIATION)
    make_contact("Anna", "Own", organisation=roche)
    make_contact("Bo", "Affiliated", organisation=lif, affiliations=[(roche.id, "Adviser")])
    make_contact("Cecilia", "Elsewhere", organisation=lif)
    signed_in("viewer")

    html = client.get(f"/contacts/?organisation_id={roche.id}").get_data(as_text=True)
    assert "Own, Anna" in html and "Affiliated, Bo" in html and "Elsewhere" not in html

    select = services.contact_select(services.ContactFilters(organisation_id=roche.id))
    sql = str(select.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
    if db.engine.dialect.name == "postgresql":
        # Told to avoid reading whole tables, as it would for a large register.
        db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(db.session.scalars(sa.text(f"EXPLAIN {sql}")))
        db.session.rollback()
    else:
        plan = "\n".join(
            row[-1] for row in db.session.execute(sa.text(f"EXPLAIN QUERY PLAN {sql}"))
        )
    assert "ix_contacts_organisation_id" in plan, plan
