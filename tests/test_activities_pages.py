"""Activity pages: create and edit with several organisations, contacts and staff; bad input;
roles; the list's filters, query count and export; quick-log; timelines."""

import csv
import io
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from crm.activities import services as activity_services
from crm.activities.models import (
    Activity,
    ActivityKind,
    ActivityOrganisation,
    ActivityOrganisationRole,
    ActivityStatus,
)
from crm.core.models import AuditEntry
from crm.core.types import utcnow
from crm.organisations import services
from crm.organisations.models import Organisation, OrganisationKind, OrganisationSector, Sector
from tests.helpers import analyze, count_queries, sqlite_plans

ROWS = 3


def form_data(**overrides):
    data = {
        "kind": "workshop",
        "title": "Biobank workshop",
        "start_date": "2026-03-10",
        "start_time": "09:00",
        "end_date": "2026-03-11",
        "end_time": "16:00",
        "place": "Uppsala",
        "status": "planned",
        "agreement_id": "",
        "description": "",
        "outcome": "",
        "public_summary": "",
    }
    for row in range(ROWS):
        data[f"organisations-{row}-organisation"] = ""
        data[f"organisations-{row}-role"] = "participant"
        data[f"contacts-{row}"] = ""
    data.update(overrides)
    return data


def all_activities(db):
    return db.session.scalars(sa.select(Activity).order_by(Activity.id)).all()


def roles_of(activity):
    return {link.organisation.name: link.role for link in activity.organisations}


# ---------------------------------------------------------------- create and edit


