"""Staff triage of enquiries: the inbox, suggestions, matching, assignment, work on an
enquiry, its history, the export, and who may see what."""

import csv
import io
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from crm.activities import task_services
from crm.activities.models import Task
from crm.auth.models import UserTopic
from crm.core.models import AuditEntry
from crm.core.types import utcnow
from crm.enquiries import services
from crm.enquiries.models import ClosedReason, Enquiry, EnquiryComment, EnquiryStatus, Topic
from crm.mail.models import OutboxMessage
from crm.organisations import services as organisation_services
from crm.organisations.models import Contact, Organisation, OrganisationKind
from tests.factories import enquiry_rows
from tests.helpers import analyze, sqlite_plans


@pytest.fixture
def with_topics(db):
    def add(user, *topics):
        for topic in topics:
            db.session.add(UserTopic(user_id=user.id, topic=topic))
        db.session.commit()
        db.session.refresh(user)
        return user

    return add


@pytest.fixture
def request_context(app):
    """Services that write e-mails with links need a request to build the links from."""
    with app.test_request_context("/"):
        yield


def listed_references(html):
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return re.findall(r'<a href="/enquiries/\d+">([^<]*)</a>', body)


def messages(db, kind="enquiry_assigned"):
    return db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
    ).all()


def audit_actions(db, enquiry):
    return db.session.scalars(
        sa.select(AuditEntry.action)
        .where(AuditEntry.entity_type == "enquiries", AuditEntry.entity_id == enquiry.id)
        .order_by(AuditEntry.id)
    ).all()


def read_csv(response):
    assert response.status_code == 200
    text = response.get_data(as_text=True).lstrip("\ufeff")
    return list(csv.DictReader(io.StringIO(text)))


# ---------------------------------------------------------------- inbox


def test_inbox_lists_unassigned_first_then_oldest(client, db, signed_in, make_enquiry, make_user):
    member = make_user("member", name="Maja Member")
    assigned_old = make_enquiry(
        age=timedelta(days=10), assignee_id=member.id, status=EnquiryStatus.ASSIGNED
    )
    new_recent = make_enquiry(age=timedelta(days=1))
    new_old = make_enquiry(age=timedelta(days=5))
    assigned_recent = make_enquiry(
        age=timedelta(days=2), assignee_id=member.id, status="in_progress"
    )
    make_enquiry(
        age=timedelta(days=20), status=EnquiryStatus.CLOSED, closed_reason=ClosedReason.SPAM
    )
    signed_in("coordinator")

    html = client.get("/enquiries/").get_data(as_text=True)

    assert listed_references(html) == [
        new_old.reference,
        new_recent.reference,
        assigned_old.reference,
        assigned_recent.reference,
    ]
    assert "4 enquiries" in html
    assert "5 days" in html  # the age column
    assert "Unassigned" in html
    assert "Maja Member" in html


def test_inbox_filters(client, db, signed_in, make_enquiry, make_user):
    member = make_user("member")
    other = make_user("member")
    studies = make_enquiry(age=timedelta(days=8), topic=Topic.CLINICAL_STUDIES, name="Åsa Öberg")
    theirs = make_enquiry(
        age=timedelta(days=3),
        assignee_id=member.id,
        status="assigned",
        organisation_name="Roche AB",
    )
    others = make_enquiry(age=timedelta(days=1), assignee_id=other.id, status="in_progress")
    closed = make_enquiry(
        age=timedelta(days=30), status="closed", closed_reason="spam", email="spam@spam.example"
    )
    signed_in("coordinator")

    def references(**args):
        response = client.get("/enquiries/", query_string=args)
        assert response.status_code == 200
        return listed_references(response.get_data(as_text=True))

    assert references(status="all") == [
        closed.reference,
        studies.reference,
        theirs.reference,
        others.reference,
    ]
    assert references(status="closed") == [closed.reference]
    assert references(status="in_progress") == [others.reference]
    assert references(topic="clinical_studies") == [studies.reference]
    assert references(assignee="none") == [studies.reference]
    assert references(assignee=member.id) == [theirs.reference]
    assert references(age=7) == [studies.reference]
    assert references(age=7, status="all") == [closed.reference, studies.reference]
    assert references(q="roche") == [theirs.reference]
    assert references(q="Åsa") == [studies.reference]
    assert references(q="åsa öberg") == [studies.reference]
    assert references(q=others.reference.lower()) == [others.reference]
    assert references(q="spam@SPAM", status="all") == [closed.reference]
    # Values that mean nothing are ignored rather than failing.
    assert len(references(status="x", topic="y", assignee="z", age="-1", page="q")) == 3


