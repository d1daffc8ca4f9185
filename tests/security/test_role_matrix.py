"""Who may do what (SPEC §4), for every route of the URL map and every role, on the demo data.

The table below classifies every endpoint. A new route fails
`test_every_endpoint_is_classified` until someone decides who may use it.
"""

from urllib.parse import urlsplit

import pytest

from tests.demo_pages import is_api_rule
from tests.security.conftest import CSRF_ON, csrf_token, sign_in, staff_rules

pytestmark = pytest.mark.config(**CSRF_ON)

# Who may use an endpoint: the least role, by rank. PUBLIC means anonymous visitors too.
PUBLIC, READ, MEMBER, COORDINATOR, ADMIN = 0, 1, 2, 3, 4
RANK = {"anonymous": 0, "viewer": 1, "member": 2, "coordinator": 3, "admin": 4}
# Enquiries: never viewers; members only those assigned to them (the demo one is theirs).
ENQUIRY = MEMBER
# Documents: members delete or replace only what they uploaded; the demo's are the admin's.
OTHERS_DOCUMENT = COORDINATOR
# API tokens: only its holder revokes one on their account page (another's is not found);
# the demo's token is the admin's.
OWN_TOKEN = ADMIN

# endpoint: (least role for GET, least role for POST); None where the method does not exist.
ACCESS = {
    # public pages and sign-in
    "public.index": (PUBLIC, None),
    "contact.form": (PUBLIC, PUBLIC),
    "contact.thanks": (PUBLIC, None),
    "auth.login": (PUBLIC, PUBLIC),
    "auth.forgot_password": (PUBLIC, PUBLIC),
    # the token in the link is the credential; the demo's is not one, and is refused (410)
    "auth.set_password": (PUBLIC, PUBLIC),
    # the second step of signing in; without a first step it sends to the sign-in page
    "auth.two_factor_login": (PUBLIC, PUBLIC),
    # single sign-on: answered only for a configured provider (tests/test_auth_sso.py)
    "auth.oidc_login": (PUBLIC, None),
    "auth.oidc_callback": (PUBLIC, None),
    "core.healthz": (PUBLIC, None),
    "core.set_language": (None, PUBLIC),
    "privacy.notice": (PUBLIC, None),
    "privacy.versions": (PUBLIC, None),
    "privacy.version": (PUBLIC, None),
    # the feed's secret token is the credential; a public document downloads signed out
    "calendar.feed": (PUBLIC, None),
    "documents.download": (PUBLIC, None),
    # the accent colour's style sheet; a stored image decides itself who may see it (the
    # demo's is the logo, which everyone may)
    "public.theme": (PUBLIC, None),
    "public.image": (PUBLIC, None),
    # the public activities as JSON and iCalendar (crm/public/feed_views.py)
    "public_feed.activities_json": (PUBLIC, None),
    "public_feed.activities_ics": (PUBLIC, None),
    # the REST API's description and documentation (the API itself: test_api_permissions.py)
    "api.openapi_json": (PUBLIC, None),
    "api.docs": (PUBLIC, None),
    # every signed-in person
    "auth.logout": (None, READ),
    "auth.change_password": (READ, READ),
    "auth.confirm_password": (READ, READ),
    "auth.profile": (READ, READ),
    "auth.two_factor": (READ, READ),
    "auth.two_factor_start": (None, READ),
    "auth.two_factor_cancel": (None, READ),
    "auth.two_factor_recovery_codes": (READ, READ),
    "auth.two_factor_off": (READ, READ),
    "auth.api_tokens": (READ, READ),
    "auth.revoke_api_token": (OWN_TOKEN, OWN_TOKEN),
    "auth.oidc_confirm": (READ, None),
    "dashboard.index": (READ, None),
    "search.index": (READ, None),
    "calendar.settings": (READ, None),
    "calendar.renew": (None, READ),
    "calendar.activity_ics": (READ, None),
    # organisations and memberships
    "organisations.index": (READ, None),
    "organisations.detail": (READ, None),
    "organisations.export": (READ, None),
    "organisations.typeahead": (READ, None),
    "organisations.create": (MEMBER, MEMBER),
    "organisations.edit": (MEMBER, MEMBER),
    "organisations.import_csv": (MEMBER, MEMBER),
    "organisations.import_template": (MEMBER, None),
    "organisations.add_membership": (None, MEMBER),
    "organisations.end_membership": (MEMBER, MEMBER),
    "organisations.delete": (COORDINATOR, COORDINATOR),
    "organisations.restore": (None, COORDINATOR),
    "organisations.merge": (COORDINATOR, COORDINATOR),
    # contacts
    "contacts.index": (READ, None),
    "contacts.detail": (READ, None),
    "contacts.export": (READ, None),
    "contacts.typeahead": (READ, None),
    "contacts.create": (MEMBER, MEMBER),
    "contacts.edit": (MEMBER, MEMBER),
    "contacts.import_csv": (MEMBER, MEMBER),
    "contacts.import_template": (MEMBER, None),
    "contacts.delete": (COORDINATOR, COORDINATOR),
    "contacts.restore": (None, COORDINATOR),
    "contacts.merge": (COORDINATOR, COORDINATOR),
    # activities and tasks
    "activities.index": (READ, None),
    "activities.detail": (READ, None),
    "activities.export": (READ, None),
    "activities.create": (MEMBER, MEMBER),
    "activities.quick": (MEMBER, MEMBER),
    "activities.edit": (MEMBER, MEMBER),
    "activities.delete": (COORDINATOR, COORDINATOR),
    "activities.restore": (None, COORDINATOR),
    "tasks.index": (READ, None),
    # everyone's own notifications; open without a notification named goes back to the list
    "notifications.index": (READ, None),
    "notifications.open_notification": (None, READ),
    "notifications.read_all": (None, READ),
    "tasks.create": (MEMBER, MEMBER),
    "tasks.edit": (MEMBER, MEMBER),
    "tasks.complete": (None, MEMBER),
    "tasks.reopen": (None, MEMBER),
    # agreements
    "agreements.index": (READ, None),
    "agreements.detail": (READ, None),
    "agreements.export": (READ, None),
    "agreements.create": (MEMBER, MEMBER),
    "agreements.edit": (MEMBER, MEMBER),
    "agreements.status": (None, MEMBER),
    "agreements.delete": (COORDINATOR, COORDINATOR),
    "agreements.restore": (None, COORDINATOR),
    "agreements.board": (READ, None),
    "agreements.board_move": (None, MEMBER),
    # documents
    "documents.index": (READ, None),
    "documents.detail": (READ, None),
    "documents.edit": (OTHERS_DOCUMENT, OTHERS_DOCUMENT),
    "documents.download_version": (READ, None),
    "documents.upload": (MEMBER, MEMBER),
    "documents.replace": (OTHERS_DOCUMENT, OTHERS_DOCUMENT),
    "documents.delete": (OTHERS_DOCUMENT, OTHERS_DOCUMENT),
    # enquiries
    "enquiries.index": (ENQUIRY, None),
    "enquiries.detail": (ENQUIRY, None),
    "enquiries.export": (ENQUIRY, None),
    "enquiries.comment": (None, ENQUIRY),
    "enquiries.status": (None, ENQUIRY),
    "enquiries.task": (None, ENQUIRY),
    "enquiries.convert": (None, ENQUIRY),
    "enquiries.assign": (None, COORDINATOR),
    "enquiries.reply": (None, ENQUIRY),
    "enquiries.board": (ENQUIRY, None),
    "enquiries.board_move": (None, ENQUIRY),
    # bulk actions: the confirmation page (GET, and the CSV of the chosen rows), then the change
    "enquiries.bulk_confirm": (ENQUIRY, None),
    "enquiries.bulk_apply": (None, ENQUIRY),
    "organisations.bulk_confirm": (READ, None),
    "organisations.bulk_apply": (None, MEMBER),
    "contacts.bulk_confirm": (READ, None),
    "contacts.bulk_apply": (None, MEMBER),
    "activities.bulk_confirm": (READ, None),
    "activities.bulk_apply": (None, MEMBER),
    # saved views: anyone signed in; the demo's view is the admin's, shared
    "saved_views.save": (None, READ),
    "saved_views.make_default": (None, READ),
    "saved_views.clear_default": (None, READ),
    "saved_views.delete": (ADMIN, ADMIN),
    # reports
    "reports.index": (READ, None),
    "reports.organisations": (READ, None),
    "reports.organisation": (READ, None),
    "reports.organisation_csv": (READ, None),
    "reports.quarters_csv": (READ, None),
    # administration
    "admin.users": (ADMIN, None),
    "admin.create_user": (ADMIN, ADMIN),
    "admin.user": (ADMIN, ADMIN),
    "admin.edit_user": (ADMIN, None),
    "admin.resend_invitation": (None, ADMIN),
    "admin.send_password_reset": (None, ADMIN),
    "admin.turn_off_user_two_factor": (ADMIN, ADMIN),
    "admin.api_tokens": (ADMIN, None),
    "admin.revoke_api_token": (ADMIN, ADMIN),
    "admin.settings": (ADMIN, ADMIN),
    "admin.consent_texts": (ADMIN, ADMIN),
    "admin.reply_templates": (ADMIN, None),
    "admin.create_reply_template": (ADMIN, ADMIN),
    "admin.edit_reply_template": (ADMIN, ADMIN),
    "admin.delete_reply_template": (ADMIN, ADMIN),
    "mail.outbox": (ADMIN, None),
    "mail.detail": (ADMIN, None),
    "mail.retry": (None, ADMIN),
    "webhooks.index": (ADMIN, None),
    "webhooks.create": (ADMIN, ADMIN),
    "webhooks.detail": (ADMIN, None),
    "webhooks.edit": (ADMIN, ADMIN),
    "webhooks.delete": (ADMIN, ADMIN),
    "webhooks.rotate_secret": (ADMIN, ADMIN),
    "webhooks.ping": (None, ADMIN),
    "webhooks.retry": (None, ADMIN),
    "privacy.requests": (ADMIN, ADMIN),
    "privacy.export": (None, ADMIN),
    "privacy.erase": (ADMIN, ADMIN),
    "privacy.clear": (None, ADMIN),
    "privacy.legal_hold": (ADMIN, ADMIN),
    "privacy.log": (ADMIN, None),
    "privacy.edit_notice": (ADMIN, ADMIN),
    # the office mailbox: unmatched mail is the coordinators'; the demo's e-mail is unmatched
    "mailbox.unmatched": (COORDINATOR, None),
    "mailbox.email": (COORDINATOR, None),
    "mailbox.attach": (None, COORDINATOR),
    "mailbox.log": (None, COORDINATOR),
    "mailbox.discard": (COORDINATOR, COORDINATOR),
}
SINGLE_SIGN_ON = {"auth.oidc_login", "auth.oidc_callback", "auth.oidc_confirm"}
# POSTs that take a record away run after the others, restores after them, sign-out last.
LATER = {
    "delete": 1,
    "delete_reply_template": 1,
    "erase": 1,
    "clear": 1,
    "restore": 2,
    "logout": 3,
}


