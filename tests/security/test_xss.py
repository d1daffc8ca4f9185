"""Stored and reflected XSS: whatever is typed into a free-text field comes back as text.

A Hypothesis property: payloads mixing markup, event handlers, `javascript:` URLs, template
syntax and arbitrary unicode go through the real forms into every free-text field; then the
pages that show them are parsed, and no element, attribute, script or comment may have come
from the payload. Every payload carries the mark `h6xss`, so anything it smuggled in is found.
"""

import io
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from crm import demo_data
from tests.security.conftest import CSRF_ON, read_form, sign_in

pytestmark = pytest.mark.config(**CSRF_ON)

MARK = "h6xss"
FRAGMENTS = [
    f"<script>{MARK}(1)</script>",
    f'"><img src=x onerror={MARK}(1)>',
    f"'><svg onload={MARK}(1)>",
    f'<a href="javascript:{MARK}(1)">click</a>',
    f"javascript:{MARK}(1)",
    f"</textarea><b {MARK}>bold</b>",
    f"</title><{MARK}>",
    f"--><!-- {MARK}",
    f"<style>@import '{MARK}';</style>",
    f"<iframe srcdoc='<script>{MARK}()</script>'>",
    f"{{{{7*7}}}}{MARK}{{% print 7*7 %}}",
    f"&lt;script&gt;{MARK}&#x3c;b&#62;",
    f"<<script>{MARK};//<</script>",
    f"<math><mtext><table><mglyph><style><img src=x onerror={MARK}()>",
]
# Arbitrary unicode around the fragment: any script, right-to-left marks, emoji, combining marks.
NOISE = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=6,
)
PAYLOADS = st.builds(
    lambda before, fragment, after: f"{before}{fragment}{after}".strip() or fragment,
    NOISE,
    st.sampled_from(FRAGMENTS),
    NOISE,
)
PROPERTY = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "srcdoc"}


class _InjectionFinder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems = []
        self._raw = None

    def handle_starttag(self, tag, attrs):
        if MARK in tag:
            self.problems.append(f"element <{tag}>")
        for name, value in attrs:
            value = value or ""
            if MARK in name:
                self.problems.append(f"attribute {name} on <{tag}>")
            elif name.startswith("on"):
                self.problems.append(f"event handler {name}={value!r} on <{tag}>")
            elif name in URL_ATTRIBUTES and value.strip().lower().startswith(
                ("javascript:", "data:")
            ):
                if not (tag == "img" and value.startswith("data:image/")):
                    self.problems.append(f"{name}={value!r} on <{tag}>")
            elif name == "srcdoc":
                self.problems.append(f"srcdoc on <{tag}>")
        if tag in ("script", "style"):
            self._raw = tag

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        if tag == self._raw:
            self._raw = None

    def handle_data(self, data):
        if self._raw and MARK in data:
            self.problems.append(f"{MARK} inside <{self._raw}>")
        if "49" + MARK in data or MARK + "49" in data:
            self.problems.append("template syntax was evaluated")

    def handle_comment(self, data):
        if MARK in data:
            self.problems.append("a comment came from the payload")


def assert_no_injection(response, where):
    assert response.status_code < 500, f"{where}: {response.status_code}"
    if response.mimetype != "text/html":
        return
    finder = _InjectionFinder()
    finder.feed(response.get_data(as_text=True))
    finder.close()
    assert not finder.problems, f"{where}: {finder.problems}"


def check_pages(client, urls, *, shows=None):
    """No injection on any of the pages; `shows` (one of them) must show the payload as text."""
    for url in urls:
        response = client.get(url)
        assert_no_injection(response, url)
        if url == shows:
            assert MARK in response.get_data(as_text=True), f"the payload was not stored: {url}"


@pytest.mark.parametrize(
    "html",
    [
        f"<p><script>{MARK}()</script></p>",
        f'<img src="x" onerror="{MARK}()">',
        f'<a href=" javascript:{MARK}()">x</a>',
        f"<{MARK}>",
        f"<b {MARK}>x</b>",
        f"<!-- {MARK} -->",
        f"<p>{{{{7*7}}}}49{MARK}</p>",
    ],
)
def test_the_finder_sees_injected_markup(html):
    finder = _InjectionFinder()
    finder.feed(html)
    assert finder.problems