def test_inbox_search_lists_what_the_search_page_counted(client, signed_in, make_enquiry):
    """The inbox's search box finds words as the search page does, the message's included:
    the list behind the search page's "Show all in the list" holds what it counted."""
    signed_in("coordinator")
    make_enquiry(name="Lena Ekström", message="A question about biobank samples.")
    make_enquiry(organisation_name="Biobank Partners AB")
    make_enquiry(name="Per Holm", message="Sequencing for our trial.")
    make_enquiry(name="Stina Ek", message="Our microbiobank is new.")  # a word's middle

    search = client.get("/search/?q=biobank&lang=en").get_data(as_text=True)
    assert 'Enquiries <span class="count">(2)</span>' in search
    listed = client.get("/enquiries/?q=biobank").get_data(as_text=True)
    assert len(listed_references(listed)) == 2
    assert len(listed_references(client.get("/enquiries/?q=ekstr").get_data(as_text=True))) == 1


def test_inbox_paginates_and_shows_an_empty_state(client, signed_in, make_enquiry):
    signed_in("coordinator")
    assert "No open enquiries" in client.get("/enquiries/").get_data(as_text=True)
    for _number in range(27):
        make_enquiry()

    first = client.get("/enquiries/").get_data(as_text=True)
    second = client.get("/enquiries/?page=2").get_data(as_text=True)

    assert len(listed_references(first)) == 25
    assert len(listed_references(second)) == 2
    html = client.get("/enquiries/?q=nothing-like-this").get_data(as_text=True)
    assert "No enquiries match" in html


def test_inbox_query_count_does_not_grow_with_rows(client, db, signed_in, make_enquiry, make_user):
    members = [make_user("member") for _number in range(3)]
    company = organisation_services.create_organisation(
        {"kind": OrganisationKind.COMPANY, "name": "Linked AB"}, actor=None
    )
    db.session.commit()
    signed_in("coordinator")

    def add(count):
        for number in range(count):
            make_enquiry(
                assignee_id=members[number % 3].id,
                status="assigned",
                organisation_id=company.id,
            )

    def count_queries(url):
        statements = []

        def listener(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", listener)
        try:
            body = client.get(url).get_data(as_text=True)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements), body

    add(3)
    client.get("/enquiries/?per_page=50")
    few, body = count_queries("/enquiries/?per_page=50")
    assert len(listed_references(body)) == 3
    few_csv, _body = count_queries("/enquiries/export.csv")
    add(30)
    many, body = count_queries("/enquiries/?per_page=50")
    assert len(listed_references(body)) == 33
    many_csv, body = count_queries("/enquiries/export.csv")
    assert len(body.strip().splitlines()) == 34

    assert few == many
    assert few_csv == many_csv


# ---------------------------------------------------------------- suggestions


def test_suggested_assignee_has_the_topic_and_the_fewest_open_enquiries(
    db, make_user, make_enquiry, with_topics
):
    busy = with_topics(make_user("member", name="Anna Busy"), Topic.DIAGNOSTICS)
    free = with_topics(make_user("member", name="Bertil Free"), Topic.DIAGNOSTICS, Topic.OTHER)
    with_topics(make_user("member", name="Cecilia Other"), Topic.EDUCATION)
    with_topics(make_user("member", name="Aaron Away", active=False), Topic.DIAGNOSTICS)
    with_topics(make_user("coordinator", name="Aase Coordinator"), Topic.DIAGNOSTICS)
    make_enquiry(assignee_id=busy.id, status="assigned")
    make_enquiry(assignee_id=busy.id, status="in_progress")
    make_enquiry(assignee_id=free.id, status="assigned")
    # Closed and converted ones are not open: they do not count.
    for _number in range(3):
        make_enquiry(assignee_id=free.id, status="closed", closed_reason="answered")
        make_enquiry(assignee_id=free.id, status="converted")
    enquiry = make_enquiry(topic=Topic.DIAGNOSTICS)

    assert services.suggest_assignee(enquiry) == free
    assert services.suggestion_for(enquiry) == (free, True)

    # A tie goes to the name first in order.
    make_enquiry(assignee_id=free.id, status="assigned")
    assert services.suggest_assignee(enquiry) == busy


def test_without_a_topic_match_the_least_busy_member_is_suggested(
    db, make_user, make_enquiry, with_topics
):
    busy = with_topics(make_user("member", name="Anna Busy"), Topic.DIAGNOSTICS)
    idle = make_user("member", name="Bertil Idle")
    make_user("member", name="Aaron Away", active=False)
    make_user("coordinator", name="Aase Coordinator")
    make_enquiry(assignee_id=busy.id, status="assigned")
    enquiry = make_enquiry(topic=Topic.INNOVATION_BUSINESS)

    assert services.suggest_assignee(enquiry) is None
    assert services.suggestion_for(enquiry) == (idle, False)


def test_no_members_means_no_suggestion(db, make_user, make_enquiry):
    make_user("coordinator")
    make_user("member", active=False)
    assert services.suggestion_for(make_enquiry()) == (None, False)


