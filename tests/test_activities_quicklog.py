"""Quick-log with organisations and contacts that are new, a follow-up task, any number of
rows without script; the full form's "add another"; the enquiry conversion's preselection."""

import re
from datetime import date, timedelta

import sqlalchemy as sa

from crm.activities import services as activity_services
from crm.activities.models import Activity, ActivityOrganisationRole, ActivityStatus, Task
from crm.core.models import AuditEntry
from crm.organisations.models import Contact, Organisation, OrganisationKind


def quick_data(**overrides):
    data = {
        "kind": "dialogue_meeting",
        "title": "Coffee",
        "start_date": date.today().isoformat(),
        "organisations-0-name": "",
        "organisations-0-kind": "company",
        "contacts-0-name": "",
        "contacts-0-email": "",
        "outcome": "",
        "task_title": "",
        "task_due_date": "",
        "task_assignee_id": "",
    }
    data.update(overrides)
    return data


def everything(db, model):
    return db.session.scalars(sa.select(model).order_by(model.id)).all()


def audit_actions(db, table):
    return db.session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.entity_type == table)
    ).all()


def test_a_new_organisation_and_contact_are_created_with_the_activity(client, db, signed_in):
    me = signed_in("member")
    response = client.post(
        "/activities/quick",
        data=quick_data(
            **{
                "organisations-0-name": "Nyberg Diagnostics",
                "organisations-0-kind": "company",
                "contacts-0-name": "Lisa Nyberg",
                "contacts-0-email": "Lisa@Nyberg.example",
                "outcome": "They want a workshop.",
            }
        ),
    )
    assert response.status_code == 302
    [activity] = everything(db, Activity)
    [organisation] = everything(db, Organisation)
    [contact] = everything(db, Contact)
    assert (organisation.name, organisation.kind) == (
        "Nyberg Diagnostics",
        OrganisationKind.COMPANY,
    )
    assert (contact.first_name, contact.last_name, contact.email) == (
        "Lisa",
        "Nyberg",
        "lisa@nyberg.example",
    )
    assert contact.organisation_id == organisation.id
    assert [link.organisation_id for link in activity.organisations] == [organisation.id]
    assert [item.id for item in activity.contacts] == [contact.id]
    assert [user.id for user in activity.staff] == [me.id]
    assert activity.status == ActivityStatus.COMPLETED
    # Each is audited as created by the person who logged.
    for table in ("organisations", "contacts", "activities"):
        assert audit_actions(db, table) == ["create"]
    page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert "Nyberg Diagnostics" in page and "Lisa Nyberg" in page


def test_a_similar_name_asks_first_and_the_existing_one_can_be_picked(
    client, db, signed_in, make_organisation
):
    signed_in("member")
    existing = make_organisation("Nyberg Diagnostics AB")
    data = quick_data(**{"organisations-0-name": "Nyberg Diagnostik", "outcome": "Kept"})

    response = client.post("/activities/quick", data=data)

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "There is no organisation called Nyberg Diagnostik." in page
    assert "A new organisation: Nyberg Diagnostik" in page
    assert f'value="{existing.id}"' in page and "Nyberg Diagnostics AB" in page
    # What was typed is kept; nothing is saved yet.
    assert 'value="Nyberg Diagnostik"' in page and "Kept</textarea>" in page
    assert everything(db, Activity) == []
    assert len(everything(db, Organisation)) == 1

    response = client.post(
        "/activities/quick", data={**data, "organisations-0-choice": str(existing.id)}
    )
    assert response.status_code == 302
    [activity] = everything(db, Activity)
    assert [link.organisation_id for link in activity.organisations] == [existing.id]
    assert len(everything(db, Organisation)) == 1


def test_a_similar_name_can_be_confirmed_as_new(client, db, signed_in, make_organisation):
    signed_in("member")
    make_organisation("Nyberg Diagnostics AB")
    data = quick_data(
        **{
            "organisations-0-name": "Nyberg Konsult",
            "organisations-0-kind": "other",
            "organisations-0-choice": "new",
        }
    )
    assert client.post("/activities/quick", data=data).status_code == 302
    names = {item.name: item.kind for item in everything(db, Organisation)}
    assert names == {
        "Nyberg Diagnostics AB": OrganisationKind.COMPANY,
        "Nyberg Konsult": OrganisationKind.OTHER,
    }
    [activity] = everything(db, Activity)
    assert [link.organisation.name for link in activity.organisations] == ["Nyberg Konsult"]