def test_create_with_several_organisations_contacts_and_staff(
    client, db, signed_in, make_organisation, make_contact, make_user
):
    me = signed_in("member")
    colleague = make_user("member", name="Cecilia Colleague")
    uppsala = make_organisation("Uppsala Biobank AB")
    karolinska = make_organisation("Karolinska Lab")
    anna = make_contact("Anna", "Andersson", organisation=uppsala)
    bo = make_contact("Bo", "Berg", organisation=karolinska)

    response = client.post(
        "/activities/new",
        data=form_data(
            **{
                "organisations-0-organisation": "Uppsala Biobank AB",
                "organisations-0-role": "partner",
                "organisations-1-organisation": f"Karolinska Lab (#{karolinska.id})",
                "organisations-1-role": "sponsor",
                "contacts-0": "Anna Andersson",
                "contacts-1": f"Bo Berg (#{bo.id})",
                "staff": [str(me.id), str(colleague.id)],
            }
        ),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    (activity,) = all_activities(db)
    assert re.search(rf"/activities/{activity.id}$", response.headers["Location"])
    assert roles_of(activity) == {
        "Uppsala Biobank AB": ActivityOrganisationRole.PARTNER,
        "Karolinska Lab": ActivityOrganisationRole.SPONSOR,
    }
    assert {contact.id for contact in activity.contacts} == {anna.id, bo.id}
    assert {user.id for user in activity.staff} == {me.id, colleague.id}
    assert activity.end_date == date(2026, 3, 11)
    assert activity.start_time.hour == 9

    entry = db.session.scalar(
        sa.select(AuditEntry).where(
            AuditEntry.entity_type == "activities", AuditEntry.entity_id == activity.id
        )
    )
    assert entry.action == "create"
    assert entry.actor_id == me.id
    assert entry.changes["title"] == [None, "Biobank workshop"]
    assert entry.changes["organisations"][1] == [
        "Karolinska Lab (sponsor)",
        "Uppsala Biobank AB (partner)",
    ]
    assert entry.changes["contacts"][1] == ["Anna Andersson", "Bo Berg"]

    page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert "Biobank workshop" in page
    assert f'href="/organisations/{uppsala.id}"' in page
    assert "Sponsor" in page and "Partner" in page
    assert "Cecilia Colleague" in page
    assert "Karolinska Lab (sponsor)" in page  # the history


def test_edit_changes_roles_organisations_contacts_and_staff(
    client, db, signed_in, make_organisation, make_contact, make_activity, make_user
):
    me = signed_in("member")
    other = make_user("member", name="Olle Other")
    one = make_organisation("One AB")
    two = make_organisation("Two AB")
    three = make_organisation("Three AB")
    anna = make_contact("Anna", "Andersson")
    bo = make_contact("Bo", "Berg")
    activity = make_activity("Dialogue", organisations=[one, two], contacts=[anna], staff=[other])

    form = client.get(f"/activities/{activity.id}/edit").get_data(as_text=True)
    assert f"One AB (#{one.id})" in form and f"Anna Andersson (#{anna.id})" in form

    response = client.post(
        f"/activities/{activity.id}/edit",
        data=form_data(
            title="Dialogue meeting",
            start_date="2026-03-01",
            end_date="",
            start_time="",
            end_time="",
            **{
                "organisations-0-organisation": f"Two AB (#{two.id})",
                "organisations-0-role": "partner",
                "organisations-1-organisation": "Three AB",
                "organisations-1-role": "sponsor",
                "contacts-0": "Bo Berg",
                "staff": [str(me.id)],
            },
        ),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    activity = db.session.get(Activity, activity.id)
    assert activity.title == "Dialogue meeting"
    assert roles_of(activity) == {
        "Two AB": ActivityOrganisationRole.PARTNER,
        "Three AB": ActivityOrganisationRole.SPONSOR,
    }
    assert [contact.id for contact in activity.contacts] == [bo.id]
    assert [user.id for user in activity.staff] == [me.id]
    assert three.id in {link.organisation_id for link in activity.organisations}

    entry = db.session.scalar(
        sa.select(AuditEntry).where(
            AuditEntry.entity_type == "activities", AuditEntry.action == "update"
        )
    )
    assert entry.changes["title"] == ["Dialogue", "Dialogue meeting"]
    assert entry.changes["organisations"] == [
        ["One AB (participant)", "Two AB (participant)"],
        ["Three AB (sponsor)", "Two AB (partner)"],
    ]
    assert entry.changes["contacts"] == [["Anna Andersson"], ["Bo Berg"]]
    assert entry.changes["staff"] == [["Olle Other"], [me.name]]


def test_end_before_start_is_refused_and_nothing_stored(client, db, signed_in, make_organisation):
    signed_in("member")
    make_organisation("One AB")
    response = client.post(
        "/activities/new",
        data=form_data(
            start_date="2026-03-10",
            end_date="2026-03-09",
            **{"organisations-0-organisation": "One AB"},
        ),
    )
    assert response.status_code == 200
    assert "The end date cannot be before the start date." in response.get_data(as_text=True)
    assert all_activities(db) == []


def test_end_before_start_in_the_service(db, make_organisation):
    with pytest.raises(activity_services.ActivityError) as error:
        activity_services.create_activity(
            {
                "kind": ActivityKind.SEMINAR,
                "title": "Backwards",
                "start_date": date(2026, 3, 10),
                "end_date": date(2026, 3, 1),
            },
            actor=None,
        )
    assert error.value.field == "end_date"
    db.session.rollback()
    assert all_activities(db) == []


def test_edit_end_before_start_changes_nothing(client, db, signed_in, make_activity):
    signed_in("member")
    activity = make_activity("Seminar", start_date=date(2026, 3, 1))
    response = client.post(
        f"/activities/{activity.id}/edit",
        data=form_data(title="Changed", start_date="2026-03-05", end_date="2026-03-04"),
    )
    assert response.status_code == 200
    assert "The end date cannot be before the start date." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Activity, activity.id).title == "Seminar"


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("organisations-0-organisation", "No Such Company AB", "There is no organisation called"),
        ("organisations-0-organisation", "Unknown (#999999)", "There is no organisation called"),
        ("contacts-0", "Nobody Known", "There is no contact called"),
    ],
)
def test_unknown_organisation_or_contact_is_a_field_error(
    client, db, signed_in, make_organisation, field, value, message
):
    signed_in("member")
    make_organisation("One AB")
    response = client.post(
        "/activities/new",
        data=form_data(**{"organisations-1-organisation": "One AB", field: value}),
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message in page
    assert 'aria-invalid="true"' in page
    assert all_activities(db) == []


def test_unknown_organisation_in_quick_log(client, db, signed_in):
    signed_in("member")
    response = client.post(
        "/activities/quick",
        data={
            "kind": "seminar",
            "title": "X",
            "start_date": "2026-01-01",
            "organisations-0-name": "Nope",
            "organisations-0-kind": "bogus",
        },
    )
    assert response.status_code == 200
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert all_activities(db) == []


# ---------------------------------------------------------------- roles


def test_viewers_cannot_create_edit_or_quick_log(client, db, signed_in, make_activity):
    activity = make_activity("Seminar")
    signed_in("viewer")
    for url in ("/activities/new", f"/activities/{activity.id}/edit", "/activities/quick"):
        assert client.get(url).status_code == 403
        assert client.post(url, data=form_data()).status_code == 403
    assert len(all_activities(db)) == 1
    index = client.get("/activities/").get_data(as_text=True)
    assert "Log an activity" not in index and "/activities/new" not in index
    detail = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert f"/activities/{activity.id}/edit" not in detail
    assert "Seminar" in detail


def test_members_cannot_delete_coordinators_delete_and_restore(
    client, db, signed_in, make_activity, auth
):
    activity = make_activity("Seminar")
    signed_in("member")
    assert client.post(f"/activities/{activity.id}/delete").status_code == 403
    auth.logout()
    signed_in("coordinator")
    assert client.get(f"/activities/{activity.id}/delete").status_code == 200
    assert client.post(f"/activities/{activity.id}/delete").status_code == 302
    db.session.expire_all()
    assert db.session.get(Activity, activity.id).deleted_at is not None
    assert titles_in(client.get("/activities/").get_data(as_text=True)) == []
    assert client.post(f"/activities/{activity.id}/restore").status_code == 302
    db.session.expire_all()
    assert db.session.get(Activity, activity.id).deleted_at is None


# ---------------------------------------------------------------- list and export


def titles_in(html):
    return re.findall(r'href="/activities/\d+">([^<]+)</a>', html)


def test_list_filters(client, signed_in, make_activity, make_organisation, make_user):
    me = signed_in("viewer")
    one = make_organisation("One AB")
    two = make_organisation("Two AB")
    make_activity(
        "Alpha", organisations=[one], kind=ActivityKind.SEMINAR, start_date=date(2026, 1, 5)
    )
    make_activity(
        "Beta", organisations=[two], kind=ActivityKind.WORKSHOP, start_date=date(2026, 2, 5)
    )
    make_activity(
        "Gamma",
        organisations=[one, two],
        kind=ActivityKind.WORKSHOP,
        start_date=date(2026, 3, 5),
        status=ActivityStatus.COMPLETED,
        staff=[me],
    )

    assert titles_in(client.get("/activities/").get_data(as_text=True)) == [
        "Gamma",
        "Beta",
        "Alpha",
    ]
    assert titles_in(client.get("/activities/?sort=title").get_data(as_text=True)) == [
        "Alpha",
        "Beta",
        "Gamma",
    ]
    assert titles_in(client.get("/activities/?kind=workshop").get_data(as_text=True)) == [
        "Gamma",
        "Beta",
    ]
    html = client.get(f"/activities/?organisation_id={one.id}").get_data(as_text=True)
    assert titles_in(html) == ["Gamma", "Alpha"]
    html = client.get("/activities/?from=2026-02-01&to=2026-02-28").get_data(as_text=True)
    assert titles_in(html) == ["Beta"]
    assert titles_in(client.get("/activities/?status=completed").get_data(as_text=True)) == [
        "Gamma"
    ]
    assert titles_in(client.get(f"/activities/?staff={me.id}").get_data(as_text=True)) == ["Gamma"]
    # Nonsense filter values are ignored, not errors.
    assert client.get("/activities/?from=never&kind=x&organisation_id=abc").status_code == 200


def test_the_period_filter_finds_what_goes_on_in_it_however_long_it_runs(
    client, signed_in, make_activity
):
    signed_in("viewer")
    for title, start, end in (
        ("Ended just before", date(2026, 1, 5), date(2026, 1, 31)),
        ("One day before", date(2026, 1, 10), None),
        ("Long course", date(2026, 1, 1), date(2026, 12, 31)),
        ("Runs into February", date(2026, 1, 20), date(2026, 2, 5)),
        ("Within", date(2026, 2, 10), None),
        ("Runs out of February", date(2026, 2, 25), date(2026, 3, 10)),
        ("After", date(2026, 3, 1), None),
    ):
        make_activity(title, start_date=start, end_date=end)

    def listed(query):
        html = client.get(f"/activities/?{query}&sort=title").get_data(as_text=True)
        return titles_in(html)

    assert listed("from=2026-02-01&to=2026-02-28") == [
        "Long course", "Runs into February", "Runs out of February", "Within",
    ]  # fmt: skip
    assert listed("from=2026-02-01") == [
        "After", "Long course", "Runs into February", "Runs out of February", "Within",
    ]  # fmt: skip
    assert listed("to=2026-01-31") == [
        "Ended just before", "Long course", "One day before", "Runs into February",
    ]  # fmt: skip
    # Typed the wrong way round: what runs across the gap between the two days.
    assert listed("from=2026-02-28&to=2026-02-01") == ["Long course"]


def test_list_filters_by_sector_of_any_organisation(client, db, signed_in, make_activity):
    signed_in("viewer")
    lab = services.create_organisation(
        {"kind": OrganisationKind.COMPANY, "name": "Lab AB", "sectors": [Sector.DIAGNOSTICS_LAB]},
        actor=None,
    )
    plain = services.create_organisation(
        {"kind": OrganisationKind.COMPANY, "name": "Plain AB"}, actor=None
    )
    db.session.commit()
    make_activity("With lab", organisations=[plain, lab])
    make_activity("Without", organisations=[plain])
    html = client.get(f"/activities/?sector={Sector.DIAGNOSTICS_LAB.value}").get_data(as_text=True)
    assert titles_in(html) == ["With lab"]


def test_list_query_count_does_not_grow(
    client, db, signed_in, make_activity, make_organisation, make_user
):
    signed_in("viewer")
    staff = make_user("member")

    def make_rows(start, count):
        for number in range(start, start + count):
            organisation = make_organisation(f"Org {number}")
            make_activity(f"Activity {number}", organisations=[organisation], staff=[staff])

    def count_for_list():
        with count_queries(db) as statements:
            response = client.get("/activities/")
        assert response.status_code == 200
        return len(statements)

    make_rows(0, 3)
    few = count_for_list()
    make_rows(3, 27)
    many = count_for_list()
    assert many == few


def test_csv_export_of_the_filtered_list(client, db, signed_in, make_activity, make_organisation):
    signed_in("viewer")
    one = make_organisation("One AB")
    make_activity("=Alpha", organisations=[one], kind=ActivityKind.SEMINAR)
    make_activity("Beta", kind=ActivityKind.WORKSHOP)
    response = client.get("/activities/export.csv?kind=seminar")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["id", "kind", "title"]
    assert len(rows) == 2
    assert rows[1][2] == "'=Alpha"
    assert rows[1][10] == "One AB (participant)"


def test_export_query_count_does_not_grow(client, db, signed_in, make_activity, make_organisation):
    signed_in("viewer")

    def count_for_export():
        with count_queries(db) as statements:
            response = client.get("/activities/export.csv")
            response.get_data()
        return len(statements)

    for number in range(2):
        make_activity(f"A{number}", organisations=[make_organisation(f"O{number}")])
    few = count_for_export()
    for number in range(2, 12):
        make_activity(f"A{number}", organisations=[make_organisation(f"O{number}")])
    assert count_for_export() == few


# ---------------------------------------------------------------- quick-log


def test_quick_log_defaults_today_and_me(client, db, signed_in, make_organisation, make_contact):
    me = signed_in("member")
    one = make_organisation("One AB")
    make_organisation("Two AB")
    anna = make_contact("Anna", "Andersson", organisation=one)

    form = client.get(f"/activities/quick?contact_id={anna.id}").get_data(as_text=True)
    assert f'value="{date.today().isoformat()}"' in form
    assert f"Anna Andersson (#{anna.id})" in form
    assert f"One AB (#{one.id})" in form  # the contact's organisation

    response = client.post(
        "/activities/quick",
        data={
            "kind": "dialogue_meeting",
            "title": "Coffee",
            "start_date": date.today().isoformat(),
            "organisations-0-name": "One AB",
            "organisations-1-name": "Two AB",
            "contacts-0-name": "Anna Andersson",
            "contacts-1-name": "",
            "outcome": "They want a workshop.",
        },
    )
    assert response.status_code == 302
    (activity,) = all_activities(db)
    assert response.headers["Location"].endswith(f"/activities/{activity.id}")
    assert [user.id for user in activity.staff] == [me.id]
    assert activity.status == ActivityStatus.COMPLETED
    assert activity.start_date == date.today()
    assert set(roles_of(activity)) == {"One AB", "Two AB"}
    assert [contact.id for contact in activity.contacts] == [anna.id]
    assert activity.outcome == "They want a workshop."


def test_quick_log_in_the_future_is_planned(client, db, signed_in, make_organisation):
    signed_in("member")
    organisation = make_organisation("One AB")
    form = client.get(f"/activities/quick?organisation_id={organisation.id}").get_data(as_text=True)
    assert f"One AB (#{organisation.id})" in form
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    client.post(
        "/activities/quick",
        data={"kind": "seminar", "title": "Next", "start_date": tomorrow},
    )
    (activity,) = all_activities(db)
    assert activity.status == ActivityStatus.PLANNED


def test_list_and_pages_link_to_the_quick_log(client, signed_in, make_organisation, make_contact):
    signed_in("member")
    organisation = make_organisation("One AB")
    contact = make_contact("Anna", "Andersson")
    assert "Log an activity" in client.get("/activities/").get_data(as_text=True)
    assert f"/activities/quick?organisation_id={organisation.id}" in client.get(
        f"/organisations/{organisation.id}"
    ).get_data(as_text=True)
    assert f"/activities/quick?contact_id={contact.id}" in client.get(
        f"/contacts/{contact.id}"
    ).get_data(as_text=True)


# ---------------------------------------------------------------- timelines


def test_timelines_on_organisation_and_contact_pages(
    client, signed_in, make_activity, make_organisation, make_contact
):
    signed_in("viewer")
    one = make_organisation("One AB")
    two = make_organisation("Two AB")
    anna = make_contact("Anna", "Andersson")
    older = make_activity(
        "Older meeting", organisations=[one, two], contacts=[anna], start_date=date(2026, 1, 1)
    )
    newer = make_activity(
        "Newer meeting", organisations=[one], contacts=[anna], start_date=date(2026, 2, 1)
    )
    deleted = make_activity("Deleted meeting", organisations=[one], contacts=[anna])
    deleted.deleted_at = deleted.created_at
    from crm.extensions import db

    db.session.commit()

    for url in (f"/organisations/{one.id}", f"/contacts/{anna.id}"):
        html = client.get(url).get_data(as_text=True)
        assert titles_in(html) == ["Newer meeting", "Older meeting"], url
        assert f'href="/activities/{newer.id}"' in html
    html = client.get(f"/organisations/{two.id}").get_data(as_text=True)
    assert titles_in(html) == ["Older meeting"]
    assert f'href="/activities/{older.id}"' in html


def test_association_page_shows_its_members_activities(
    client, db, signed_in, make_activity, make_organisation
):
    signed_in("viewer")
    association = make_organisation("Swedish Medtech", kind=OrganisationKind.INDUSTRY_ASSOCIATION)
    member = make_organisation("Member AB")
    outsider = make_organisation("Outsider AB")
    services.add_membership(member, association, actor=None)
    db.session.commit()
    make_activity("Member workshop", organisations=[member])
    make_activity("Outsider workshop", organisations=[outsider])

    html = client.get(f"/organisations/{association.id}").get_data(as_text=True)
    assert "Activities of its members" in html
    section = html.split("Activities of its members", 1)[1]
    assert "Member workshop" in section and "Member AB" in section
    assert "Outsider workshop" not in html
    # Not an association: no such section.
    html = client.get(f"/organisations/{member.id}").get_data(as_text=True)
    assert "Activities of its members" not in html
    assert "Member workshop" in html


def test_service_rejects_one_organisation_twice(db, make_organisation):
    one = make_organisation("One AB")
    with pytest.raises(activity_services.ActivityError):
        activity_services.create_activity(
            {
                "kind": ActivityKind.SEMINAR,
                "title": "Twice",
                "start_date": date(2026, 1, 1),
                "organisations": [
                    (one, ActivityOrganisationRole.PARTNER),
                    (one, ActivityOrganisationRole.SPONSOR),
                ],
            },
            actor=None,
        )
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ActivityOrganisation)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)) == 1