def _phase(rule):
    action = rule.endpoint.split(".")[1]
    return LATER.get(action, 0)


def _level(rule, method):
    levels = ACCESS[rule.endpoint]
    return levels[0] if method == "GET" else levels[1]


def _outcome(response):
    location = urlsplit(response.headers.get("Location", "")).path
    if response.status_code == 302 and location == "/login":
        return "sign in"
    if response.status_code in (403, 404):
        return "refused"
    return "allowed"


def test_every_endpoint_is_classified(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if not is_api_rule(rule)} - {
        "static"
    }

    assert sorted(endpoints - set(ACCESS)) == [], "classify the new endpoints in ACCESS"
    assert sorted(set(ACCESS) - endpoints) == [], "remove endpoints that no longer exist"


def test_the_table_agrees_with_the_methods_and_the_public_marks(app):
    for rule in staff_rules(app, methods=("GET", "POST")):
        get_level, post_level = ACCESS[rule.endpoint]
        assert ("GET" in rule.methods) == (get_level is not None), rule.endpoint
        assert ("POST" in rule.methods) == (post_level is not None), rule.endpoint
        public = getattr(app.view_functions[rule.endpoint], "is_public", False)
        assert public == (PUBLIC in (get_level, post_level)), rule.endpoint
        if rule.rule.startswith("/admin"):
            assert {get_level, post_level} <= {ADMIN, None}, rule.endpoint


