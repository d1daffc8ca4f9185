"""The search results page behind the header's search box."""

from flask import render_template, request, url_for
from flask_login import current_user

from crm.search import bp, services

MAX_QUERY_LENGTH = 200

# kind → (detail endpoint, its id argument)
DETAIL_ENDPOINTS = {
    "organisation": ("organisations.detail", "organisation_id"),
    "contact": ("contacts.detail", "contact_id"),
    "agreement": ("agreements.detail", "agreement_id"),
    "activity": ("activities.detail", "activity_id"),
    "enquiry": ("enquiries.detail", "enquiry_id"),
}
# The lists that filter by ?q=, for "show all in the list".
LIST_ENDPOINTS = {
    "organisation": "organisations.index",
    "contact": "contacts.index",
    "enquiry": "enquiries.index",
}


def _detail_url(kind, record):
    endpoint, argument = DETAIL_ENDPOINTS[kind]
    return url_for(endpoint, **{argument: record.id})


def _list_url(kind, query):
    endpoint = LIST_ENDPOINTS.get(kind)
    return url_for(endpoint, q=query) if endpoint else None


@bp.route("/")
def index():
    """Signed-in staff: records of every kind the user may read that match the words."""
    query = request.args.get("q", "").strip()[:MAX_QUERY_LENGTH]
    groups = services.search(query, user=current_user) if query else []
    return render_template(
        "search/index.html",
        query=query,
        groups=groups,
        total=sum(group.count for group in groups),
        detail_url=_detail_url,
        list_url=_list_url,
    )
