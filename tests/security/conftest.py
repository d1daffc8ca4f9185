"""Security suite: the real app with CSRF on, the demo data set, and helpers that fill the URL map.

Every test module here sets `pytestmark = pytest.mark.config(WTF_CSRF_ENABLED=True, ...)`, so a
POST without the token is refused exactly as in production.
"""

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import sqlalchemy as sa

from crm import demo_data

# The demo data set and the URL map's pages: shared with the browser tests (tests/browser).
from tests.demo_pages import demo, staff_rules  # noqa: F401

CSRF_ON = {"WTF_CSRF_ENABLED": True}

_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_token(client, path="/login"):
    """The CSRF token from a page's form (the token is the session's, valid for every form)."""
    html = client.get(path).get_data(as_text=True)
    match = _TOKEN.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def sign_in(client, email, password=None):
    """Sign in through the real form, CSRF token included; returns a token for further POSTs."""
    token = csrf_token(client, "/login")
    response = client.post(
        "/login",
        data={"email": email, "password": password or demo_data.DEMO_PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302, "sign-in failed"
    return csrf_token(client, "/dashboard/")


def database_state(db):
    """Every row of every table, to show a refused request changed nothing."""
    state = {}
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(sa.select(table)).all()
        state[table.name] = sorted(repr(tuple(row)) for row in rows)
    db.session.rollback()
    return state


def assert_unchanged(db, before, what):
    after = database_state(db)
    changed = [name for name in before if before[name] != after[name]]
    assert not changed, f"{what} changed {changed}"


class _FormReader(HTMLParser):
    """The fields of the forms on a page, with the values a browser would send unchanged."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action") or "", "fields": [], "text": set()})
            return
        if not self.forms:
            return
        fields = self.forms[-1]["fields"]
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            fields.append((name, attrs.get("value", "y" if kind == "checkbox" else "")))
            if kind in ("text", "search"):
                self.forms[-1]["text"].add(name)
        elif tag == "select" and name:
            self._select = {"name": name, "first": None, "chosen": False}
        elif tag == "option" and self._select is not None:
            value = attrs.get("value", "")
            if self._select["first"] is None:
                self._select["first"] = value
            if "selected" in attrs:
                fields.append((self._select["name"], value))
                self._select["chosen"] = True
        elif tag == "textarea" and name:
            self._textarea = [name, ""]
            self.forms[-1]["text"].add(name)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None:
            if not self._select["chosen"] and self._select["first"] is not None:
                self.forms[-1]["fields"].append((self._select["name"], self._select["first"]))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            text = self._textarea[1]
            self.forms[-1]["fields"].append((self._textarea[0], text.removeprefix("\n")))
            self._textarea = None


def read_form(html, *, having, action=None):
    """The page's form that has a field named `having` (and posts to `action`, if given):
    {"action", "fields": [(name, value)], "text": names of free-text fields}."""
    reader = _FormReader()
    reader.feed(html)
    for form in reader.forms:
        if action is not None and urlsplit(form["action"]).path != action:
            continue
        if any(name == having for name, _value in form["fields"]):
            return form
    raise AssertionError(f"no form with a field {having!r} on the page")


def page_form(html, *, having):
    """The fields of the page's form that has a field named `having`, as a list of pairs."""
    return list(read_form(html, having=having)["fields"])