def test_the_finder_accepts_escaped_payloads():
    finder = _InjectionFinder()
    finder.feed(
        f'<input value="&quot;&gt;&lt;img src=x onerror={MARK}()&gt;">'
        f"<p>&lt;script&gt;{MARK}()&lt;/script&gt; javascript:{MARK}()</p>"
        f"<textarea>&lt;/textarea&gt;&lt;b {MARK}&gt;</textarea>"
        f'<a href="/x?q=javascript:{MARK}">x</a>'
    )
    assert finder.problems == []


def send(client, page_url, having, payload, token, *, action=None, keep=(), files=None):
    """Fill every free-text field of the form with the payload and send it as a browser would.

    Fields the form then refuses (aria-invalid) get their old value back and the form is sent
    again, so the payload is stored in every field that accepts it. Returns the last response.
    """
    form = read_form(client.get(page_url).get_data(as_text=True), having=having, action=action)
    original = dict(form["fields"])
    post_url = form["action"] or page_url
    refused = set(keep)
    for _attempt in range(4):
        data = MultiDict(
            [
                (name, payload if name in form["text"] and name not in refused else value)
                for name, value in form["fields"]
            ]
        )
        if not any(name.endswith("csrf_token") for name in data):
            data["csrf_token"] = token
        if files:
            for name, (content, filename) in files.items():
                data[name] = (io.BytesIO(content), filename)
        response = client.post(post_url, data=data)
        assert_no_injection(response, f"POST {post_url}")
        if response.status_code != 200:
            return response
        invalid = _invalid_fields(response.get_data(as_text=True)) - refused
        if not invalid:
            return response
        refused |= {name for name in invalid if name in original}
    return response


def _invalid_fields(html):
    class Reader(HTMLParser):
        names = set()

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if attrs.get("aria-invalid") == "true" and attrs.get("name"):
                self.names.add(attrs["name"])

    reader = Reader()
    reader.names = set()
    reader.feed(html)
    return reader.names


@pytest.fixture
def admin_client(client, demo):
    client.token = sign_in(client, demo.users["admin"].email)
    return client


@PROPERTY
@given(payload=PAYLOADS)
@example(FRAGMENTS[0])
@example(FRAGMENTS[1])
def test_organisation_fields(admin_client, demo, payload):
    organisation_id = demo.values["organisation_id"]
    url = f"/organisations/{organisation_id}"

    response = send(admin_client, f"{url}/edit", "name", payload, admin_client.token)

    assert response.status_code == 302
    check_pages(
        admin_client,
        shows=url,
        urls=[
            url,
            "/organisations/",
            f"/organisations/?q={quote(payload[:50])}",
            f"/search/?q={quote(MARK)}",
            f"/reports/organisations/{organisation_id}",
            "/dashboard/",
        ],
    )


@PROPERTY
@given(payload=PAYLOADS)
@example(FRAGMENTS[2])
def test_contact_fields(admin_client, demo, payload):
    url = f"/contacts/{demo.values['contact_id']}"

    response = send(admin_client, f"{url}/edit", "last_name", payload, admin_client.token)

    assert response.status_code == 302
    check_pages(
        admin_client,
        [url, "/contacts/", f"/contacts/?q={quote(MARK)}", f"/search/?q={quote(MARK)}"],
        shows=url,
    )


@PROPERTY
@given(payload=PAYLOADS)
@example(FRAGMENTS[3])
def test_activity_and_task_fields(admin_client, demo, payload):
    activity_url = f"/activities/{demo.values['activity_id']}"
    task_url = f"/tasks/{demo.values['task_id']}/edit"

    activity = send(admin_client, f"{activity_url}/edit", "title", payload, admin_client.token)
    task = send(admin_client, task_url, "title", payload, admin_client.token)

    assert (activity.status_code, task.status_code) == (302, 302)
    check_pages(
        admin_client,
        [activity_url, "/activities/", "/tasks/", task_url, "/dashboard/"],
        shows=activity_url,
    )


