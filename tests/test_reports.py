"""Reports: the quarterly figures against a hand-built data set, the report page and its CSV,
and the yearly report per organisation."""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from crm.activities.models import ActivityKind
from crm.agreements.models import AgreementKind, AgreementStatus
from crm.auth.models import Role
from crm.core import records
from crm.core.topics import Topic
from crm.core.types import utcnow
from crm.enquiries.models import Enquiry, EnquiryStatus
from crm.organisations import services as organisation_services
from crm.organisations.models import OrganisationKind, Sector
from crm.reports import figures
from crm.reports.figures import FigureFilters
from crm.reports.models import FigureSnapshot


def at(year, month, day, hour=0):
    return datetime(year, month, day, hour, tzinfo=UTC)


@pytest.fixture
def make_enquiry(make_enquiry):
    """The shared factory, received at a given moment and assigned and answered after it."""

    def make(received_at, *, assigned_after=None, responded_after=None, **fields):
        return make_enquiry(
            topic=Topic.OTHER,
            message="Hello",
            received_at=received_at,
            assigned_at=received_at + assigned_after if assigned_after is not None else None,
            first_response_at=(
                received_at + responded_after if responded_after is not None else None
            ),
            **fields,
        )

    return make


HOURS = timedelta(hours=1)


@pytest.fixture
def data_set(db, make_organisation, make_activity, make_enquiry):
    """2026: Q1 three workshops and a seminar, Q2 one seminar, Q3 nothing, Q4 one course;
    enquiries in Q1 assigned after 2 h, 4 h and 10 h (median 4 h) and answered after 1 h and
    3 h (median 2 h, the mean of the middle two); one in Q2 converted in Q3."""
    lif = make_organisation("Lif", kind=OrganisationKind.INDUSTRY_ASSOCIATION)
    pharma = make_organisation("Pharma AB", sectors=[Sector.PHARMA])
    medtech = make_organisation("Medtech AB", sectors=[Sector.MEDTECH])
    organisation_services.add_membership(pharma, lif, actor=None)
    db.session.commit()

    make_activity("W1", start_date=date(2026, 1, 10), organisations=[pharma])
    make_activity("W2", start_date=date(2026, 2, 10), organisations=[medtech])
    make_activity("W3", start_date=date(2026, 3, 31), organisations=[pharma, medtech])
    make_activity("S1", start_date=date(2026, 3, 1), kind=ActivityKind.SEMINAR)
    make_activity(
        "S2", start_date=date(2026, 4, 1), kind=ActivityKind.SEMINAR, organisations=[pharma]
    )
    make_activity(
        "C1", start_date=date(2026, 12, 31), kind=ActivityKind.COURSE, organisations=[medtech]
    )
    make_activity("Before", start_date=date(2025, 12, 31), organisations=[pharma])
    deleted = make_activity("Deleted", start_date=date(2026, 1, 5), organisations=[pharma])
    records.soft_delete(deleted, actor=None)

    make_enquiry(
        at(2026, 1, 5, 8), assigned_after=2 * HOURS, responded_after=1 * HOURS,
        organisation_id=pharma.id, status=EnquiryStatus.ASSIGNED,
    )  # fmt: skip
    make_enquiry(
        at(2026, 2, 5, 8), assigned_after=4 * HOURS, responded_after=3 * HOURS,
        organisation_id=medtech.id, status=EnquiryStatus.ASSIGNED,
    )  # fmt: skip
    make_enquiry(
        at(2026, 3, 31, 20), assigned_after=10 * HOURS, organisation_id=pharma.id,
        status=EnquiryStatus.ASSIGNED,
    )  # fmt: skip
    make_enquiry(
        at(2026, 6, 30, 23), assigned_after=1 * HOURS, responded_after=2 * HOURS,
        converted_at=at(2026, 7, 2), status=EnquiryStatus.CONVERTED,
    )  # fmt: skip
    make_enquiry(at(2026, 11, 1))
    gone = make_enquiry(at(2026, 1, 6), assigned_after=HOURS)
    gone.deleted_at = at(2026, 1, 7)
    db.session.commit()
    return {"lif": lif, "pharma": pharma, "medtech": medtech}


def by_quarter(rows):
    return {row.quarter: row for row in rows}


