"""Lists take any page number and id in the URL without failing."""

import pytest

from crm.core.records import parse_id
from crm.organisations import services


@pytest.mark.parametrize("page", ["99999999999999999999", "-3", "abc", "0"])
def test_any_page_number_gives_a_page(client, login, page):
    login("viewer")
    response = client.get(f"/organisations/?page={page}")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12", 12), (12, 12), ("0", None), ("-1", None), ("2147483648", None), ("1e3", None),
     ("", None), (None, None), ("99999999999999999999", None), (True, None)],
)  # fmt: skip
def test_parse_id(value, expected):
    assert parse_id(value) == expected


def test_tags_that_fold_to_the_same_word_are_one_tag(db, make_user):
    admin = make_user("admin")
    organisation = services.create_organisation(
        {"kind": "company", "name": "Onco AB", "tags": ["Oncology", "oncology", " ONCOLOGY "]},
        actor=admin,
    )
    db.session.commit()
    assert [tag.name for tag in organisation.tags] == ["oncology"]
