"""The API and the pages agree on who may do what, for every role and every API operation.

Each operation of the OpenAPI document is paired with the page (or page action) that does
the same; for each role, both must allow it or both refuse it (403 or 404). A new operation
fails `test_every_operation_is_paired` until it is paired here.

The viewer's token is a read-and-write token of a member who has since been made a viewer
(a viewer cannot create one): so the role rules themselves are tested, not the token's scope.
"""

from dataclasses import dataclass
from datetime import timedelta

import pytest

from crm.activities import task_services
from crm.auth.models import Role
from crm.enquiries.models import EnquiryStatus
from crm.extensions import db
from tests.api_client import ApiClient, token_for
from tests.factories import (
    make_activity,
    make_agreement,
    make_contact,
    make_document,
    make_enquiry,
    make_organisation,
)

ROLES = [Role.ADMIN, Role.COORDINATOR, Role.MEMBER, Role.VIEWER]


@dataclass(frozen=True)
class Pair:
    page: tuple  # (method, path) of the page doing the same
    body: dict | None = None  # the API's request body, for writes


# "{name}" in a path is filled from the records made for each test (see _records):
# enquiry_id is someone else's enquiry, own_enquiry_id one assigned to the acting user.
PAIRS = {
    ("GET", "/api/v1/organisations/"): Pair(("GET", "/organisations/")),
    ("POST", "/api/v1/organisations/"): Pair(("GET", "/organisations/new"), {}),
    ("GET", "/api/v1/organisations/{organisation_id}"): Pair(
        ("GET", "/organisations/{organisation_id}")
    ),
    ("PATCH", "/api/v1/organisations/{organisation_id}"): Pair(
        ("GET", "/organisations/{organisation_id}/edit"), {}
    ),
    ("DELETE", "/api/v1/organisations/{organisation_id}"): Pair(
        ("GET", "/organisations/{organisation_id}/delete")
    ),
    ("GET", "/api/v1/contacts/"): Pair(("GET", "/contacts/")),
    ("POST", "/api/v1/contacts/"): Pair(("GET", "/contacts/new"), {}),
    ("GET", "/api/v1/contacts/{contact_id}"): Pair(("GET", "/contacts/{contact_id}")),
    ("PATCH", "/api/v1/contacts/{contact_id}"): Pair(("GET", "/contacts/{contact_id}/edit"), {}),
    ("DELETE", "/api/v1/contacts/{contact_id}"): Pair(("GET", "/contacts/{contact_id}/delete")),
    ("GET", "/api/v1/enquiries/"): Pair(("GET", "/enquiries/")),
    ("GET", "/api/v1/enquiries/{enquiry_id}"): Pair(("GET", "/enquiries/{enquiry_id}")),
    ("PATCH", "/api/v1/enquiries/{enquiry_id}"): Pair(
        ("POST", "/enquiries/{enquiry_id}/status"), {}
    ),
    ("POST", "/api/v1/enquiries/{enquiry_id}/comments"): Pair(
        ("POST", "/enquiries/{enquiry_id}/comments"), {"body": ""}
    ),
    ("POST", "/api/v1/enquiries/{enquiry_id}/replies"): Pair(
        ("POST", "/enquiries/{enquiry_id}/reply"), {"subject": "", "body": ""}
    ),
    ("GET", "/api/v1/figures/quarters"): Pair(("GET", "/reports/")),
    ("GET", "/api/v1/activities/"): Pair(("GET", "/activities/")),
    ("POST", "/api/v1/activities/"): Pair(("GET", "/activities/new"), {}),
    ("GET", "/api/v1/activities/{activity_id}"): Pair(("GET", "/activities/{activity_id}")),
    ("PATCH", "/api/v1/activities/{activity_id}"): Pair(
        ("GET", "/activities/{activity_id}/edit"), {}
    ),
    ("DELETE", "/api/v1/activities/{activity_id}"): Pair(
        ("GET", "/activities/{activity_id}/delete")
    ),
    ("GET", "/api/v1/agreements/"): Pair(("GET", "/agreements/")),
    ("POST", "/api/v1/agreements/"): Pair(("GET", "/agreements/new"), {}),
    ("GET", "/api/v1/agreements/{agreement_id}"): Pair(("GET", "/agreements/{agreement_id}")),
    ("PATCH", "/api/v1/agreements/{agreement_id}"): Pair(
        ("GET", "/agreements/{agreement_id}/edit"), {}
    ),
    ("DELETE", "/api/v1/agreements/{agreement_id}"): Pair(
        ("GET", "/agreements/{agreement_id}/delete")
    ),
    ("GET", "/api/v1/documents/"): Pair(("GET", "/documents/")),
    ("POST", "/api/v1/documents/"): Pair(("GET", "/documents/new?agreement_id={agreement_id}"), {}),
    ("GET", "/api/v1/documents/{document_id}"): Pair(("GET", "/documents/{document_id}")),
    ("PATCH", "/api/v1/documents/{document_id}"): Pair(
        ("GET", "/documents/{document_id}/edit"), {}
    ),
    ("DELETE", "/api/v1/documents/{document_id}"): Pair(("GET", "/documents/{document_id}/delete")),
    ("GET", "/api/v1/documents/{document_id}/file"): Pair(
        ("GET", "/documents/{document_id}/download")
    ),
    ("PUT", "/api/v1/documents/{document_id}/file"): Pair(
        ("GET", "/documents/{document_id}/replace"), {}
    ),
    ("GET", "/api/v1/tasks/"): Pair(("GET", "/tasks/")),
    ("POST", "/api/v1/tasks/"): Pair(("GET", "/tasks/new"), {}),
    # A task has no page of its own: the tasks list shows it.
    ("GET", "/api/v1/tasks/{task_id}"): Pair(("GET", "/tasks/")),
    ("PATCH", "/api/v1/tasks/{task_id}"): Pair(("GET", "/tasks/{task_id}/edit"), {}),
}
# The same operations on the acting member's own enquiry.
OWN_ENQUIRY = {
    (method, path.replace("{enquiry_id}", "{own_enquiry_id}")): Pair(
        (pair.page[0], pair.page[1].replace("{enquiry_id}", "{own_enquiry_id}")), pair.body
    )
    for (method, path), pair in PAIRS.items()
    if "{enquiry_id}" in path
}
CASES = {**PAIRS, **OWN_ENQUIRY}


