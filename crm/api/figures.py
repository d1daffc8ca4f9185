"""/api/v1/figures: the report page's figures per quarter, read-only."""

import marshmallow as ma
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from crm.activities.models import ActivityKind
from crm.api.problems import Problem
from crm.core import records
from crm.core.dates import local_today
from crm.extensions import db
from crm.organisations.models import Organisation, OrganisationKind, Sector
from crm.reports import snapshots
from crm.reports.figures import FigureFilters
from crm.reports.views import FIRST_YEAR

NO_FIGURES = _l("There are no figures for a year that far ahead.")
NOT_ASSOCIATION = _l("There is no industry association with this id.")

bp = Blueprint(
    "api_figures",
    __name__,
    url_prefix="/api/v1/figures",
    description="Figures per quarter, as on the report page (read-only).",
)


class QuarterSchema(ma.Schema):
    year = ma.fields.Integer()
    quarter = ma.fields.Integer(metadata={"minimum": 1, "maximum": 4})
    activities_by_kind = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.Integer(), metadata={"description": "By kind."}
    )
    received = ma.fields.Integer(metadata={"description": "Enquiries received."})
    assigned = ma.fields.Integer()
    converted = ma.fields.Integer()
    median_seconds_to_assignment = ma.fields.Float(
        allow_none=True, attribute="median_to_assignment"
    )
    median_seconds_to_first_response = ma.fields.Float(
        allow_none=True, attribute="median_to_first_response"
    )

    @ma.post_dump(pass_original=True)
    def _kinds(self, data, quarter, **_kwargs):
        data["activities_by_kind"] = {
            kind.value: count for kind, count in quarter.activities_by_kind.items()
        }
        return data


class QuarterFiguresSchema(ma.Schema):
    year = ma.fields.Integer()
    computed_at = ma.fields.AwareDateTime(
        metadata={"description": "Kept figures are recomputed every FIGURES_REFRESH_MINUTES."}
    )
    quarters = ma.fields.List(ma.fields.Nested(QuarterSchema))


class QuarterArgs(ma.Schema):
    year = ma.fields.Integer(
        validate=ma.validate.Range(FIRST_YEAR, 9999),
        metadata={"description": "The year (this year by default)."},
    )
    kind = ma.fields.Enum(
        ActivityKind, by_value=True, metadata={"description": "Activities of a kind."}
    )
    sector = ma.fields.Enum(Sector, by_value=True)
    association = ma.fields.Integer(
        validate=ma.validate.Range(1, records.MAX_ID),
        metadata={"description": "An industry association's id: its members' figures."},
    )


@bp.route("/quarters")
class Quarters(MethodView):
    @bp.arguments(QuarterArgs, location="query", unknown=ma.RAISE)
    @bp.response(200, QuarterFiguresSchema)
    def get(self, args):
        """A year's figures per quarter, with the report page's filters."""
        today = local_today()
        year = args.get("year", today.year)
        if year > today.year + 1:
            raise Problem(422, errors=[{"field": "year", "detail": str(NO_FIGURES)}])
        association_id = args.get("association")
        if association_id is not None:
            association = db.session.get(Organisation, association_id)
            if (
                association is None
                or association.is_deleted
                or association.kind != OrganisationKind.INDUSTRY_ASSOCIATION
            ):
                raise Problem(
                    422,
                    errors=[{"field": "association", "detail": str(NOT_ASSOCIATION)}],
                )
        filters = FigureFilters(
            kind=args.get("kind"), sector=args.get("sector"), association_id=association_id
        )
        rows, computed_at = snapshots.quarter_figures((year, 1), (year, 4), filters)
        return {"year": year, "computed_at": computed_at, "quarters": rows}