@pytest.mark.parametrize("role", ["admin", "coordinator", "member", "viewer", "anonymous"])
def test_every_route_answers_each_role_as_the_spec_says(app, client, demo, role):
    check_every_route(app, client, demo, role)


@pytest.mark.config(**CSRF_ON, PAGE_CACHE_SECONDS=60)
@pytest.mark.parametrize("role", ["member", "anonymous"])
def test_the_page_cache_changes_no_answer(app, client, demo, role):
    """As in production, with the page cache on: each role's pages are first rendered for an
    admin in another browser, and still every answer is as the table says."""
    admin = app.test_client()
    sign_in(admin, demo.users["admin"].email)
    for rule in staff_rules(app):
        admin.get(demo.url_for_endpoint(rule))
    check_every_route(app, client, demo, role, twice=True)


def check_every_route(app, client, demo, role, *, twice=False):
    if role == "anonymous":
        token = csrf_token(client, "/login")
    else:
        token = sign_in(client, demo.users[role].email)
    rank = RANK[role]
    calls = [("GET", rule) for rule in staff_rules(app, methods=("GET",))]
    posts = sorted(staff_rules(app, methods=("POST",)), key=_phase)
    calls += [("POST", rule) for rule in posts]
    wrong = []

    for method, rule in calls:
        if rule.endpoint == "auth.login" and role != "anonymous":
            continue  # a signed-in person is sent on; covered by the redirect tests
        if rule.endpoint == "auth.two_factor_login":
            continue  # needs a first step; covered by tests/test_auth_two_factor.py
        if rule.endpoint in SINGLE_SIGN_ON:
            continue  # they need a provider to answer; covered by tests/test_auth_sso.py
        url = demo.url_for_endpoint(rule)
        data = {"csrf_token": token} if method == "POST" else None
        if twice and method == "GET":
            client.get(url)  # the second answer may come from the cache
        response = client.open(url, method=method, data=data)
        assert response.status_code < 500, f"{method} {url}: {response.status_code}"
        level = _level(rule, method)
        if rank >= level:
            expected = "allowed"
        elif role == "anonymous":
            expected = "sign in"
        else:
            expected = "refused"
        actual = _outcome(response)
        if rule.endpoint == "auth.logout" and actual == "sign in" and expected == "allowed":
            actual = "allowed" if client.get("/dashboard/").status_code == 302 else "kept"
        if actual != expected:
            wrong.append(f"{method} {url} ({rule.endpoint}): {actual}, expected {expected}")

    assert wrong == []


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_an_enquiry_not_assigned_to_a_member_is_not_found(app, client, demo, role):
    token = sign_in(client, demo.users[role].email)
    other = demo.other_enquiry_id
    assert other is not None and other != demo.values["enquiry_id"]
    wrong = []

    for rule in staff_rules(app, methods=("GET", "POST")):
        if "enquiry_id" not in rule.arguments:
            continue
        for method in sorted({"GET", "POST"} & rule.methods):
            url = demo.url(rule, enquiry_id=other)
            data = (
                {"csrf_token": token, "body": "x", "status": "closed"} if method == "POST" else None
            )
            response = client.open(url, method=method, data=data)
            allowed_codes = (404,) if role == "member" else (403, 404)
            if response.status_code not in allowed_codes:
                wrong.append(f"{method} {url}: {response.status_code}")

    assert wrong == []
    # Nor does the list or the export show it.
    if role == "member":
        listing = client.get("/enquiries/").get_data(as_text=True)
        assert f'href="/enquiries/{other}"' not in listing


