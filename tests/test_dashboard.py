"""The overview after sign-in: my enquiries and tasks, unassigned enquiries for coordinators,
agreements coming up, recent activities, the quarterly figures, and a constant query count."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from crm.activities.models import ActivityKind
from crm.activities.task_services import create_task
from crm.agreements.models import AgreementKind, AgreementStatus
from crm.auth.models import Role
from crm.core.dates import local_today
from crm.core.types import utcnow
from crm.enquiries.models import Enquiry, EnquiryStatus
from crm.reports.models import FigureSnapshot
from tests.factories import enquiry_rows
from tests.helpers import analyze, count_queries, sqlite_plans


@pytest.fixture
def organisation(make_organisation):
    return make_organisation("Pharma AB")


@pytest.fixture
def make_ending_agreement(make_agreement, organisation):
    """A collaboration with Pharma AB, active (signed on its start 400 days ago) unless told
    otherwise, ending `end_in_days` from today."""

    def make(title, *, end_in_days, notice_days=0, status=AgreementStatus.ACTIVE, **fields):
        today = local_today()
        start = today - timedelta(days=400)
        return make_agreement(
            title,
            parties=[organisation],
            kind=AgreementKind.COLLABORATION,
            status=status,
            signed_date=start if status == AgreementStatus.ACTIVE else None,
            start_date=start,
            end_date=today + timedelta(days=end_in_days),
            renewal_notice_days=notice_days,
            **fields,
        )

    return make


def test_sign_in_leads_to_the_dashboard(client, make_user):
    user = make_user(Role.MEMBER)
    response = client.post(
        "/login", data={"email": user.email, "password": "correct horse battery staple"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/dashboard/")


def test_member_sees_own_enquiries_and_tasks(client, signed_in, make_user, make_enquiry, db):
    member = signed_in(Role.MEMBER)
    other = make_user(Role.MEMBER)
    mine = make_enquiry(assignee_id=member.id, status=EnquiryStatus.ASSIGNED)
    make_enquiry(assignee_id=member.id, status=EnquiryStatus.CLOSED)
    theirs = make_enquiry(assignee_id=other.id, status=EnquiryStatus.ASSIGNED)
    unassigned = make_enquiry(age=timedelta(days=3, hours=2))
    create_task(
        title="Call back Pharma",
        due_date=local_today() - timedelta(days=1),
        assignee=member,
        actor=None,
    )
    create_task(title="Someone else's task", assignee=other, actor=None)
    db.session.commit()

    html = client.get("/dashboard/").get_data(as_text=True)
    assert "My open enquiries" in html
    assert f'href="/enquiries/{mine.id}"' in html
    assert theirs.reference not in html
    assert "ENQ-2026-00002" not in html  # closed
    assert "Call back Pharma" in html and "Overdue" in html
    assert "Someone else&#39;s task" not in html and "Someone else's task" not in html
    # Unassigned enquiries are for coordinators.
    assert "Unassigned enquiries" not in html
    assert unassigned.reference not in html


def test_the_overview_lists_the_first_open_tasks_and_says_how_many_there_are(client, signed_in, db):
    member = signed_in(Role.MEMBER)
    for number in range(25):
        create_task(
            title=f"Follow-up {number:02d}",
            due_date=local_today() + timedelta(days=number),
            assignee=member,
            actor=None,
        )
    db.session.commit()

    html = client.get("/dashboard/").get_data(as_text=True)
    panel = html.split('id="my-tasks-heading"', 1)[1].split("</section>", 1)[0]
    # The soonest due first, as many as the overview's other lists hold.
    assert re.findall(r"Follow-up \d\d", panel) == [f"Follow-up {n:02d}" for n in range(20)]
    assert "All 25 of my open tasks</a>" in panel


def test_coordinator_sees_unassigned_enquiries_with_their_age(client, signed_in, make_enquiry):
    signed_in(Role.COORDINATOR)
    old = make_enquiry(age=timedelta(days=3, hours=2))
    fresh = make_enquiry(age=timedelta(hours=5))
    make_enquiry(age=timedelta(days=9), status=EnquiryStatus.CLOSED)
    html = client.get("/dashboard/").get_data(as_text=True)
    assert "Unassigned enquiries" in html
    assert f'href="/enquiries/{old.id}"' in html and f'href="/enquiries/{fresh.id}"' in html
    assert "3 days" in html
    assert "5 h" in html
    assert "ENQ-2026-00003" not in html
    assert html.index(old.reference) < html.index(fresh.reference)


def test_viewer_sees_no_enquiries(client, signed_in, make_user, make_enquiry):
    signed_in(Role.VIEWER)
    make_enquiry()
    make_enquiry(assignee_id=make_user(Role.MEMBER).id, status=EnquiryStatus.ASSIGNED)
    html = client.get("/dashboard/").get_data(as_text=True)
    assert "My open enquiries" not in html
    assert "Unassigned enquiries" not in html
    assert "ENQ-2026" not in html
    assert "/enquiries/" not in html


def test_agreements_within_ninety_days(client, signed_in, make_ending_agreement):
    signed_in(Role.VIEWER)
    today = local_today()
    ending = make_ending_agreement("Ending soon", end_in_days=30)
    notice = make_ending_agreement("Notice soon", end_in_days=110, notice_days=90)
    make_ending_agreement("Far away", end_in_days=120)
    make_ending_agreement("Notice far away", end_in_days=200, notice_days=90)
    make_ending_agreement("Draft ending soon", end_in_days=10, status=AgreementStatus.DRAFT)
    make_ending_agreement("Already ended", end_in_days=-1)
    make_ending_agreement("Deleted ending soon", end_in_days=10, deleted=True)

    html = client.get("/dashboard/").get_data(as_text=True)
    assert "Ending soon" in html
    assert "Notice soon" in html
    for title in ("Far away", "Notice far away", "Draft ending soon", "Already ended", "Deleted"):
        assert title not in html, title
    assert "End date" in html and "Renewal notice date" in html
    assert html.index("Notice soon") < html.index("Ending soon")  # day 20 before day 30
    if "agreements.detail" in client.application.view_functions:
        assert f'href="/agreements/{ending.id}"' in html
        assert f'href="/agreements/{notice.id}"' in html
    del today


def test_recent_activities_and_figures(client, signed_in, make_activity, organisation):
    signed_in(Role.VIEWER)
    today = local_today()
    past = make_activity(
        "Dialogue in the past",
        kind=ActivityKind.SEMINAR,
        start_date=today - timedelta(days=3),
        organisations=[organisation],
    )
    make_activity(
        "Seminar next month", kind=ActivityKind.SEMINAR, start_date=today + timedelta(days=30)
    )
    html = client.get("/dashboard/").get_data(as_text=True)
    assert f'href="/activities/{past.id}"' in html
    assert (
        "Seminar next month" not in html.split('id="activities-heading"')[1].split("</section>")[0]
    )
    assert "The last four quarters" in html
    assert html.count('class="chart-svg"') == 2
    assert "Activities per quarter" in html and "Enquiries per quarter" in html
    assert 'style="' not in html


def test_empty_dashboard(client, signed_in):
    signed_in(Role.COORDINATOR)
    html = client.get("/dashboard/").get_data(as_text=True)
    assert "No open enquiries are assigned to you." in html
    assert "You have no open tasks." in html
    assert "Every open enquiry has someone working on it." in html
    assert "No agreement reaches its notice or end date in the next 90 days." in html
    assert "No activities yet." in html


def _fill(count, user, db, organisation, make_enquiry, make_activity, make_ending_agreement):
    today = local_today()
    for number in range(count):
        make_enquiry(
            assignee_id=user.id, status=EnquiryStatus.ASSIGNED, organisation_id=organisation.id
        )
        make_enquiry(age=timedelta(days=number))
        make_activity(
            f"Activity {number}",
            kind=ActivityKind.SEMINAR,
            start_date=today - timedelta(days=number),
            organisations=[organisation],
        )
        make_ending_agreement(f"Agreement {number}", end_in_days=number + 1, notice_days=1)
        enquiry = make_enquiry(assignee_id=user.id, status=EnquiryStatus.IN_PROGRESS)
        create_task(
            title=f"Task {number}", due_date=today, assignee=user,
            subject=enquiry, subject_kind="enquiry_id", actor=None,
        )  # fmt: skip
        db.session.commit()


def test_query_count_does_not_grow_with_the_data(
    client, signed_in, db, organisation, make_enquiry, make_activity, make_ending_agreement
):
    user = signed_in(Role.COORDINATOR)
    counts = []
    for count in (3, 30):
        _fill(count, user, db, organisation, make_enquiry, make_activity, make_ending_agreement)
        with count_queries(db) as statements:
            response = client.get("/dashboard/")
        assert response.status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


def test_dashboard_and_reports_render_in_swedish(client, login, make_enquiry, make_activity):
    login(Role.ADMIN)
    client.post("/language/sv?next=/")
    make_enquiry(age=timedelta(days=2), assigned_at=utcnow() - timedelta(days=1))
    make_activity("Seminarium", kind=ActivityKind.SEMINAR, start_date=local_today())
    for url in ("/dashboard/", "/reports/", "/reports/quarters.csv"):
        assert client.get(url).status_code == 200, url


@pytest.mark.config(FIGURES_REFRESH_MINUTES=15)
def test_the_quarterly_figures_are_kept_and_brought_up_to_date(
    client, signed_in, db, make_activity
):
    """Computed once, the figures are shown as of that moment until the refresh time has
    passed; the next view after that computes them again."""
    signed_in(Role.VIEWER)
    today = local_today()
    make_activity("First seminar", kind=ActivityKind.SEMINAR, start_date=today)

    def this_quarter():
        html = client.get("/dashboard/").get_data(as_text=True)
        figures = html.split('id="figures-heading"')[1]
        assert "brought up to date every 15 minutes" in figures
        # The figures table's last row is this quarter: its activities are the first number.
        last_row = figures.split("<tbody>")[1].split("</tbody>")[0].split("<tr>")[-1]
        return int(last_row.split("<td>")[1].split("</td>")[0])

    assert this_quarter() == 1
    make_activity("Second seminar", kind=ActivityKind.SEMINAR, start_date=today)
    with count_queries(db) as statements:
        kept = this_quarter()
    assert kept == 1
    # Nothing was counted per quarter: the figures came from the snapshot.
    assert not any("GROUP BY" in statement for statement in statements)

    snapshot = db.session.get(
        FigureSnapshot, db.session.scalars(sa.select(FigureSnapshot.key)).one()
    )
    snapshot.computed_at = utcnow() - timedelta(minutes=16)
    db.session.commit()
    assert this_quarter() == 2


def test_the_overview_reads_someones_few_enquiries_not_every_enquiry(client, db, login, make_user):
    """A member's open enquiries on the overview are read from an index of each person's
    enquiries in date order: the index of dates alone made the database walk every enquiry
    to find someone's few (20 ms at 20,000 for a member with none)."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plans read here are SQLite's")
    busy = make_user("member")
    db.session.execute(
        sa.insert(Enquiry),
        enquiry_rows(3000, status=EnquiryStatus.ASSIGNED, assignee_id=busy.id),
    )
    analyze(db)
    login("member")

    with sqlite_plans(db, "SELECT enquiries.id, enquiries.reference") as plans:
        assert client.get("/dashboard/").status_code == 200

    lines = [line for lines in plans for line in lines]
    assert lines
    assert not [line for line in lines if "ix_enquiries_received_at" in line], lines