def test_detail_page_shows_the_suggestion_with_one_click_assign(
    client, db, signed_in, make_user, make_enquiry, with_topics
):
    member = with_topics(make_user("member", name="Maja Member"), Topic.CLINICAL_STUDIES)
    make_user("member", name="Olle Other")
    enquiry = make_enquiry(topic=Topic.CLINICAL_STUDIES)
    signed_in("coordinator")

    html = client.get(f"/enquiries/{enquiry.id}").get_data(as_text=True)

    assert "Suggested: Maja Member" in html
    assert "Assign to Maja Member" in html
    assert f'name="assign-assignee_id" value="{member.id}"' in html
    assert "Olle Other (0 open)" in html

    enquiry.topic = Topic.OTHER
    db.session.commit()
    html = client.get(f"/enquiries/{enquiry.id}").get_data(as_text=True)
    assert "Nobody has Other among their topics" in html


# ---------------------------------------------------------------- matching


@pytest.fixture
def organisations(db):
    roche = organisation_services.create_organisation(
        {"kind": OrganisationKind.COMPANY, "name": "Roche AB", "email_domains": ["roche.com"]},
        actor=None,
    )
    webmail = organisation_services.create_organisation(
        {"kind": OrganisationKind.OTHER, "name": "Somebody", "email_domains": ["gmail.com"]},
        actor=None,
    )
    lif = organisation_services.create_organisation(
        {"kind": OrganisationKind.INDUSTRY_ASSOCIATION, "name": "Lif", "email_domains": ["lif.se"]},
        actor=None,
    )
    db.session.flush()
    anna = organisation_services.create_contact(
        {"first_name": "Anna", "last_name": "Berg", "email": "anna.berg@lif.se",
         "organisation_id": lif.id},
        actor=None,
    )  # fmt: skip
    db.session.commit()
    return {"roche": roche, "webmail": webmail, "lif": lif, "anna": anna}


def test_match_by_contact_email_then_domain_then_name(db, make_enquiry, organisations):
    by_contact = make_enquiry(email="Anna.Berg@LIF.se", organisation_name="Roche")
    by_domain = make_enquiry(email="someone@research.roche.com")
    by_name = make_enquiry(email="x@unknown.example", organisation_name="ROCHE  ab")
    nothing = make_enquiry(email="x@unknown.example", organisation_name="Unknown Ltd")

    assert services.match_organisation_and_contact(by_contact) == (
        organisations["lif"],
        organisations["anna"],
        "contact",
    )
    assert services.match_organisation_and_contact(by_domain) == (
        organisations["roche"],
        None,
        "domain",
    )
    assert services.match_organisation_and_contact(by_name) == (
        organisations["roche"],
        None,
        "name",
    )
    assert services.match_organisation_and_contact(nothing) == (None, None, None)


def test_match_ignores_webmail_domains_and_deleted_records(db, make_enquiry, organisations):
    webmail = make_enquiry(email="someone@gmail.com", organisation_name="")
    assert services.match_organisation_and_contact(webmail) == (None, None, None)

    organisations["anna"].deleted_at = utcnow()
    db.session.commit()
    enquiry = make_enquiry(email="anna.berg@lif.se")
    # The contact is gone, but the domain still finds the organisation.
    assert services.match_organisation_and_contact(enquiry) == (
        organisations["lif"],
        None,
        "domain",
    )


def test_match_by_website_or_colleagues_domain_follows_their_changes(db, make_enquiry):
    novo = organisation_services.create_organisation(
        {"kind": OrganisationKind.COMPANY, "name": "Novo", "website": "https://www.novo.dk/en"},
        actor=None,
    )
    illumina = organisation_services.create_organisation(
        {"kind": OrganisationKind.COMPANY, "name": "Illumina"}, actor=None
    )
    db.session.flush()
    colleague = organisation_services.create_contact(
        {"first_name": "Ida", "last_name": "Lund", "email": "Ida.Lund@Illumina.COM",
         "organisation_id": illumina.id},
        actor=None,
    )  # fmt: skip
    db.session.commit()

    by_website = make_enquiry(email="someone@novo.dk", organisation_name="")
    by_colleague = make_enquiry(email="other@eu.illumina.com", organisation_name="")
    assert services.match_organisation_and_contact(by_website) == (novo, None, "domain")
    assert services.match_organisation_and_contact(by_colleague) == (illumina, None, "domain")

    # The domains are kept with the records: a new website or address moves the match.
    novo.website = "https://novonordisk.com"
    colleague.email = "ida@lund.example"
    db.session.commit()
    assert services.match_organisation_and_contact(by_website) == (None, None, None)
    assert services.match_organisation_and_contact(by_colleague) == (None, None, None)

    # Two organisations behind one domain: better no guess than a wrong one.
    organisation_services.create_organisation(
        {"kind": OrganisationKind.COMPANY, "name": "Novo Two", "website": "http://novo.dk"},
        actor=None,
    )
    novo.website = "https://novo.dk"
    db.session.commit()
    assert services.match_organisation_and_contact(by_website) == (None, None, None)