def test_figures_per_quarter(data_set):
    rows = by_quarter(figures.year_figures(2026))
    assert list(rows) == [1, 2, 3, 4]
    assert rows[1].activities_by_kind == {ActivityKind.WORKSHOP: 3, ActivityKind.SEMINAR: 1}
    assert rows[2].activities_by_kind == {ActivityKind.SEMINAR: 1}
    assert rows[3].activities_by_kind == {}
    assert rows[4].activities_by_kind == {ActivityKind.COURSE: 1}
    assert [rows[q].received for q in (1, 2, 3, 4)] == [3, 1, 0, 1]
    # Received on 31 March at 20:00, assigned on 1 April at 06:00: counted as assigned in Q2;
    # received on 30 June at 23:00, assigned at midnight: assigned in Q3.
    assert [rows[q].assigned for q in (1, 2, 3, 4)] == [2, 1, 1, 0]
    assert [rows[q].converted for q in (1, 2, 3, 4)] == [0, 0, 1, 0]
    assert rows[1].median_to_assignment == pytest.approx(4 * 3600)
    assert rows[1].median_to_first_response == pytest.approx(2 * 3600)
    assert rows[2].median_to_assignment == pytest.approx(3600)
    assert rows[2].median_to_first_response == pytest.approx(2 * 3600)
    assert rows[3].median_to_assignment is None
    assert rows[4].median_to_first_response is None
    assert figures.hours(rows[1].median_to_assignment) == 4.0


def test_figures_filter_by_kind_sector_and_association(data_set):
    seminars = by_quarter(figures.year_figures(2026, FigureFilters(kind=ActivityKind.SEMINAR)))
    assert [seminars[q].activities for q in (1, 2, 3, 4)] == [1, 1, 0, 0]
    # The kind is about activities; enquiries are counted as before.
    assert seminars[1].received == 3

    pharma = by_quarter(figures.year_figures(2026, FigureFilters(sector=Sector.PHARMA)))
    assert [pharma[q].activities for q in (1, 2, 3, 4)] == [2, 1, 0, 0]
    assert [pharma[q].received for q in (1, 2, 3, 4)] == [2, 0, 0, 0]
    assert pharma[1].median_to_assignment == pytest.approx(6 * 3600)

    medtech = by_quarter(figures.year_figures(2026, FigureFilters(sector=Sector.MEDTECH)))
    assert [medtech[q].activities for q in (1, 2, 3, 4)] == [2, 0, 0, 1]
    assert medtech[1].received == 1

    members = by_quarter(
        figures.year_figures(2026, FigureFilters(association_id=data_set["lif"].id))
    )
    assert [members[q].activities for q in (1, 2, 3, 4)] == [2, 1, 0, 0]
    assert [members[q].received for q in (1, 2, 3, 4)] == [2, 0, 0, 0]


def test_figures_over_a_range_of_quarters(data_set):
    rows = figures.quarter_figures((2025, 4), (2026, 1))
    assert [(row.year, row.quarter, row.activities) for row in rows] == [
        (2025, 4, 1),
        (2026, 1, 4),
    ]
    assert figures.last_quarters(4, date(2026, 2, 1)) == [
        (2025, 2),
        (2025, 3),
        (2025, 4),
        (2026, 1),
    ]


# ---------------------------------------------------------------- the report page and its CSV


class TableCells(HTMLParser):
    """The text of every cell of the first <table> with the given class, row by row."""

    def __init__(self, css_class):
        super().__init__()
        self.css_class = css_class
        self.rows = []
        self._depth = 0
        self._cell = None
        self._done = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and not self._done and self.css_class in (attrs.get("class") or ""):
            self._depth = 1
        elif self._depth and tag == "tr":
            self.rows.append([])
        elif self._depth and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if self._depth and tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif self._depth and tag == "table":
            self._depth = 0
            self._done = True

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def table_cells(html, css_class):
    parser = TableCells(css_class)
    parser.feed(html)
    return parser.rows


def csv_cells(response):
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


@pytest.mark.parametrize(
    "query",
    ["year=2026", "year=2026&kind=seminar", "year=2026&sector=pharma", "year=2025"],
)
def test_report_csv_equals_the_page(client, signed_in, data_set, query):
    signed_in(Role.VIEWER)
    page = client.get(f"/reports/?{query}")
    assert page.status_code == 200
    cells = table_cells(page.get_data(as_text=True), "report-table")
    assert len(cells) == 5
    assert csv_cells(client.get(f"/reports/quarters.csv?{query}")) == cells