@PROPERTY
@given(payload=PAYLOADS)
@example(FRAGMENTS[4])
def test_agreement_fields(admin_client, demo, payload):
    url = f"/agreements/{demo.values['agreement_id']}"

    response = send(admin_client, f"{url}/edit", "title", payload, admin_client.token)

    assert response.status_code == 302
    check_pages(
        admin_client,
        [url, "/agreements/", f"/organisations/{demo.values['organisation_id']}"],
        shows=url,
    )


@PROPERTY
@given(payload=PAYLOADS)
@example(FRAGMENTS[5])
def test_enquiry_form_comments_and_tasks(app, admin_client, demo, payload):
    visitor = app.test_client()
    visitor.environ_base["REMOTE_ADDR"] = "198.51.100.9"
    form_page = "/contact?lang=en"
    visitor_token = read_form(visitor.get(form_page).get_data(as_text=True), having="name")
    visitor_token = dict(visitor_token["fields"])["csrf_token"]

    sent = send(
        visitor,
        form_page,
        "name",
        payload,
        visitor_token,
        # The honeypot stays empty, as a person leaves it.
        keep=("website",),
    )
    enquiry_url = f"/enquiries/{demo.values['enquiry_id']}"
    comment = send(
        admin_client,
        enquiry_url,
        "comment-body",
        payload,
        admin_client.token,
        action=f"{enquiry_url}/comments",
    )
    task = send(
        admin_client,
        enquiry_url,
        "task-title",
        payload,
        admin_client.token,
        action=f"{enquiry_url}/tasks",
    )

    assert sent.status_code in (200, 302)
    assert (comment.status_code, task.status_code) == (302, 302)
    check_pages(
        admin_client, ["/enquiries/", enquiry_url, "/dashboard/", "/tasks/"], shows=enquiry_url
    )
    newest = max(_enquiry_ids(demo))
    check_pages(admin_client, [f"/enquiries/{newest}"])


def _enquiry_ids(demo):
    import sqlalchemy as sa

    from crm.enquiries.models import Enquiry
    from crm.extensions import db

    return db.session.scalars(sa.select(Enquiry.id)).all()


@PROPERTY
@given(payload=PAYLOADS)
@example(FRAGMENTS[6])
@example(FRAGMENTS[10])
def test_settings_privacy_notice_and_user_names(admin_client, demo, payload):
    member_id = demo.users["member"].id
    saved = send(admin_client, "/admin/settings", "office_name_sv", payload, admin_client.token)
    notice = send(admin_client, "/admin/privacy/notice", "body_sv", payload, admin_client.token)
    user = send(admin_client, f"/admin/users/{member_id}", "name", payload, admin_client.token)

    assert (saved.status_code, notice.status_code, user.status_code) == (302, 302, 302)
    check_pages(
        admin_client,
        [
            "/",
            "/?lang=en",
            "/contact",
            "/privacy",
            "/admin/users",
            "/enquiries/",
            "/dashboard/",
        ],
        shows="/privacy",
    )


@PROPERTY
@given(payload=PAYLOADS)
@example(FRAGMENTS[7])
def test_document_title_and_description(admin_client, demo, payload):
    activity_id = demo.values["activity_id"]
    pdf = demo_data.simple_pdf(["Hello"])

    response = send(
        admin_client,
        f"/documents/new?activity_id={activity_id}",
        "title",
        payload,
        admin_client.token,
        files={"file": (pdf, f"{MARK}<b>.pdf")},
    )

    assert response.status_code == 302
    check_pages(
        admin_client,
        [response.headers["Location"], f"/activities/{activity_id}"],
        shows=f"/activities/{activity_id}",
    )


@PROPERTY
@given(payload=PAYLOADS)
def test_search_and_filters_reflect_nothing(admin_client, demo, payload):
    query = quote(payload)
    check_pages(
        admin_client,
        [
            f"/search/?q={query}",
            f"/organisations/?q={query}&sort={query}",
            f"/contacts/?q={query}&page={query}",
            f"/activities/?q={query}&kind={query}",
            f"/agreements/?q={query}&status={query}",
            f"/enquiries/?q={query}&status={query}",
            f"/tasks/?q={query}",
            f"/login?next={query}",
            f"/contact?lang={query}",
        ],
    )