def test_domain_matching_reads_indexes_not_every_contact(app, db, make_enquiry, organisations):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL scans tables this small whatever the indexes")
    # A register of some size, with the planner's statistics of it, as the daily job keeps
    # them: the plans are those of a real office, not of a nearly empty database.
    now = utcnow()
    db.session.execute(
        sa.insert(Organisation),
        [
            {"kind": OrganisationKind.COMPANY, "name": f"Company {number}",
             "website": f"https://company{number}.example", "name_key": f"company {number}",
             "website_domain": f"company{number}.example", "search_text": "",
             "created_at": now, "updated_at": now}
            for number in range(2000)
        ],
    )  # fmt: skip
    db.session.execute(
        sa.insert(Contact),
        [
            {"last_name": f"Person {number}", "email": f"p{number}@company{number}.example",
             "email_domain": f"company{number}.example", "search_text": "",
             "created_at": now, "updated_at": now}
            for number in range(4000)
        ],
    )  # fmt: skip
    analyze(db)
    enquiry = make_enquiry(email="someone@unknown-domain.example", organisation_name="")
    sent = []

    def listener(conn, cursor, statement, parameters, *args):
        sent.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        services.match_organisation_and_contact(enquiry)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)

    plans = []
    for statement, parameters in sent:
        if statement.lstrip().upper().startswith("SELECT"):
            rows = db.session.connection().exec_driver_sql(
                f"EXPLAIN QUERY PLAN {statement}", parameters
            )
            plans.extend(row[-1] for row in rows)
    # Every read of the two large tables goes by one of the lookup indexes, not by
    # "every live row" (a scan, or the deleted_at index, which holds them all).
    assert plans
    reads = [line for line in plans if "contacts" in line or "organisations " in line]
    by_lookup = ("ix_contacts_email", "PRIMARY KEY", "rowid=?", "website_domain", "name_key")
    assert [line for line in reads if not any(index in line for index in by_lookup)] == []


def test_the_inbox_reads_a_page_in_its_order_not_every_open_enquiry(client, db, signed_in):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL scans tables this small whatever the indexes")
    signed_in("coordinator")
    db.session.execute(
        sa.insert(Enquiry),
        enquiry_rows(
            3000,
            status=lambda number: EnquiryStatus.NEW if number % 3 else EnquiryStatus.ASSIGNED,
        ),
    )
    analyze(db)
    with sqlite_plans(db, "SELECT enquiries.id, enquiries.reference") as plans:
        for query in ("", "?status=new", "?page=3"):
            assert client.get(f"/enquiries/{query}").status_code == 200

    assert len(plans) == 3
    for lines in plans:
        # Sorting in a temporary tree means every matching enquiry was read first.
        assert not [line for line in lines if "TEMP B-TREE" in line], lines