def test_a_deep_page_of_the_list_reads_its_ids_from_an_index(client, db, signed_in):
    """Page 60 of the activities: the ids of the rows skipped are read from an index of the
    live activities in date order (the index of dates alone made the database read each
    skipped activity to test its deleted mark: 53 ms for page 1911 of 50,000)."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL scans tables this small whatever the indexes")
    now = utcnow()
    db.session.execute(
        sa.insert(Activity),
        [
            {"kind": ActivityKind.SEMINAR, "title": f"Seminar {number:04d}",
             "start_date": date(2026, 1, 1) + timedelta(days=number % 300),
             "status": ActivityStatus.COMPLETED, "created_at": now, "updated_at": now}
            for number in range(1600)
        ],
    )  # fmt: skip
    analyze(db)
    signed_in("viewer")

    with sqlite_plans(db, "SELECT activities.id FROM activities") as plans:
        page = client.get("/activities/?page=60").get_data(as_text=True)

    assert page.count('href="/activities/') >= 25
    assert plans, "a deep page looks its ids up first"
    lines = [line for lines in plans for line in lines]
    assert any("COVERING INDEX ix_activities_live_start" in line for line in lines), lines


def test_the_sector_filter_reads_its_links_from_indexes_alone(client, db, signed_in):
    """Filtering activities by sector goes from the sector to its organisations and on to
    their activities; each step is read from an index that holds both ids, not with a
    lookup in the table per row (12,500 organisations in a sector at SPEC §6's scale)."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plans read here are SQLite's")
    now = utcnow()
    organisation_ids = db.session.scalars(
        sa.insert(Organisation).returning(Organisation.id),
        [
            {"kind": OrganisationKind.COMPANY, "name": f"Company {number:03d}",
             "search_text": "", "name_key": f"company {number}",
             "created_at": now, "updated_at": now}
            for number in range(400)
        ],
    ).all()  # fmt: skip
    db.session.execute(
        sa.insert(OrganisationSector),
        [
            {"organisation_id": organisation_id, "sector": list(Sector)[number % len(Sector)]}
            for number, organisation_id in enumerate(organisation_ids)
        ],
    )
    activity_ids = db.session.scalars(
        sa.insert(Activity).returning(Activity.id),
        [
            {"kind": ActivityKind.SEMINAR, "title": f"Seminar {number:03d}",
             "start_date": date(2026, 1, 1) + timedelta(days=number % 300),
             "status": ActivityStatus.COMPLETED, "created_at": now, "updated_at": now}
            for number in range(800)
        ],
    ).all()  # fmt: skip
    db.session.execute(
        sa.insert(ActivityOrganisation),
        [
            {"activity_id": activity_id, "organisation_id": organisation_ids[number % 400]}
            for number, activity_id in enumerate(activity_ids)
        ],
    )
    analyze(db)
    signed_in("viewer")

    with sqlite_plans(db, containing="organisation_sectors") as plans:
        page = client.get("/activities/?sector=pharma").get_data(as_text=True)

    assert page.count('href="/activities/') >= 25
    lines = [line for lines in plans for line in lines]
    assert any("COVERING INDEX ix_organisation_sectors_sector_organisation" in x for x in lines)
    assert any("COVERING INDEX ix_activity_organisations_organisation_activity" in x for x in lines)
