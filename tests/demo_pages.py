"""The demo data set with the ids its pages need, shared by the security suite's role matrix
(tests/security) and the browser test that opens every page of it (tests/browser).

`demo` is a fixture: a conftest imports it to offer it to the tests below its folder.
"""

import io
import re
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa
from PIL import Image
from werkzeug.datastructures import FileStorage

from crm import demo_data
from crm.activities.models import Activity, Task
from crm.agreements.models import Agreement
from crm.auth import api_tokens
from crm.auth.models import ApiScope, User
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
from crm.webhooks import services as webhook_services
from crm.webhooks.models import DeliveryStatus

# Endpoints that need the record they belong to in the query string.
OWNER_QUERY = {"documents.upload"}


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
    # A personal API token of the admin's: only the admin may revoke it on their own page.
    api_token, _raw = api_tokens.create_api_token(
        admin, name="Website sync", scope=ApiScope.READ, days=90, actor=admin
    )
    webhook, delivery = _webhook_with_a_failed_delivery(app, admin)
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
        "token_id": api_token.id,
        "list_name": "organisations",
        "webhook_id": webhook.id,
        "delivery_id": delivery.id,
    }
    return Demo(
        values=values,
        users=users,
        other_enquiry_id=other_enquiry_id,
        notice_version=notice.version,
    )


def _webhook_with_a_failed_delivery(app, admin):
    """A webhook whose page offers every action: a failed delivery (to retry) besides the
    events. Its host is under .invalid, which never resolves, so nothing is ever sent; it
    is registered as on an intranet (WEBHOOKS_ALLOW_PRIVATE), where no name is looked up."""
    allowed = app.config.get("WEBHOOKS_ALLOW_PRIVATE")
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = True
    try:
        webhook = webhook_services.create_webhook(
            {
                "url": "https://hooks.example.invalid/crm",
                "description": "Chat room of the office",
                "events": ["enquiry.received", "enquiry.assigned"],
                "active": True,
            },
            actor=admin,
        )
        _db.session.flush()
        delivery = webhook_services.send_test_event(webhook, actor=admin)
    finally:
        app.config["WEBHOOKS_ALLOW_PRIVATE"] = allowed
    delivery.status = DeliveryStatus.FAILED
    delivery.attempts = 8
    delivery.response_status = 503
    delivery.response_body = "<h1>Service unavailable</h1>"
    delivery.last_error = "HTTP 503"
    return webhook, delivery


def _tiny_png():
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (11, 85, 99)).save(out, format="PNG")
    return out.getvalue()


def is_api_rule(rule):
    """A REST API operation (its OpenAPI document is a public page like others)."""
    return rule.rule.startswith("/api/v1/") and rule.endpoint != "api.openapi_json"


def staff_rules(app, methods=("GET",)):
    """URL rules of the app for the given methods, in a stable order. Static files are left
    out, and so is the REST API (/api/v1/): it takes a bearer token, never the session, and
    has its own permission table (tests/security/test_api_permissions.py)."""
    rules = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and set(methods) & set(rule.methods) and not is_api_rule(rule)
    ]
    return sorted(rules, key=lambda rule: (rule.rule, rule.endpoint))
