"""NUL characters: PostgreSQL refuses them in text, so a `%00` in a form or a search must never
end in a server error (found by this suite; crm/core/database.py now drops NUL)."""

import pytest
from werkzeug.datastructures import MultiDict

from crm.activities.models import Activity
from crm.organisations.models import Contact, Organisation
from tests.security.conftest import CSRF_ON, read_form, sign_in

pytestmark = pytest.mark.config(**CSRF_ON)

FORMS = [
    ("/organisations/{organisation_id}/edit", "name"),
    ("/contacts/{contact_id}/edit", "last_name"),
    ("/activities/{activity_id}/edit", "title"),
    ("/agreements/{agreement_id}/edit", "title"),
    ("/tasks/{task_id}/edit", "title"),
    ("/admin/settings", "office_name_sv"),
]
SEARCHES = [
    "/search/?q=a%00b",
    "/organisations/?q=a%00b",
    "/contacts/?q=a%00b",
    "/activities/?q=a%00b",
    "/agreements/?q=a%00b",
    "/enquiries/?q=a%00b",
    "/tasks/?q=a%00b",
    "/organisations/typeahead?q=a%00b",
    "/contacts/typeahead?q=a%00b",
    "/reports/organisations/?q=a%00b",
]


def test_nul_in_any_free_text_field_is_dropped_not_a_server_error(client, demo, db):
    token = sign_in(client, demo.users["admin"].email)

    for path, having in FORMS:
        url = path.format(**demo.values)
        form = read_form(client.get(url).get_data(as_text=True), having=having)
        data = MultiDict(
            [
                (name, f"Nul\x00{value}" if name == having else value)
                for name, value in form["fields"]
                if name != "csrf_token"
            ]
        )
        data["csrf_token"] = token

        response = client.post(url, data=data)

        assert response.status_code in (200, 302), (url, response.status_code)

    db.session.expire_all()
    for model, key in ((Organisation, "organisation_id"), (Contact, "contact_id")):
        record = db.session.get(model, demo.values[key])
        assert all("\x00" not in str(value) for value in vars(record).values()), model
    assert db.session.get(Activity, demo.values["activity_id"]).title.startswith("Nul")


def test_nul_in_a_search_is_not_a_server_error(client, demo):
    sign_in(client, demo.users["admin"].email)

    for url in SEARCHES:
        response = client.get(url)

        assert response.status_code == 200, (url, response.status_code)
