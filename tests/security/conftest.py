"""Security suite: the real app with CSRF on, the demo data set, and helpers that fill the URL map.

Every test module here sets `pytestmark = pytest.mark.config(WTF_CSRF_ENABLED=True, ...)`, so a
POST without the token is refused exactly as in production.
"""

import io
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from PIL import Image
from werkzeug.datastructures import FileStorage

from crm import demo_data
from crm.activities.models import Activity, Task
from crm.agreements.models import Agreement
from crm.auth.models import User
from crm.core.images import store_image
from crm.documents import services as document_services
from crm.documents.models import Document, DocumentVersion
from crm.enquiries.models import Enquiry, ReplyTemplate
from crm.extensions import db as _db
from crm.mail import services as mail_services
from crm.mailbox.routing import file_message
from crm.organisations.models import Contact, Membership, Organisation
from crm.privacy import services as privacy_services
from crm.saved_views import services as saved_view_services
from crm.settings import services as settings

CSRF_ON = {"WTF_CSRF_ENABLED": True}

# Endpoints that need the record they belong to in the query string.
OWNER_QUERY = {"documents.upload"}

_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


@dataclass
class Demo:
    """Ids from the demo data set, by the name a URL rule gives its variable."""

    values: dict = field(default_factory=dict)
    users: dict = field(default_factory=dict)
    # Not a URL variable: an enquiry the demo member may not read.
    other_enquiry_id: int | None = None
    notice_version: int | None = None

    def url_for_endpoint(self, rule):
        """Like url(), with what a few endpoints need besides their path variables."""
        if rule.endpoint == "privacy.version":
            return self.url(rule, version=self.notice_version)
        url = self.url(rule)
        if url is not None and rule.endpoint in OWNER_QUERY:
            url += f"?activity_id={self.values['activity_id']}"
        return url

    def url(self, rule, **overrides):
        """The rule's path with its variables filled from the demo data; None if one is unknown."""
        values = {}
        for name in rule.arguments:
            value = overrides.get(name, self.values.get(name))
            if value is None:
                return None
            values[name] = value
        path = rule.rule
        for name, value in values.items():
            path = re.sub(rf"<(?:[a-z]+:)?{name}>", str(value), path)
        return path


def _first(model, *where):
    query = sa.select(model.id).order_by(model.id).limit(1)
    for condition in where:
        query = query.where(condition)
    return _db.session.scalar(query)


@pytest.fixture
def demo(app, db):
    """The demo data set, committed; ids to fill URLs with, and the demo users by role name."""
    demo_data.load()
    db.session.commit()
    users = {
        "admin": db.session.scalar(sa.select(User).where(User.email == demo_data.ADMIN)),
        "coordinator": db.session.scalar(
            sa.select(User).where(User.email == demo_data.COORDINATOR)
        ),
        "member": db.session.scalar(sa.select(User).where(User.email == demo_data.MEMBER)),
        "viewer": db.session.scalar(sa.select(User).where(User.email == demo_data.VIEWER)),
    }
    member = users["member"]
    admin = users["admin"]
    if admin.calendar_token is None:
        admin.calendar_token = "t" * 40
    enquiry_id = _first(Enquiry, Enquiry.assignee_id == member.id, Enquiry.deleted_at.is_(None))
    if enquiry_id is None:
        enquiry = db.session.get(Enquiry, _first(Enquiry, Enquiry.deleted_at.is_(None)))
        enquiry.assignee_id = member.id
        enquiry_id = enquiry.id
    other_enquiry_id = _first(
        Enquiry,
        sa.or_(Enquiry.assignee_id.is_(None), Enquiry.assignee_id != member.id),
        Enquiry.deleted_at.is_(None),
    )
    document_id = _first(Document, Document.deleted_at.is_(None))
    # An earlier file version, an outbox message and a privacy notice: the demo has none.
    document = db.session.get(Document, document_id)
    replacement = FileStorage(io.BytesIO(demo_data.simple_pdf(["Version two"])), "v2.pdf")
    document_services.replace_file(document, replacement, actor=admin)
    version = db.session.scalar(
        sa.select(DocumentVersion.version)
        .where(DocumentVersion.document_id == document_id)
        .order_by(DocumentVersion.version)
        .limit(1)
    )
    message = mail_services.queue_message(
        kind="test", recipient="someone@example.org", subject="Hello", body_text="Hello"
    )
    notice = privacy_services.publish_notice(body_sv="Integritet", body_en="Privacy", actor=admin)
    # An unmatched e-mail from the office mailbox: an automatic one, which no rule files.
    email = file_message(
        b"From: Robot <robot@example.net>\r\nTo: office@example.org\r\n"
        b"Subject: Out of office\r\nAuto-Submitted: auto-replied\r\n"
        b"Message-ID: <demo-unmatched@example.net>\r\n\r\nAway.\r\n"
    )
    # The office's logo: a stored image the image route serves to everyone.
    logo = store_image(io.BytesIO(_tiny_png()), purpose="logo")
    settings.put("logo_image_id", logo.id)
    # A saved view the admin shares: others may use it, only the admin may delete it.
    view = saved_view_services.save_view(
        admin, "organisations", name="Companies", query="kind=company", shared=True
    )
    db.session.commit()
    values = {
        "organisation_id": _first(Organisation, Organisation.deleted_at.is_(None)),
        "contact_id": _first(Contact, Contact.deleted_at.is_(None)),
        "activity_id": _first(Activity, Activity.deleted_at.is_(None)),
        "agreement_id": _first(Agreement, Agreement.deleted_at.is_(None)),
        "document_id": document_id,
        "version": version,
        "enquiry_id": enquiry_id,
        "task_id": _first(Task),
        "membership_id": _first(Membership),
        "message_id": message.id,
        "email_id": email.id,
        "user_id": member.id,
        "token": admin.calendar_token,
        "kind": "contacts",
        "record_id": _first(Contact, Contact.deleted_at.is_(None)),
        "language": "en",
        "template_id": _first(ReplyTemplate),
        "image_id": logo.id,
        "digest": logo.digest,
        "ext": "png",
        "colour": "0b5563",
        "key": "default",  # a single-sign-on provider's key
        "view_id": view.id,
        "list_name": "organisations",
    }
    return Demo(
        values=values,
        users=users,
        other_enquiry_id=other_enquiry_id,
        notice_version=notice.version,
    )


def _tiny_png():
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (11, 85, 99)).save(out, format="PNG")
    return out.getvalue()


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


def staff_rules(app, methods=("GET",)):
    """URL rules of the app for the given methods, static files left out, in a stable order."""
    rules = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and set(methods) & set(rule.methods)
    ]
    return sorted(rules, key=lambda rule: (rule.rule, rule.endpoint))


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
