"""Report pages: the quarterly figures and the yearly report per organisation."""

from flask import current_app, render_template, request
from flask_login import current_user

from crm.activities.models import ActivityKind
from crm.core import records
from crm.core.csv_export import csv_response
from crm.core.dates import local_today
from crm.core.types import enum_value
from crm.extensions import db
from crm.organisations.models import Organisation, OrganisationKind, Sector
from crm.organisations.services import associations, typeahead_organisations
from crm.reports import bp, snapshots
from crm.reports.display import figure_charts, quarter_table
from crm.reports.figures import FigureFilters
from crm.reports.organisation_report import (
    CSV_HEADER,
    coverage_text,
    csv_rows,
    organisation_year,
)

# Years before this hold no data an office would report on; later ones are typos.
FIRST_YEAR = 2000
YEARS_OFFERED = 10


def _year_arg(today):
    raw = request.args.get("year", "").strip()
    if raw.isascii() and raw.isdigit() and FIRST_YEAR <= int(raw) <= today.year + 1:
        return int(raw)
    return today.year


def _year_choices(today, year):
    years = set(range(today.year - YEARS_OFFERED + 1, today.year + 2)) | {year}
    return sorted(years, reverse=True)


def _association_arg():
    association_id = records.parse_id(request.args.get("association"))
    if association_id is None:
        return None
    association = db.session.get(Organisation, association_id)
    if (
        association is None
        or association.is_deleted
        or association.kind != OrganisationKind.INDUSTRY_ASSOCIATION
    ):
        return None
    return association


def _enum_arg(enum_class, name):
    value = enum_value(enum_class, request.args.get(name))
    return None if value is None else enum_class(value)


def _figure_filters():
    association = _association_arg()
    return FigureFilters(
        kind=_enum_arg(ActivityKind, "kind"),
        sector=_enum_arg(Sector, "sector"),
        association_id=association.id if association else None,
    )


def _filter_args(year, filters):
    """The query arguments that reproduce the page, for the CSV link."""
    args = {"year": year}
    if filters.kind:
        args["kind"] = filters.kind.value
    if filters.sector:
        args["sector"] = filters.sector.value
    if filters.association_id:
        args["association"] = filters.association_id
    return args


@bp.route("/")
def index():
    today = local_today()
    year = _year_arg(today)
    filters = _figure_filters()
    rows, computed_at = snapshots.quarter_figures((year, 1), (year, 4), filters)
    header, body = quarter_table(rows, filters)
    return render_template(
        "reports/index.html",
        figures_computed_at=computed_at,
        refresh=current_app.config["FIGURES_REFRESH_MINUTES"],
        year=year,
        years=_year_choices(today, year),
        filters=filters,
        kinds=ActivityKind,
        sectors=Sector,
        associations=associations(),
        header=header,
        body=body,
        charts=figure_charts(rows),
        filter_args=_filter_args(year, filters),
        filtered=bool(filters.kind or filters.sector or filters.association_id),
    )


@bp.route("/quarters.csv")
def quarters_csv():
    """The report page's table, cell for cell."""
    year = _year_arg(local_today())
    filters = _figure_filters()
    rows, _computed_at = snapshots.quarter_figures((year, 1), (year, 4), filters)
    header, body = quarter_table(rows, filters)
    return csv_response(f"quarters-{year}.csv", header, body)


PICKER_LIMIT = 25


@bp.route("/organisations/")
def organisations():
    """Find the organisation to report on."""
    query = request.args.get("q", "").strip()[:200]
    matches = typeahead_organisations(query, limit=PICKER_LIMIT) if query else []
    return render_template(
        "reports/organisations.html",
        query=query,
        matches=matches,
        year=_year_arg(local_today()),
        limit=PICKER_LIMIT,
    )


def _organisation_or_404(organisation_id):
    return records.get_visible_or_404(Organisation, organisation_id)


@bp.route("/organisations/<int:organisation_id>")
def organisation(organisation_id):
    organisation = _organisation_or_404(organisation_id)
    today = local_today()
    year = _year_arg(today)
    report = organisation_year(organisation, year, user=current_user)
    return render_template(
        "reports/organisation.html",
        report=report,
        organisation=organisation,
        year=year,
        years=_year_choices(today, year),
        coverage_text=coverage_text,
        generated=today,
    )


@bp.route("/organisations/<int:organisation_id>.csv")
def organisation_csv(organisation_id):
    organisation = _organisation_or_404(organisation_id)
    year = _year_arg(local_today())
    report = organisation_year(organisation, year, user=current_user)
    return csv_response(
        f"organisation-{organisation.id}-{year}.csv", CSV_HEADER, list(csv_rows(report))
    )
