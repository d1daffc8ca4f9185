"""Quick-log with an organisation that is not in the register yet, on a desk and on a phone:
the similar one is offered first, the person confirms the new one, adds a contact row
without script, and a follow-up task; everything is saved in one go."""

import re

import pytest
import sqlalchemy as sa

from crm.activities.models import Activity, Task
from crm.organisations import services
from crm.organisations.models import Contact, Organisation, OrganisationKind
from tests.browser.helpers import sign_in

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright").expect

pytestmark = pytest.mark.config(WTF_CSRF_ENABLED=True)

DESK = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
EXISTING = "Nyberg Diagnostics AB"
NEW = "Nyberg Konsult"
TITLE = "Lunch with Nyberg Konsult"


@pytest.fixture
def member(make_user, db):
    services.create_organisation({"kind": OrganisationKind.COMPANY, "name": EXISTING}, actor=None)
    db.session.commit()
    return make_user("member", email="maja.member@example.org", name="Maja Member")


def form_fits(page, width):
    """The form's fields and buttons stay inside the viewport's width."""
    right = page.evaluate(
        """() => Math.max(...[...document.querySelectorAll(
            'form.activity-quick input:not(.visually-hidden), form.activity-quick select,'
            + ' form.activity-quick textarea, form.activity-quick button:not(.visually-hidden)'
        )].map((element) => element.getBoundingClientRect().right))"""
    )
    return right <= width


@pytest.mark.parametrize("viewport", [DESK, PHONE], ids=["1366x900", "390x844"])
def test_quick_log_with_a_new_organisation(page, db, member, viewport):
    page.set_viewport_size(viewport)
    sign_in(page, member)
    page.goto("/activities/quick")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log an activity")
    assert form_fits(page, viewport["width"])

    page.get_by_label("Title").fill(TITLE)
    first = page.get_by_role("group", name="Organisation 1")
    first.get_by_label("Organisation", exact=True).fill(NEW)
    first.get_by_label("Kind, if it is new").select_option("other")
    page.get_by_role("group", name="Contact 1").get_by_label("Contact", exact=True).fill(
        "Lisa Berg"
    )
    page.get_by_role("button", name="Add another contact").click()

    # The form comes back with a second contact row and everything as typed.
    expect(page.get_by_label("Title")).to_have_value(TITLE)
    second = page.get_by_role("group", name="Contact 2")
    second.get_by_label("Contact", exact=True).fill("Olle Strand")
    second.get_by_label("E-mail, if it is new").fill("olle@nyberg-konsult.example")
    page.get_by_label("Follow-up task").fill("Send the workshop programme")
    page.get_by_label("Due date").fill("2030-01-15")
    page.get_by_role("button", name="Save", exact=True).click()

    # A similar organisation exists: the person is asked which one is meant.
    expect(page.get_by_text(f"There is no organisation called {NEW}.").first).to_be_visible()
    choice = page.get_by_role("group", name="Which organisation do you mean?")
    expect(choice.get_by_label(EXISTING)).to_be_visible()
    assert form_fits(page, viewport["width"])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 0
    choice.get_by_label(f"A new organisation: {NEW}").check()
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page).to_have_url(re.compile(r"/activities/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.get_by_role("link", name=NEW, exact=True).first).to_be_visible()
    expect(page.get_by_text("Send the workshop programme").first).to_be_visible()

    db.session.expire_all()
    organisation = db.session.scalar(sa.select(Organisation).where(Organisation.name == NEW))
    assert organisation.kind == OrganisationKind.OTHER
    contacts = db.session.scalars(sa.select(Contact).order_by(Contact.last_name)).all()
    assert [(c.full_name, c.organisation_id) for c in contacts] == [
        ("Lisa Berg", organisation.id),
        ("Olle Strand", organisation.id),
    ]
    [task] = db.session.scalars(sa.select(Task)).all()
    assert task.assignee_id == member.id

    page.get_by_role("link", name=NEW, exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(NEW)
