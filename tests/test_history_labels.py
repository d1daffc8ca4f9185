"""Every history reads as a person would say it: field labels, enum labels, names for ids,
dates in the reader's language, yes/no, and never a secret or a raw field name."""

import re
from datetime import date

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from crm.auth import services as user_services
from crm.auth.models import Role
from crm.core import audit
from crm.core.models import AuditEntry
from crm.enquiries import services as enquiry_services
from crm.extensions import db as _db

ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")

# The records whose pages show a history (entity types written by crm.core.audit).
AUDITED = (
    "users",
    "organisations",
    "contacts",
    "agreements",
    "activities",
    "tasks",
    "enquiries",
    "documents",
)
# An e-mail's history only records its filing (state, enquiry, activity), described in
# crm.mailbox.services; its headers are never changed, so never shown.


def history_text(html):
    start = html.index('class="history"')
    return html[start : html.index("</section>", start)]


@pytest.mark.parametrize("entity_type", AUDITED)
def test_every_field_of_an_audited_record_has_a_label(app, entity_type):
    """A field added to a model without a label would show its raw name in the history."""
    mapper = next(m for m in _db.Model.registry.mappers if m.class_.__tablename__ == entity_type)
    with app.test_request_context(), force_locale("en"):
        for attribute in mapper.column_attrs:
            if attribute.key in audit.IGNORED_FIELDS or attribute.key == "id":
                continue
            description = audit._description(entity_type, attribute.key)
            assert description is not None, f"{entity_type}.{attribute.key} has no label"


def test_values_read_as_people_say_them(app, make_user):
    maja = make_user("member", name="Maja Member")
    with app.test_request_context(), force_locale("en"):
        assert audit.field_label("enquiries", "reference") == "Reference"
        assert audit.field_label("users", "password_changed_at") == "Password changed"
        assert audit.display_value("enquiries", "status", "new") == "New"
        assert audit.display_value("enquiries", "assignee_id", maja.id) == "Maja Member"
        assert audit.display_value("enquiries", "language", "sv") == "Swedish"
        assert audit.display_value("contacts", "do_not_contact", True) == "Yes"
        assert audit.display_value("tasks", "due_date", "2026-03-05") == "Mar 5, 2026"
        moment = audit.display_value("users", "password_changed_at", "2026-03-05T13:04:00+00:00")
        assert "Mar 5, 2026" in moment and "2:04" in moment  # Stockholm is UTC+1 in March
        assert audit.display_value("documents", "size_bytes", 2_500_000) == "2.5\u00a0MB"
        assert audit.display_value("users", "calendar_token", "abc123") == "(not shown)"
        assert audit.display_value("users", "password_hash", "***") == "(not shown)"
    with app.test_request_context(), force_locale("sv"):
        assert audit.field_label("enquiries", "reference") == "Referensnummer"
        assert audit.display_value("tasks", "due_date", "2026-03-05") == "5 mars 2026"
        assert audit.display_value("contacts", "do_not_contact", False) == "Nej"
        assert audit.display_value("documents", "size_bytes", 2_500_000) == "2,5\u00a0MB"


def test_enquiry_history_shows_labels_names_and_languages(
    db, client, signed_in, make_user, make_enquiry
):
    coordinator = signed_in(Role.COORDINATOR)
    maja = make_user("member", name="Maja Member")
    enquiry = make_enquiry(language="sv")
    enquiry_services.assign_enquiry(enquiry, maja, actor=coordinator)
    db.session.commit()

    html = history_text(client.get(f"/enquiries/{enquiry.id}").get_data(as_text=True))

    assert "Reference" in html and "Language" in html and "Swedish" in html
    assert "Assignee" in html and "Maja Member" in html
    assert ">reference<" not in html and "assignee_id" not in html
    assert not ISO_MOMENT.search(html) and not ISO_DAY.search(html)


def test_user_history_hides_secrets_and_formats_the_time(db, client, signed_in, make_user):
    admin = signed_in(Role.ADMIN)
    user = make_user("member", name="Pelle Person")
    user_services.change_password(user, "a brand new long passphrase 42", actor=admin)
    db.session.commit()
    entry = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "change_password")
    ).one()
    stored = entry.changes["password_changed_at"][1]

    html = history_text(client.get(f"/admin/users/{user.id}").get_data(as_text=True))

    assert "changed the password" in html
    assert "Password changed" in html and "password_changed_at" not in html
    assert "(not shown)" in html and "pbkdf2" not in html and "password_hash" not in html
    assert stored not in html and not ISO_MOMENT.search(html)


def test_swedish_history_is_swedish(db, client, login, make_enquiry):
    login(Role.COORDINATOR)
    client.post("/language/sv?next=/")
    enquiry = make_enquiry(language="en")

    html = history_text(client.get(f"/enquiries/{enquiry.id}").get_data(as_text=True))

    assert "Referensnummer" in html and "Engelska" in html and "Historik" in html


def test_dates_use_one_format_per_language(
    db, client, signed_in, make_agreement, make_organisation
):
    signed_in(Role.COORDINATOR)
    party = make_organisation("Partner University")
    agreement = make_agreement(
        "Joint research",
        parties=[party],
        start_date=date(2026, 1, 15),
        end_date=date(2027, 1, 14),
    )

    listing = client.get("/agreements/").get_data(as_text=True)
    detail = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)

    for html in (listing, detail):
        assert "Jan 15, 2026" in html
        assert "1/15/26" not in html and "2026-01-15<" not in html