def test_a_coordinator_reads_any_enquiry(client, demo):
    sign_in(client, demo.users["coordinator"].email)

    assert client.get(f"/enquiries/{demo.other_enquiry_id}").status_code == 200
    assert client.get(f"/enquiries/{demo.values['enquiry_id']}").status_code == 200


@pytest.mark.parametrize("role", ["viewer", "member"])
def test_no_page_shows_an_enquiry_the_user_may_not_read(app, client, demo, db, role):
    """Dashboards, task lists, search and exports: no link to, or text from, such an enquiry."""
    import re

    import sqlalchemy as sa

    from crm.enquiries.models import Enquiry

    sign_in(client, demo.users[role].email)
    member_id = demo.users["member"].id
    hidden = [
        enquiry
        for enquiry in db.session.scalars(sa.select(Enquiry))
        if role == "viewer" or enquiry.assignee_id != member_id
    ]
    urls = [demo.url_for_endpoint(rule) for rule in staff_rules(app)]
    urls = [
        url for url in urls if not url.startswith(("/enquiries", "/login", "/language", "/images/"))
    ]
    urls += [f"/search/?q={enquiry.message[:30]}" for enquiry in hidden]
    hidden_ids = {str(enquiry.id) for enquiry in hidden}
    wrong = []

    for url in urls:
        text = client.get(url).get_data(as_text=True)
        linked = set(re.findall(r"/enquiries/(\d+)", text)) & hidden_ids
        quoted = [enquiry.id for enquiry in hidden if enquiry.message[:40] in text]
        if linked or quoted:
            wrong.append(f"{url}: links {sorted(linked)}, text of {quoted}")

    assert wrong == []