def test_a_similar_contact_asks_first(client, db, signed_in, make_contact):
    signed_in("member")
    known = make_contact("Karin", "Lund", email="karin.lund@example.se")
    data = quick_data(**{"contacts-0-name": "K Lund"})
    response = client.post("/activities/quick", data=data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "There is no contact called K Lund." in page
    assert "karin.lund@example.se" in page
    assert everything(db, Activity) == []

    data["contacts-0-choice"] = str(known.id)
    assert client.post("/activities/quick", data=data).status_code == 302
    [activity] = everything(db, Activity)
    assert [contact.id for contact in activity.contacts] == [known.id]
    assert len(everything(db, Contact)) == 1


def test_a_follow_up_task_is_created_about_the_activity(client, db, signed_in, make_user):
    me = signed_in("member")
    colleague = make_user(role="member", name="Colleague One")
    due = date.today() + timedelta(days=7)
    form = client.get("/activities/quick").get_data(as_text=True)
    assert "Follow-up task" in form
    assert f'<option selected value="{me.id}">' in form

    response = client.post(
        "/activities/quick",
        data=quick_data(
            task_title="Send the proposal",
            task_due_date=due.isoformat(),
            task_assignee_id=str(colleague.id),
        ),
    )
    assert response.status_code == 302
    [activity] = everything(db, Activity)
    [task] = everything(db, Task)
    assert (task.title, task.due_date, task.assignee_id) == ("Send the proposal", due, colleague.id)
    assert task.activity_id == activity.id
    assert "Send the proposal" in client.get(f"/activities/{activity.id}").get_data(as_text=True)


def test_bad_input_saves_nothing_and_keeps_what_was_typed(client, db, signed_in):
    signed_in("member")
    response = client.post(
        "/activities/quick",
        data=quick_data(
            title="",
            task_title="Call back",
            task_due_date="31/12",
            task_assignee_id="999999",
            **{
                "organisations-0-name": "Brand New Org",
                "contacts-0-name": "Per Persson",
                "contacts-0-email": "not an address",
            },
        ),
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Enter a title." in page
    assert "This is not a date." in page
    assert "Not a valid choice" in page or "Choose an active member" in page
    assert "Enter a valid e-mail address." in page
    assert 'value="Brand New Org"' in page and 'value="Call back"' in page
    for model in (Activity, Organisation, Contact, Task):
        assert everything(db, model) == []


def test_a_due_date_without_a_task_is_refused(client, db, signed_in):
    signed_in("member")
    response = client.post(
        "/activities/quick", data=quick_data(task_due_date=date.today().isoformat())
    )
    assert response.status_code == 200
    assert "Write the follow-up task, or leave the due date empty." in response.get_data(
        as_text=True
    )
    assert everything(db, Activity) == []


def test_add_another_rows_without_script(client, db, signed_in, make_organisation):
    signed_in("member")
    names = [make_organisation(f"Partner {number}").name for number in range(1, 6)]
    data = quick_data(**{"organisations-0-name": names[0], "title": "Kept title"})
    for row in range(1, 5):
        data["add_organisation"] = "Add another organisation"
        response = client.post("/activities/quick", data=data)
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert f'name="organisations-{row}-name"' in page
        assert 'value="Kept title"' in page
        del data["add_organisation"]
        data[f"organisations-{row}-name"] = names[row]
        data[f"organisations-{row}-kind"] = "company"
    assert everything(db, Activity) == []
    data["add_contact"] = "Add another contact"
    page = client.post("/activities/quick", data=data).get_data(as_text=True)
    assert 'name="contacts-1-name"' in page
    del data["add_contact"]

    assert client.post("/activities/quick", data=data).status_code == 302
    [activity] = everything(db, Activity)
    assert sorted(link.organisation.name for link in activity.organisations) == names


def test_the_full_form_gives_a_fifth_organisation(
    client, db, signed_in, make_activity, make_organisation
):
    signed_in("member")
    organisations = [make_organisation(f"Org {number}") for number in range(1, 6)]
    activity = make_activity("Workshop")
    activity_services.update_activity(
        activity,
        {
            "organisations": [
                (organisation, ActivityOrganisationRole.PARTICIPANT)
                for organisation in organisations[:4]
            ]
        },
        actor=None,
    )
    db.session.commit()

    page = client.get(f"/activities/{activity.id}/edit").get_data(as_text=True)
    # Four rows filled and an empty fifth, and a button for more.
    assert 'name="organisations-4-organisation" type="text" value=""' in page
    assert "Add another organisation" in page

    form = {
        name: value
        for name, value in _inputs(page).items()
        if not name.startswith("add_") and name != "submit"
    }
    form["add_organisation"] = "Add another organisation"
    page = client.post(f"/activities/{activity.id}/edit", data=form).get_data(as_text=True)
    assert 'name="organisations-5-organisation"' in page
    db.session.refresh(activity)
    assert len(activity.organisations) == 4

    del form["add_organisation"]
    form["organisations-4-organisation"] = "Org 5"
    form["staff"] = []
    response = client.post(f"/activities/{activity.id}/edit", data=form)
    assert response.status_code == 302
    db.session.refresh(activity)
    assert sorted(link.organisation.name for link in activity.organisations) == [
        f"Org {number}" for number in range(1, 6)
    ]


def _inputs(page):
    """name → value of the text inputs, selects and text areas of a page (roughly, as a
    browser would send them)."""
    values = {}
    for match in re.finditer(r"<input([^>]*)>", page):
        attrs = dict(re.findall(r'(\w[\w-]*)="([^"]*)"', match.group(1)))
        if "name" not in attrs or attrs.get("type") in ("checkbox", "radio", "submit"):
            continue
        values[attrs["name"]] = attrs.get("value", "")
    for match in re.finditer(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        selected = re.search(r'<option selected value="([^"]*)"', match.group(2))
        first = re.search(r'<option[^>]*value="([^"]*)"', match.group(2))
        values[match.group(1)] = (selected or first).group(1) if (selected or first) else ""
    for match in re.finditer(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S):
        values[match.group(1)] = match.group(2).strip()
    return values


# ---------------------------------------------------------------- converting an enquiry


def _convert_form(client, enquiry):
    page = client.get(f"/enquiries/{enquiry.id}").get_data(as_text=True)
    return page.split('id="convert-heading"', 1)[1]


def test_conversion_preselects_the_organisation_of_the_e_mail_domain(
    client, db, signed_in, make_organisation, make_contact, make_enquiry
):
    signed_in("coordinator")
    by_domains = make_organisation("Kvarnbo Genomik AB", email_domains=["kvarnbo.example"])
    by_website = make_organisation("Älvsby Bio AB", website="https://www.alvsby.example")
    by_people = make_organisation("Ekliden Pharma AB")
    make_contact("Per", "Ek", organisation=by_people, email="per.ek@ekliden.example")
    by_name = make_organisation("Norrsken Diagnostics AB")

    cases = [
        ("karin@kvarnbo.example", "Something else", by_domains),
        ("anna@lab.alvsby.example", None, by_website),
        ("ola@ekliden.example", None, by_people),
        ("someone@gmail.com", "Norrsken Diagnostics", by_name),
    ]
    for email, organisation_name, expected in cases:
        enquiry = make_enquiry(
            name="Sam Sender", email=email, organisation_name=organisation_name, message="Hej"
        )
        form = _convert_form(client, enquiry)
        assert f'value="{expected.name} (#{expected.id})"' in form, email
        assert re.search(
            r'<input checked[^>]*name="convert-organisation_mode"[^>]*value="existing"', form
        )


def test_conversion_does_not_guess_between_two(
    client, db, signed_in, make_organisation, make_enquiry
):
    signed_in("coordinator")
    one = make_organisation("One AB", website="https://shared.example")
    two = make_organisation("Two AB", website="https://shared.example/two")
    enquiry = make_enquiry(name="Sam Sender", email="sam@shared.example", message="Hej")
    form = _convert_form(client, enquiry)
    assert f"(#{one.id})" not in form and f"(#{two.id})" not in form


def test_a_choice_made_for_another_name_does_not_count(client, db, signed_in, make_organisation):
    signed_in("member")
    make_organisation("Nyberg Diagnostics AB")
    other = make_organisation("Kvarnbo Genomik AB")
    # The person picked Kvarnbo for "Kvarnbo Genomix", then changed the name.
    data = quick_data(
        **{"organisations-0-name": "Nyberg Diagnostik", "organisations-0-choice": str(other.id)}
    )
    response = client.post("/activities/quick", data=data)
    assert response.status_code == 200
    assert "There is no organisation called Nyberg Diagnostik." in response.get_data(as_text=True)
    assert everything(db, Activity) == []


def test_an_e_mail_address_is_not_a_new_contact_s_name(client, db, signed_in):
    signed_in("member")
    response = client.post(
        "/activities/quick", data=quick_data(**{"contacts-0-name": "someone@example.se"})
    )
    assert response.status_code == 200
    assert "No contact has the e-mail address someone@example.se." in response.get_data(
        as_text=True
    )
    assert everything(db, Contact) == []


def test_the_same_new_names_twice_make_one_record_each(client, db, signed_in):
    signed_in("member")
    data = quick_data(
        **{
            "organisations-0-name": "Brand New AB",
            "organisations-1-name": "Brand New AB",
            "organisations-1-kind": "company",
            "contacts-0-name": "Per Persson",
            "contacts-1-name": "Per Persson",
            "contacts-1-email": "",
        }
    )
    assert client.post("/activities/quick", data=data).status_code == 302
    assert [item.name for item in everything(db, Organisation)] == ["Brand New AB"]
    assert [item.full_name for item in everything(db, Contact)] == ["Per Persson"]
    [activity] = everything(db, Activity)
    assert len(activity.organisations) == 1 and len(activity.contacts) == 1


def test_viewers_cannot_quick_log_new_records(client, db, signed_in):
    signed_in("viewer")
    response = client.post(
        "/activities/quick", data=quick_data(**{"organisations-0-name": "Brand New AB"})
    )
    assert response.status_code == 403
    assert everything(db, Organisation) == []


def test_quick_log_in_swedish(client, db, signed_in):
    signed_in("member")
    client.post("/language/sv?next=/")
    page = client.get("/activities/quick").get_data(as_text=True)
    assert "Lägg till ytterligare en organisation" in page
    assert "Uppföljningsuppgift (valfritt)" in page