def test_report_page_shows_the_figures(client, signed_in, data_set):
    signed_in(Role.MEMBER)
    html = client.get("/reports/?year=2026").get_data(as_text=True)
    cells = table_cells(html, "report-table")
    header = cells[0]
    q1 = dict(zip(header, cells[1], strict=True))
    assert q1["Quarter"] == "2026 Q1"
    assert q1["Workshop"] == "3"
    assert q1["Seminar"] == "1"
    assert q1["Activities"] == "4"
    assert q1["Enquiries received"] == "3"
    assert q1["Median hours to assignment"] == "4.0"
    assert q1["Median hours to first response"] == "2.0"
    assert "<svg" in html and "<title id=" in html
    assert 'style="' not in html

    association = client.get(f"/reports/?year=2026&association={data_set['lif'].id}")
    cells = table_cells(association.get_data(as_text=True), "report-table")
    q1 = dict(zip(header, cells[1], strict=True))
    assert q1["Activities"] == "2"
    assert q1["Enquiries received"] == "2"


def test_report_ignores_nonsense_filters(client, signed_in, data_set):
    signed_in(Role.VIEWER)
    response = client.get("/reports/?year=abc&kind=nope&sector=x&association=99999999999")
    assert response.status_code == 200
    assert client.get("/reports/quarters.csv?year=-1&association=abc").status_code == 200


def test_reports_need_sign_in(client, data_set):
    assert client.get("/reports/").status_code in (302, 401)
    assert client.get("/reports/quarters.csv").status_code in (302, 401)


# ---------------------------------------------------------------- yearly report per organisation


@pytest.fixture
def agreements(data_set, make_agreement):
    lif, pharma = data_set["lif"], data_set["pharma"]
    make_agreement(
        "Framework with the associations", kind=AgreementKind.FRAMEWORK, parties=[lif],
        status=AgreementStatus.ACTIVE, signed_date=date(2024, 1, 1), start_date=date(2024, 1, 1),
        covers_members=True,
    )  # fmt: skip
    make_agreement(
        "NDA with Pharma", kind=AgreementKind.NDA, parties=[pharma],
        status=AgreementStatus.SIGNED, signed_date=date(2026, 5, 1),
        start_date=date(2026, 5, 1), end_date=date(2026, 12, 31),
    )  # fmt: skip
    make_agreement(
        "Old MoU", kind=AgreementKind.MOU, parties=[pharma], status=AgreementStatus.EXPIRED,
        signed_date=date(2020, 1, 1), start_date=date(2020, 1, 1), end_date=date(2021, 12, 31),
    )  # fmt: skip


def test_yearly_organisation_report(client, signed_in, data_set, agreements):
    signed_in(Role.COORDINATOR)
    pharma = data_set["pharma"]
    response = client.get(f"/reports/organisations/{pharma.id}?year=2026")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Pharma AB in 2026" in html
    for title in ("W1", "W3", "S2"):
        assert f">{title}</a>" in html
    assert ">Before</a>" not in html and ">Deleted</a>" not in html
    assert "2 enquiries received in 2026." in html
    assert "ENQ-2026-00001" in html and "ENQ-2026-00003" in html
    assert "Framework with the associations" in html
    assert "Through membership of Lif" in html
    assert "NDA with Pharma" in html
    assert "Old MoU" not in html
    assert f'href="/organisations/{pharma.id}"' in html
    assert 'href="/static/css/print.css" media="print"' in html

    rows = csv_cells(client.get(f"/reports/organisations/{pharma.id}.csv?year=2026"))
    assert rows[0] == ["section", "date", "end_date", "kind", "title", "status", "role"]
    sections = [(row[0], row[4]) for row in rows[1:]]
    assert sections == [
        ("activity", "W1"),
        ("activity", "W3"),
        ("activity", "S2"),
        ("enquiry", "ENQ-2026-00001"),
        ("enquiry", "ENQ-2026-00003"),
        ("agreement", "NDA with Pharma"),
        ("agreement", "Framework with the associations"),
    ]

    earlier = client.get(f"/reports/organisations/{pharma.id}?year=2025").get_data(as_text=True)
    assert ">Before</a>" in earlier and ">W1</a>" not in earlier
    assert "0 enquiries received in 2025." in earlier
    assert "NDA with Pharma" not in earlier
    rows_2025 = csv_cells(client.get(f"/reports/organisations/{pharma.id}.csv?year=2025"))
    assert [(row[0], row[4]) for row in rows_2025[1:]] == [
        ("activity", "Before"),
        ("agreement", "Framework with the associations"),
    ]