def test_a_members_inbox_reads_their_enquiries_not_everyones(client, db, login, make_user):
    """A member reads only the enquiries assigned to them: found through the index of each
    person's enquiries by date, not by walking the whole inbox (13 ms at 20,000 for a member
    with none), and in the inbox's order."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL scans tables this small whatever the indexes")
    busy = make_user("member")
    member = login("member")
    db.session.execute(
        sa.insert(Enquiry),
        enquiry_rows(
            3000,
            status=EnquiryStatus.ASSIGNED,
            assignee_id=lambda number: member.id if number in (10, 2500) else busy.id,
        ),
    )
    analyze(db)

    with sqlite_plans(db, "SELECT enquiries.id, enquiries.reference") as plans:
        html = client.get("/enquiries/").get_data(as_text=True)

    assert listed_references(html) == ["ENQ-T02500", "ENQ-T00010"]  # the oldest first
    lines = [line for lines in plans for line in lines]
    assert any("ix_enquiries_live_assignee_received" in line for line in lines), lines
    assert not [line for line in lines if "TEMP B-TREE" in line], lines


def test_a_contact_without_organisation_is_still_matched(db, make_enquiry):
    contact = organisation_services.create_contact(
        {"first_name": "Pelle", "last_name": "Fri", "email": "pelle@gmail.com"}, actor=None
    )
    db.session.commit()
    enquiry = make_enquiry(email="PELLE@gmail.com")
    assert services.match_organisation_and_contact(enquiry) == (None, contact, "email")


def test_detail_page_shows_the_likely_organisation_and_contact(
    client, signed_in, make_enquiry, organisations
):
    enquiry = make_enquiry(email="anna.berg@lif.se")
    signed_in("coordinator")

    html = client.get(f"/enquiries/{enquiry.id}").get_data(as_text=True)

    assert "Likely already known" in html
    assert "the contact with this e-mail address works there" in html
    # The conversion form is filled in with them.
    assert f'value="Lif (#{organisations["lif"].id})"' in html
    assert f'value="Anna Berg (#{organisations["anna"].id})"' in html


# ---------------------------------------------------------------- assigning


def test_assigning_queues_one_email_in_the_assignees_language(
    client, db, signed_in, make_user, make_enquiry
):
    swede = make_user("member", name="Sven Svensson")
    briton = make_user("member", name="Bob Brown")
    briton.language = "en"
    db.session.commit()
    enquiry = make_enquiry(topic=Topic.CLINICAL_STUDIES, organisation_name="Roche AB")
    coordinator = signed_in("coordinator")

    response = client.post(f"/enquiries/{enquiry.id}/assign", data={"assign-assignee_id": swede.id})

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/enquiries/{enquiry.id}")
    db.session.refresh(enquiry)
    assert enquiry.assignee_id == swede.id
    assert enquiry.status == EnquiryStatus.ASSIGNED
    first_assigned_at = enquiry.assigned_at
    assert first_assigned_at is not None
    [message] = messages(db)
    assert message.recipient == swede.email
    assert message.language == "sv"
    assert message.enquiry_id == enquiry.id
    assert enquiry.reference in message.subject
    assert enquiry.reference in message.body_text
    assert "Kliniska studier" in message.body_text  # the topic, in Swedish
    assert "Roche AB" in message.body_text
    assert f"http://localhost/enquiries/{enquiry.id}" in message.body_text
    assert "\n" not in message.subject

    # Reassigning tells the new assignee, in English; the time of assignment stays the first.
    response = client.post(
        f"/enquiries/{enquiry.id}/assign", data={"assign-assignee_id": briton.id}
    )
    assert response.status_code == 302
    db.session.refresh(enquiry)
    assert enquiry.assignee_id == briton.id
    assert enquiry.assigned_at == first_assigned_at
    first, second = messages(db)
    assert second.recipient == briton.email
    assert second.language == "en"
    assert "Clinical studies" in second.body_text

    # The same person again: nothing happens.
    client.post(f"/enquiries/{enquiry.id}/assign", data={"assign-assignee_id": briton.id})
    assert len(messages(db)) == 2
    assert audit_actions(db, enquiry) == ["create", "assign", "assign"]
    entry = db.session.scalar(
        sa.select(AuditEntry).where(AuditEntry.action == "assign").order_by(AuditEntry.id)
    )
    assert entry.actor_id == coordinator.id
    assert entry.changes == {"assignee_id": [None, swede.id], "status": ["new", "assigned"]}


def test_assign_service_refuses_viewers_inactive_users_and_closed_enquiries(
    db, make_user, make_enquiry, request_context
):
    coordinator = make_user("coordinator")
    enquiry = make_enquiry()
    for user in (make_user("viewer"), make_user("member", active=False), None):
        with pytest.raises(services.EnquiryError):
            services.assign_enquiry(enquiry, user, actor=coordinator)
    closed = make_enquiry(status="closed", closed_reason="spam")
    with pytest.raises(services.EnquiryError):
        services.assign_enquiry(closed, make_user("member"), actor=coordinator)
    assert enquiry.assignee_id is None
    assert messages(db) == []

    # Coordinators and admins can be given one too.
    assert services.assign_enquiry(enquiry, coordinator, actor=coordinator) is True


def test_assigning_to_a_viewer_through_the_form_is_refused(
    client, db, signed_in, make_user, make_enquiry
):
    viewer = make_user("viewer")
    enquiry = make_enquiry()
    signed_in("coordinator")

    response = client.post(
        f"/enquiries/{enquiry.id}/assign", data={"assign-assignee_id": viewer.id}
    )

    assert response.status_code == 200
    assert "Not a valid choice" in response.get_data(as_text=True)
    db.session.refresh(enquiry)
    assert enquiry.assignee_id is None
    assert messages(db) == []


# ---------------------------------------------------------------- who may see what


def test_members_see_and_work_only_their_own(client, db, signed_in, make_user, make_enquiry):
    member = make_user("member")
    mine = make_enquiry(assignee_id=member.id, status="assigned")
    others = make_enquiry(assignee_id=make_user("member").id, status="assigned")
    unassigned = make_enquiry()
    signed_in(member)

    html = client.get("/enquiries/").get_data(as_text=True)
    assert listed_references(html) == [mine.reference]
    assert client.get(f"/enquiries/{mine.id}").status_code == 200
    rows = read_csv(client.get("/enquiries/export.csv?status=all"))
    assert [row["reference"] for row in rows] == [mine.reference]
    # Filtering by another assignee shows them nothing more.
    html = client.get("/enquiries/", query_string={"assignee": "none"}).get_data(as_text=True)
    assert listed_references(html) == [mine.reference]

    actions = {
        "assign": {"assign-assignee_id": member.id},
        "comments": {"comment-body": "Mine now"},
        "status": {"status-status": "closed", "status-closed_reason": "spam"},
        "tasks": {"task-title": "Call them"},
        "convert": {
            "convert-organisation_mode": "new",
            "convert-org_name": "Sneaky AB",
            "convert-org_kind": "company",
            "convert-contact_mode": "new",
            "convert-last_name": "Sneak",
        },
    }
    for enquiry in (others, unassigned):
        assert client.get(f"/enquiries/{enquiry.id}").status_code == 404
        for action, data in actions.items():
            response = client.post(f"/enquiries/{enquiry.id}/{action}", data=data)
            assert response.status_code == 404, action
    assert client.get("/enquiries/999999").status_code == 404
    assert client.get("/enquiries/99999999999").status_code == 404

    # Assigning is for coordinators, even on their own enquiry.
    response = client.post(f"/enquiries/{mine.id}/assign", data=actions["assign"])
    assert response.status_code == 403

    for enquiry in (others, unassigned):
        db.session.refresh(enquiry)
        assert enquiry.status != EnquiryStatus.CLOSED
        assert enquiry.comments == []
        assert audit_actions(db, enquiry) == ["create"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Task)) == 0
    assert messages(db) == []


def test_viewers_have_no_access_to_enquiries(client, db, signed_in, make_enquiry):
    viewer = signed_in("viewer")
    enquiry = make_enquiry(assignee_id=viewer.id)

    for url in ("/enquiries/", f"/enquiries/{enquiry.id}", "/enquiries/export.csv"):
        assert client.get(url).status_code == 403, url
    response = client.post(f"/enquiries/{enquiry.id}/comments", data={"comment-body": "Hi"})
    assert response.status_code == 403
    assert 'href="/enquiries/"' not in client.get("/dashboard/").get_data(as_text=True)


def test_a_deleted_enquiry_is_not_found(client, db, signed_in, make_enquiry):
    enquiry = make_enquiry(deleted_at=utcnow())
    signed_in("admin")
    assert client.get(f"/enquiries/{enquiry.id}").status_code == 404
    assert listed_references(client.get("/enquiries/").get_data(as_text=True)) == []


def test_export_is_what_the_filter_shows(client, signed_in, make_enquiry):
    make_enquiry(age=timedelta(days=3), topic=Topic.DIAGNOSTICS, name="=HYPERLINK(1)")
    make_enquiry(age=timedelta(days=2), topic=Topic.OTHER)
    make_enquiry(
        age=timedelta(days=1), topic=Topic.DIAGNOSTICS, status="closed", closed_reason="spam"
    )
    signed_in("coordinator")

    html = client.get("/enquiries/?topic=diagnostics").get_data(as_text=True)
    assert 'href="/enquiries/export.csv?topic=diagnostics"' in html
    rows = read_csv(client.get("/enquiries/export.csv?topic=diagnostics"))

    assert [row["topic"] for row in rows] == ["diagnostics"]
    assert rows[0]["name"] == "'=HYPERLINK(1)"
    assert rows[0]["status"] == "new"
    rows = read_csv(client.get("/enquiries/export.csv?topic=diagnostics&status=all"))
    assert [row["status"] for row in rows] == ["new", "closed"]


# ---------------------------------------------------------------- working an enquiry


@pytest.fixture
def assigned(db, make_user, make_enquiry):
    member = make_user("member", name="Maja Member")
    enquiry = make_enquiry(
        age=timedelta(days=2),
        assignee_id=member.id,
        status=EnquiryStatus.ASSIGNED,
        assigned_at=utcnow() - timedelta(days=1),
    )
    return member, enquiry


def test_a_comment_is_not_the_first_response_a_reply_is(client, db, signed_in, assigned):
    member, enquiry = assigned
    signed_in(member)

    response = client.post(
        f"/enquiries/{enquiry.id}/comments", data={"comment-body": "  Called them back.  "}
    )

    assert response.status_code == 302
    db.session.refresh(enquiry)
    [comment] = enquiry.comments
    assert comment.body == "Called them back."
    assert comment.author_id == member.id
    # A comment is work inside the office: only a reply to the enquirer is a response.
    assert enquiry.first_response_at is None
    client.post(
        f"/enquiries/{enquiry.id}/reply",
        data={"reply-subject": "Re: ENQ", "reply-body": "Thank you for writing."},
    )
    db.session.refresh(enquiry)
    responded = enquiry.first_response_at
    assert responded is not None
    client.post(f"/enquiries/{enquiry.id}/comments", data={"comment-body": "Again."})
    db.session.refresh(enquiry)
    assert enquiry.first_response_at == responded
    html = client.get(f"/enquiries/{enquiry.id}").get_data(as_text=True)
    assert "Called them back." in html
    assert "First response" in html
    assert "after 2 days" in html  # from receipt to the first response


def test_an_empty_comment_is_refused(client, db, signed_in, assigned):
    member, enquiry = assigned
    signed_in(member)

    response = client.post(f"/enquiries/{enquiry.id}/comments", data={"comment-body": "   "})

    assert response.status_code == 200
    assert "Write a comment." in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(EnquiryComment)) == 0
    db.session.refresh(enquiry)
    assert enquiry.first_response_at is None


def test_status_changes_closing_needs_a_reason(client, db, signed_in, assigned):
    member, enquiry = assigned
    signed_in(member)

    response = client.post(f"/enquiries/{enquiry.id}/status", data={"status-status": "closed"})

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Choose why the enquiry is closed." in html
    db.session.refresh(enquiry)
    assert enquiry.status == EnquiryStatus.ASSIGNED
    assert enquiry.first_response_at is None
    assert audit_actions(db, enquiry) == ["create"]

    response = client.post(f"/enquiries/{enquiry.id}/status", data={"status-status": "in_progress"})
    assert response.status_code == 302
    db.session.refresh(enquiry)
    assert enquiry.status == EnquiryStatus.IN_PROGRESS
    # A status change is not a response to the enquirer (only a reply is).
    assert enquiry.first_response_at is None

    response = client.post(
        f"/enquiries/{enquiry.id}/status",
        data={"status-status": "closed", "status-closed_reason": "answered"},
    )
    assert response.status_code == 302
    db.session.refresh(enquiry)
    assert enquiry.status == EnquiryStatus.CLOSED
    assert enquiry.closed_reason == ClosedReason.ANSWERED
    assert enquiry.closed_at is not None

    # Only a coordinator reopens it.
    response = client.post(f"/enquiries/{enquiry.id}/status", data={"status-status": "in_progress"})
    assert response.status_code == 200
    db.session.refresh(enquiry)
    assert enquiry.status == EnquiryStatus.CLOSED
    assert audit_actions(db, enquiry) == ["create", "status", "status"]


def test_a_coordinator_reopens_a_closed_enquiry(client, db, signed_in, make_enquiry):
    enquiry = make_enquiry(status="closed", closed_reason="spam", closed_at=utcnow())
    signed_in("coordinator")

    response = client.post(f"/enquiries/{enquiry.id}/status", data={"status-status": "in_progress"})

    assert response.status_code == 302
    db.session.refresh(enquiry)
    assert enquiry.status == EnquiryStatus.IN_PROGRESS
    assert enquiry.closed_reason is None
    assert enquiry.closed_at is None


def test_change_status_service_rules(db, make_user, make_enquiry, assigned):
    member, enquiry = assigned
    coordinator = make_user("coordinator")

    for status, reason in (("converted", None), ("new", None), ("closed", None), ("x", None)):
        with pytest.raises(services.EnquiryError):
            services.change_status(enquiry, status, reason=reason, actor=member)
    assert enquiry.status == EnquiryStatus.ASSIGNED
    assert services.change_status(enquiry, "closed", reason="duplicate", actor=member)
    with pytest.raises(services.EnquiryError):
        services.change_status(enquiry, "in_progress", actor=member)
    with pytest.raises(services.EnquiryError):
        services.change_status(enquiry, "assigned", actor=coordinator)
    assert services.change_status(enquiry, "in_progress", actor=coordinator)
    # No status change is a response, by a person or by the system.
    assert enquiry.first_response_at is None
    fresh = make_enquiry(
        name="N", email="n@example.com", topic=Topic.OTHER, message="M",
        status=EnquiryStatus.ASSIGNED, assignee_id=member.id,
    )  # fmt: skip
    services.change_status(fresh, "in_progress", actor=None)
    assert fresh.first_response_at is None


def test_follow_up_tasks(client, db, signed_in, assigned, make_user):
    member, enquiry = assigned
    helper = make_user("member", name="Hugo Helper")
    viewer = make_user("viewer")
    signed_in(member)
    due = date.today() + timedelta(days=7)

    response = client.post(
        f"/enquiries/{enquiry.id}/tasks",
        data={
            "task-title": "Send the course link",
            "task-due_date": due.isoformat(),
            "task-assignee_id": helper.id,
        },
    )

    assert response.status_code == 302
    [task] = db.session.scalars(sa.select(Task)).all()
    assert (task.title, task.due_date, task.assignee_id, task.enquiry_id) == (
        "Send the course link",
        due,
        helper.id,
        enquiry.id,
    )
    html = client.get(f"/enquiries/{enquiry.id}").get_data(as_text=True)
    assert "Send the course link" in html
    assert "Hugo Helper" in html

    for data in (
        {"task-title": "  "},
        {"task-title": "x" * 301},
        {"task-title": "Ok", "task-due_date": "someday"},
        {"task-title": "Ok", "task-assignee_id": viewer.id},
    ):
        response = client.post(f"/enquiries/{enquiry.id}/tasks", data=data)
        assert response.status_code == 200, data
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Task)) == 1
    assert audit_actions(db, enquiry) == ["create", "task"]


def test_history_shows_every_step(client, db, signed_in, make_user, make_enquiry):
    member = make_user("member", name="Maja Member")
    enquiry = make_enquiry()
    signed_in("coordinator")
    client.post(f"/enquiries/{enquiry.id}/assign", data={"assign-assignee_id": member.id})
    client.post(f"/enquiries/{enquiry.id}/comments", data={"comment-body": "Looks good"})
    client.post(f"/enquiries/{enquiry.id}/tasks", data={"task-title": "Book a meeting"})
    client.post(
        f"/enquiries/{enquiry.id}/status",
        data={"status-status": "closed", "status-closed_reason": "not_relevant"},
    )

    html = client.get(f"/enquiries/{enquiry.id}").get_data(as_text=True)
    history = html.split('id="history-heading"', 1)[1]

    assert audit_actions(db, enquiry) == ["create", "assign", "comment", "task", "status"]
    for text in (
        "assigned",
        "commented",
        "added a task",
        "changed the status",
        "Assignee",
        "Maja Member",
        "Follow-up task",
        "Book a meeting",
        "Reason for closing",
        "Not relevant",
    ):
        assert text in history, text


def test_detail_shows_the_facts_and_consent(client, db, signed_in, make_enquiry):
    from crm.settings.models import ConsentText

    consent = ConsentText(version=3, language="sv", body="Vi behandlar dina uppgifter.")
    db.session.add(consent)
    db.session.commit()
    enquiry = make_enquiry(
        age=timedelta(days=3),
        consent_text_id=consent.id,
        phone="+46 70 123 45 67",
        organisation_name="Kvarnbo Genomik",
        organisation_type="company",
        message="Hej!\nVi vill samarbeta.",
    )
    signed_in("coordinator")

    html = client.get(f"/enquiries/{enquiry.id}").get_data(as_text=True)

    for text in (
        enquiry.reference,
        enquiry.name,
        enquiry.email,
        "+46 70 123 45 67",
        "Kvarnbo Genomik",
        "Company",
        "Hej!\nVi vill samarbeta.",
        "Notice version 3 (sv)",
        "3 days",
        "R&amp;D collaboration",
    ):
        assert text in html, text


def test_the_detail_page_is_in_swedish_by_default(client, login, make_enquiry):
    login("coordinator")
    enquiry = make_enquiry()
    response = client.get(f"/enquiries/{enquiry.id}")
    assert response.status_code == 200
    assert '<html lang="sv">' in response.get_data(as_text=True)


def test_contacts_are_not_touched_by_triage(db, make_enquiry, organisations, request_context):
    """Matching only reads: it never creates or changes a contact."""
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Contact))
    services.match_organisation_and_contact(make_enquiry(email="new@roche.com"))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Contact)) == before


def test_detail_query_count_does_not_grow_with_comments_and_tasks(
    client, db, signed_in, make_user, make_enquiry, request_context
):
    authors = [make_user("member") for _number in range(3)]
    enquiry = make_enquiry(assignee_id=authors[0].id, status="assigned")
    signed_in("coordinator")

    def add(count):
        for number in range(count):
            services.add_comment(enquiry, f"Comment {number}", actor=authors[number % 3])
            task_services.create_task(
                title=f"Task {number}",
                assignee=authors[number % 3],
                subject=enquiry,
                subject_kind="enquiry_id",
                actor=None,
            )
        db.session.commit()

    def count_queries():
        statements = []

        def listener(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", listener)
        try:
            response = client.get(f"/enquiries/{enquiry.id}")
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listener)
        assert response.status_code == 200
        return len(statements)

    add(3)
    client.get(f"/enquiries/{enquiry.id}")
    few = count_queries()
    add(10)
    assert few == count_queries()


@pytest.mark.parametrize("role", ["admin", "coordinator", "member", "viewer"])
def test_lists_and_detail_pages_read_the_same_enquiries(db, make_user, make_enquiry, role):
    """readable_enquiries (what lists show) and can_read (what a detail page opens) agree."""
    user = make_user(role)
    other = make_user("member")
    enquiries = [
        make_enquiry(),
        make_enquiry(assignee_id=user.id),
        make_enquiry(assignee_id=other.id),
        make_enquiry(assignee_id=user.id, deleted_at=utcnow()),
    ]
    db.session.commit()

    listed = set(db.session.scalars(sa.select(Enquiry.id).where(services.readable_enquiries(user))))

    assert listed == {enquiry.id for enquiry in enquiries if services.can_read(enquiry, user)}
    assert bool(listed) == (role != "viewer")
