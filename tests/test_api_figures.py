"""The figures resource: the report page's quarters, read through the API."""

from datetime import timedelta

from crm.auth.models import ApiScope, Role
from crm.core.dates import local_today
from tests.factories import make_activity, make_enquiry, make_organisation


def test_the_quarters_count_what_happened_in_each(api_client):
    today = local_today()
    make_enquiry()
    make_enquiry(closed_ago=timedelta(minutes=5))
    make_activity("Seminarium", start_date=today)
    api = api_client(Role.VIEWER, ApiScope.READ)

    response = api.get(f"/api/v1/figures/quarters?year={today.year}")
    assert response.status_code == 200, response.json
    quarters = response.json["quarters"]
    assert [quarter["quarter"] for quarter in quarters] == [1, 2, 3, 4]
    this_quarter = quarters[(today.month - 1) // 3]
    assert this_quarter["received"] == 2
    assert sum(this_quarter["activities_by_kind"].values()) == 1
    assert response.json["computed_at"]


def test_the_report_filters_are_checked(api_client):
    api = api_client(Role.MEMBER)
    company = make_organisation("Acme AB")
    refused = api.get(f"/api/v1/figures/quarters?association={company.id}")
    assert refused.status_code == 422
    assert refused.json["errors"][0]["field"] == "association"
    assert api.get("/api/v1/figures/quarters?year=1999").status_code == 422
    assert api.get("/api/v1/figures/quarters?year=3000").status_code == 422
    assert api.get("/api/v1/figures/quarters?kind=party").status_code == 422
    assert api.get("/api/v1/figures/quarters?kind=seminar&sector=pharma").status_code == 200