def _records(member, uploader):
    """Records of every kind, made by someone else (the uploader, an admin) except the
    enquiry assigned to the acting user."""
    organisation = make_organisation("Acme AB")
    contact = make_contact("Eva", "Berg", organisation=organisation)
    others = make_enquiry(status=EnquiryStatus.NEW)
    own = make_enquiry(assignee_id=member.id, status=EnquiryStatus.ASSIGNED)
    make_enquiry(closed_ago=timedelta(days=1))
    activity = make_activity("Seminarium", organisations=[organisation])
    agreement = make_agreement("Ramavtal", parties=[organisation])
    document = make_document("Avtal.pdf", owner=agreement, actor=uploader)
    task = task_services.create_task(
        title="Ring Eva",
        assignee=uploader,
        subject=organisation,
        subject_kind="organisation_id",
        actor=uploader,
    )
    db.session.commit()
    return {
        "organisation_id": organisation.id,
        "contact_id": contact.id,
        "enquiry_id": others.id,
        "own_enquiry_id": own.id,
        "activity_id": activity.id,
        "agreement_id": agreement.id,
        "document_id": document.id,
        "task_id": task.id,
    }


def _outcome(response):
    if response.status_code in (403, 404):
        return "refused"
    if response.status_code in (401, 405) or response.status_code >= 500:
        return f"answered {response.status_code}"
    return "allowed"


def test_every_operation_is_paired(app):
    document = app.extensions["crm_api"].spec.to_dict()
    operations = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert sorted(operations - set(PAIRS)) == [], "pair the new operations with their pages"
    assert sorted(set(PAIRS) - operations) == [], "remove operations that no longer exist"


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role.value)
@pytest.mark.parametrize(
    "operation", sorted(CASES), ids=lambda operation: f"{operation[0]} {operation[1]}"
)
def test_the_api_allows_what_the_page_allows(app, make_user, login, client, role, operation):
    user = make_user(Role.MEMBER if role == Role.VIEWER else role)
    token, raw = token_for(user)
    if role == Role.VIEWER:
        user.role = Role.VIEWER  # demoted after making a read-and-write token
        db.session.commit()
    values = _records(user, make_user(Role.ADMIN))
    login(user)
    api = ApiClient(app.test_client(use_cookies=False), user, raw, token)

    method, path = operation
    pair = CASES[operation]
    page_method, page_path = pair.page
    page = client.open(page_path.format(**values), method=page_method, data={})
    kwargs = {"json": pair.body} if pair.body is not None else {}
    answer = api.open(method, path.format(**values), **kwargs)

    assert page.status_code < 500 and answer.status_code < 500
    assert _outcome(answer) == _outcome(page), (
        f"{role.value}: {method} {path} answered {answer.status_code} "
        f"where {page_method} {page_path} answered {page.status_code}"
    )