def test_yearly_report_shows_enquiries_as_the_role_allows(client, signed_in, db, data_set):
    pharma = data_set["pharma"]
    member = signed_in(Role.MEMBER)
    mine = db.session.scalar(sa.select(Enquiry).where(Enquiry.reference == "ENQ-2026-00003"))
    mine.assignee_id = member.id
    db.session.commit()
    html = client.get(f"/reports/organisations/{pharma.id}?year=2026").get_data(as_text=True)
    assert "2 enquiries received in 2026." in html
    assert "ENQ-2026-00003" in html and "ENQ-2026-00001" not in html
    rows = csv_cells(client.get(f"/reports/organisations/{pharma.id}.csv?year=2026"))
    assert [row[4] for row in rows if row[0] == "enquiry"] == ["ENQ-2026-00003"]

    client.post("/logout")
    signed_in(Role.VIEWER)
    html = client.get(f"/reports/organisations/{pharma.id}?year=2026").get_data(as_text=True)
    assert "2 enquiries received in 2026." in html
    assert "ENQ-2026" not in html
    rows = csv_cells(client.get(f"/reports/organisations/{pharma.id}.csv?year=2026"))
    assert not [row for row in rows if row[0] == "enquiry"]


def test_yearly_report_of_unknown_or_deleted_organisation_is_404(client, signed_in, db, data_set):
    signed_in(Role.COORDINATOR)
    medtech = data_set["medtech"]
    records.soft_delete(medtech, actor=None)
    db.session.commit()
    for url in (
        "/reports/organisations/999999",
        f"/reports/organisations/{medtech.id}",
        f"/reports/organisations/{medtech.id}.csv",
        "/reports/organisations/99999999999",
    ):
        assert client.get(url).status_code == 404, url


def test_organisation_page_links_to_the_yearly_report(client, signed_in, data_set):
    signed_in(Role.VIEWER)
    pharma = data_set["pharma"]
    html = client.get(f"/organisations/{pharma.id}").get_data(as_text=True)
    assert f'href="/reports/organisations/{pharma.id}"' in html
    assert "Yearly report" in html


def test_organisation_picker(client, signed_in, data_set):
    signed_in(Role.VIEWER)
    html = client.get("/reports/organisations/?q=pharma&year=2025").get_data(as_text=True)
    assert f'href="/reports/organisations/{data_set["pharma"].id}?year=2025"' in html
    assert "Medtech AB" not in html
    empty = client.get("/reports/organisations/?q=zzzz").get_data(as_text=True)
    assert "No organisation matches" in empty


@pytest.mark.config(FIGURES_REFRESH_MINUTES=15)
def test_the_report_and_its_csv_show_kept_figures_per_choice_of_filters(
    client, signed_in, db, make_activity
):
    """A report is computed once per choice of filters and kept until the refresh time has
    passed; the page says as of when, and its CSV gives the same cells."""
    signed_in(Role.VIEWER)
    year = date.today().year
    make_activity("First seminar", kind=ActivityKind.SEMINAR, start_date=date(year, 1, 15))

    def seminars(**filters):
        response = client.get("/reports/quarters.csv", query_string={"year": year, **filters})
        header, first_quarter = csv_cells(response)[:2]
        return int(dict(zip(header, first_quarter, strict=True))["Seminar"])

    page = client.get(f"/reports/?year={year}").get_data(as_text=True)
    assert "brought up to date every 15 minutes" in page
    assert seminars() == 1
    make_activity("Second seminar", kind=ActivityKind.SEMINAR, start_date=date(year, 2, 15))
    # The unfiltered figures are kept; a filter not asked for before is computed afresh.
    assert seminars() == 1
    assert seminars(kind="seminar") == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FigureSnapshot)) == 2

    db.session.execute(
        sa.update(FigureSnapshot).values(computed_at=utcnow() - timedelta(minutes=16))
    )
    db.session.commit()
    assert seminars() == 2
