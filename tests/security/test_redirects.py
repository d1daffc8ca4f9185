"""Open redirects: no `next` ever sends a person to another site."""

from urllib.parse import quote, urljoin, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from crm.core.security import is_safe_next
from tests.security.conftest import CSRF_ON, csrf_token, page_form, sign_in

pytestmark = pytest.mark.config(**CSRF_ON)

HOSTILE = [
    "https://evil.example",
    "http://evil.example/login",
    "//evil.example",
    "///evil.example",
    "////evil.example/x",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    " //evil.example",
    "https:evil.example",
    "http:/evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "@evil.example",
    "%2F%2Fevil.example",
]
# Percent-encoded slashes are a path on this site to a browser; they must stay that.
ENCODED = ["/%2F%2Fevil.example", "/%5Cevil.example", "/%09/evil.example"]


def browser_target(location, base="https://crm.example/somewhere/page"):
    """Where a browser goes for this Location, following the URL standard's forgiving rules."""
    cleaned = location.strip("".join(chr(code) for code in range(33)))
    cleaned = "".join(char for char in cleaned if char not in "\t\n\r").replace("\\", "/")
    return urlsplit(urljoin(base, cleaned))


def assert_stays_on_site(response):
    assert response.status_code in (302, 303), response.status_code
    target = browser_target(response.headers["Location"])
    assert target.netloc in ("crm.example", ""), response.headers["Location"]
    assert target.scheme in ("https", ""), response.headers["Location"]


@pytest.mark.parametrize("target", HOSTILE)
def test_is_safe_next_refuses_every_hostile_target(target):
    assert not is_safe_next(target)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="/\\:@.?#%ae \t\n\x00", max_size=12))
def test_whatever_is_judged_safe_stays_on_the_site(target):
    if is_safe_next(target):
        parts = browser_target(target)
        assert parts.netloc == "crm.example"
        assert parts.scheme == "https"


def test_sign_in_never_redirects_off_site(app, demo):
    for target in HOSTILE + ENCODED:
        client = app.test_client()
        url = f"/login?next={quote(target, safe='')}"
        token = csrf_token(client, url)

        response = client.post(
            url,
            data={
                "email": demo.users["member"].email,
                "password": "gms-demo-2026!",
                "csrf_token": token,
            },
        )
        again = client.get(url)

        assert_stays_on_site(response)
        assert_stays_on_site(again)


def test_language_switch_never_redirects_off_site(client):
    for target in HOSTILE + ENCODED:
        response = client.post(f"/language/en?next={quote(target, safe='')}")

        assert_stays_on_site(response)


def test_a_safe_next_is_followed(client, demo):
    url = "/login?next=" + quote("/organisations/?q=x", safe="")
    token = csrf_token(client, url)

    response = client.post(
        url,
        data={
            "email": demo.users["member"].email,
            "password": "gms-demo-2026!",
            "csrf_token": token,
        },
    )

    assert response.headers["Location"] == "/organisations/?q=x"
    token = csrf_token(client, "/dashboard/")
    response = client.post("/language/sv?next=/organisations/", data={"csrf_token": token})
    assert response.headers["Location"] == "/organisations/"


def test_forms_that_carry_a_next_field_never_redirect_off_site(client, demo, db):
    target = "//evil.example"
    token = sign_in(client, demo.users["member"].email)
    task_url = f"/tasks/{demo.values['task_id']}/edit?next={quote(target, safe='')}"
    task_form = page_form(client.get(task_url).get_data(as_text=True), having="title")
    task_form = [(k, v) for k, v in task_form if k not in ("csrf_token", "next")]
    membership_url = (
        f"/organisations/memberships/{demo.values['membership_id']}/end"
        f"?next={quote(target, safe='')}"
    )
    membership_page = client.get(membership_url).get_data(as_text=True)

    saved_task = client.post(
        task_url, data=MultiDict([*task_form, ("next", target), ("csrf_token", token)])
    )
    ended = client.post(
        membership_url,
        data={"next": target, "until": "2026-01-31", "csrf_token": token},
    )

    # The page may carry the value along; only where the POST goes counts.
    assert "csrf_token" in membership_page
    assert_stays_on_site(saved_task)
    assert_stays_on_site(ended)
