"""Global search: the full-text index follows every change, finds words regardless of case
and accents, and shows each user only what they may read."""

import re
from datetime import date

import sqlalchemy as sa

from crm.activities.models import ActivityKind
from crm.core import records
from crm.organisations import services
from crm.organisations.models import Organisation, OrganisationKind
from crm.search import index
from crm.search.models import SearchEntry
from tests.helpers import count_queries


def search_page(client, query):
    response = client.get("/search/", query_string={"q": query, "lang": "en"})
    assert response.status_code == 200
    return response.get_data(as_text=True)


# ---------------------------------------------------------------- the index


def test_words_are_found_regardless_of_case_and_accents(db, make_organisation):
    lif = make_organisation("Läkemedelsindustriföreningen", org_number="802002-4280")
    make_organisation("Roche AB")

    for query in ("lakemedel", "LÄKEMEDEL", "Läkemedelsindustriföreningen", "läkem", "LAKEM"):
        assert index.matching_ids("organisation", query) == [lif.id], query
    assert index.matching_ids("organisation", "802002-4280") == [lif.id]
    assert index.matching_ids("organisation", "8020024280") == [lif.id]
    assert index.matching_ids("organisation", "foreningen") == []  # a word's start, not its middle
    assert index.matching_ids("organisation", "!!! ???") == []


def test_every_word_must_match(db, make_organisation):
    roche = make_organisation("Roche AB", city="Solna")
    make_organisation("Roche Diagnostics Scandinavia AB", city="Stockholm")

    assert index.matching_ids("organisation", "roche solna") == [roche.id]
    assert len(index.matching_ids("organisation", "roche")) == 2


def test_create_rename_delete_and_restore_keep_the_index_in_step(db, make_organisation):
    organisation = make_organisation("Ångström Diagnostik AB")
    assert index.matching_ids("organisation", "angstrom") == [organisation.id]

    services.update_organisation(
        organisation,
        {"kind": OrganisationKind.COMPANY, "name": "Celsius Medical AB", "country": "SE"},
        actor=None,
    )
    db.session.commit()
    assert index.matching_ids("organisation", "angstrom") == []
    assert index.matching_ids("organisation", "celsius") == [organisation.id]

    records.soft_delete(organisation, actor=None)
    db.session.commit()
    assert index.matching_ids("organisation", "celsius") == []

    records.restore(organisation, actor=None)
    db.session.commit()
    assert index.matching_ids("organisation", "celsius") == [organisation.id]

    db.session.delete(organisation)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SearchEntry)) == 0


def test_a_rolled_back_change_leaves_the_index_as_it_was(db, make_organisation):
    organisation = make_organisation("Karolinska Institutet")
    organisation.name = "Something Else"
    db.session.flush()
    assert index.matching_ids("organisation", "something") == [organisation.id]

    db.session.rollback()

    assert index.matching_ids("organisation", "something") == []
    assert index.matching_ids("organisation", "karolinska") == [organisation.id]


def test_the_words_inside_an_address_are_found_whole_and_its_last_as_typed(
    db, make_organisation, make_contact
):
    karin = make_contact("Karin", "Berg", email="karin.berg@example.org")
    make_contact("Karina", "Bergström", email="karina.bergstrom@example.org")
    make_contact("Karl", "Ek", email="karl.ek@examples.org")
    db.session.commit()

    assert index.matching_ids("contact", "karin.berg@example.org") == [karin.id]
    assert index.matching_ids("contact", "karin.berg@exam") == [karin.id]  # still typing
    # Inside an address a word is whole: "kar." is not the start of karin's address.
    assert index.matching_ids("contact", "kar.berg@example.org") == []
    # Words apart from each other are each the start of a word, as before.
    assert len(index.matching_ids("contact", "kar berg")) == 2


def test_every_kind_is_indexed(
    db, make_organisation, make_contact, make_agreement, make_activity, make_enquiry
):
    organisation = make_organisation("Novartis Sverige AB")
    contact = make_contact(
        "Åsa", "Öberg", organisation=organisation, email="asa.oberg@novartis.com"
    )
    agreement = make_agreement("Samförståndsavtal med Microsoft", parties=[organisation])
    activity = make_activity(
        "E-utbildning om bröstcancer", kind=ActivityKind.COURSE, start_date=date(2026, 3, 1)
    )
    enquiry = make_enquiry(name="Örjan Ström", organisation_name="Medtech Uppsala")
    db.session.commit()

    assert index.matching_ids("contact", "asa oberg") == [contact.id]
    assert index.matching_ids("contact", "novartis.com") == [contact.id]
    assert index.matching_ids("agreement", "samforstandsavtal") == [agreement.id]
    assert index.matching_ids("activity", "brostcancer") == [activity.id]
    assert index.matching_ids("enquiry", "orjan strom") == [enquiry.id]
    assert index.matching_ids("enquiry", enquiry.reference) == [enquiry.id]
    assert index.matching_ids("enquiry", "medtech") == [enquiry.id]


def test_rebuild_index_recreates_the_rows_of_live_records(db, make_organisation, make_contact):
    kept = make_organisation("Vinnova")
    gone = make_organisation("Gone AB")
    make_contact("Maja", "Lind", organisation=kept)
    records.soft_delete(gone, actor=None)
    db.session.execute(sa.delete(SearchEntry))
    db.session.commit()
    assert index.matching_ids("organisation", "vinnova") == []

    assert index.rebuild_index() == 2
    db.session.commit()

    assert index.matching_ids("organisation", "vinnova") == [kept.id]
    assert index.matching_ids("organisation", "gone") == []
    assert len(index.matching_ids("contact", "maja")) == 1


# ---------------------------------------------------------------- the page


def test_the_header_has_the_search_box_for_staff_only(client, login):
    assert 'id="site-search-q"' not in client.get("/").get_data(as_text=True)
    login("viewer")
    html = client.get("/organisations/").get_data(as_text=True)
    assert 'action="/search/"' in html
    assert '<label for="site-search-q"' in html


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/search/?q=roche")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_search_finds_a_record_created_through_the_pages_right_away(client, login):
    login("member")
    fields = ("org_number", "website", "email_domains", "city", "size_class", "description")
    data = {name: "" for name in (*fields, "tags", "owner_id")}
    data.update(kind="company", name="Ångström Diagnostik AB", country="SE")
    response = client.post("/organisations/new", data=data)
    assert response.status_code == 302
    organisation = db_organisation("Ångström Diagnostik AB")

    html = search_page(client, "angstrom")

    assert "Organisations" in html
    assert f'href="/organisations/{organisation.id}"' in html
    assert "Ångström Diagnostik AB" in html


def db_organisation(name):
    from crm.extensions import db

    return db.session.scalar(sa.select(Organisation).where(Organisation.name == name))


def test_search_stops_finding_a_deleted_record_and_finds_it_after_restore(
    client, login, make_organisation
):
    login("coordinator")
    organisation = make_organisation("Sectra AB")
    assert f'href="/organisations/{organisation.id}"' in search_page(client, "sectra")

    assert client.post(f"/organisations/{organisation.id}/delete").status_code == 302
    html = search_page(client, "sectra")
    assert f'href="/organisations/{organisation.id}"' not in html
    assert "Nothing found" in html

    assert client.post(f"/organisations/{organisation.id}/restore").status_code == 302
    assert f'href="/organisations/{organisation.id}"' in search_page(client, "SECTRA")


def test_results_are_grouped_with_counts_and_a_link_to_the_list(
    client, login, make_organisation, make_contact
):
    login("viewer")
    for number in range(12):
        make_organisation(f"Gothia Forum {number:02d}")
    make_contact("Gothia", "Persson")

    html = search_page(client, "gothia")

    assert 'Organisations <span class="count">(12)</span>' in html
    assert 'Contacts <span class="count">(1)</span>' in html
    assert len(re.findall(r'href="/organisations/\d+"', html)) == 10
    assert "Showing the first 10 of 12." in html
    assert 'href="/organisations/?q=gothia"' in html
    assert "13 results" in html


def test_empty_and_unmatched_queries(client, login):
    login("viewer")
    html = search_page(client, "")
    assert "Type a name" in html
    html = search_page(client, "no such thing anywhere")
    assert "Nothing found for “no such thing anywhere”." in html
    html = search_page(client, "'\" OR 1=1 -- * : & | ! ( )")
    assert "Nothing found" in html


def test_viewers_never_see_enquiries(client, login, make_enquiry):
    login("viewer")
    make_enquiry(name="Greta Garbo")
    html = search_page(client, "garbo")
    assert "Enquiries" not in html
    assert "Greta Garbo" not in html
    assert "Nothing found" in html


def test_members_see_only_the_enquiries_assigned_to_them(client, login, make_user, make_enquiry):
    member = login("member")
    colleague = make_user("member")
    mine = make_enquiry(name="Greta Garbo", assignee_id=member.id)
    theirs = make_enquiry(name="Greta Lund", assignee_id=colleague.id)
    unassigned = make_enquiry(name="Greta Berg")

    html = search_page(client, "greta")

    assert f'href="/enquiries/{mine.id}"' in html
    assert f'href="/enquiries/{theirs.id}"' not in html
    assert f'href="/enquiries/{unassigned.id}"' not in html
    assert "Greta Lund" not in html
    assert 'Enquiries <span class="count">(1)</span>' in html


def test_coordinators_see_every_enquiry_but_never_deleted_ones(
    client, login, make_user, make_enquiry
):
    login("coordinator")
    member = make_user("member")
    assigned = make_enquiry(name="Greta Garbo", assignee_id=member.id)
    unassigned = make_enquiry(name="Greta Berg")
    deleted = make_enquiry(name="Greta Gone")
    records.soft_delete(deleted, actor=None)
    from crm.extensions import db

    db.session.commit()

    html = search_page(client, "greta")

    assert f'href="/enquiries/{assigned.id}"' in html
    assert f'href="/enquiries/{unassigned.id}"' in html
    assert "Greta Gone" not in html


def test_the_query_count_does_not_grow_with_the_results(
    client, db, login, make_organisation, make_contact, make_enquiry
):
    login("admin")
    organisation = make_organisation("Uppsala Bio 0")
    make_contact("Uppsala", "Svensson", organisation=organisation)
    make_enquiry(organisation_name="Uppsala Bio")
    search_page(client, "uppsala")  # warm up
    with count_queries(db) as few:
        search_page(client, "uppsala")

    for number in range(1, 15):
        other = make_organisation(f"Uppsala Bio {number}")
        make_contact("Uppsala", f"Svensson {number}", organisation=other)
        make_enquiry(organisation_name=f"Uppsala Bio {number}")
    with count_queries(db) as many:
        html = search_page(client, "uppsala")

    assert 'Organisations <span class="count">(15)</span>' in html
    assert len(many) == len(few)
