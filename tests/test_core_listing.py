"""Lists take any page number and id in the URL without failing."""

import re

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


def test_deep_pages_found_by_id_first_hold_the_same_rows_in_the_same_order(
    app, client, login, db, monkeypatch
):
    from crm.core import listing
    from crm.organisations.models import Organisation, OrganisationKind

    # Names that sort differently from their ids, and ties broken by id. Bare rows on purpose:
    # only the listing's paging is under test, and 60 service calls would only slow it down.
    for number in range(60):
        name = f"Org {(number * 37) % 20:02d}"
        db.session.add(Organisation(kind=OrganisationKind.COMPANY, name=name))
    db.session.commit()
    expected = [
        organisation.id
        for organisation in sorted(
            db.session.query(Organisation).all(), key=lambda org: (org.name, org.id)
        )
    ]
    login("viewer")

    def ids_on(page):
        html = client.get(f"/organisations/?page={page}").get_data(as_text=True)
        return [int(found) for found in re.findall(r'href="/organisations/(\d+)"', html)]

    plain = [ids_on(page) for page in (1, 2, 3)]
    monkeypatch.setattr(listing, "DEFERRED_JOIN_OFFSET", 0)
    deferred = [ids_on(page) for page in (1, 2, 3)]

    assert deferred == plain
    assert [row_id for page in deferred for row_id in page] == expected


@pytest.mark.config(LIST_COUNT_LIMIT=20)
def test_a_list_counts_up_to_the_limit_and_pages_on_past_it(client, signed_in, make_organisation):
    """Past LIST_COUNT_LIMIT a list says "20+" instead of counting every row, and its pages
    go on as long as there are rows."""
    signed_in("viewer")
    for number in range(45):
        make_organisation(f"Company {number:02d} AB")

    first = client.get("/organisations/").get_data(as_text=True)
    assert "20+ organisations" in first
    assert "20+ in all · page 1 of 2+" in first
    assert 'href="/organisations/?page=2" rel="next"' in first

    second = client.get("/organisations/?page=2").get_data(as_text=True)
    assert "Company 25 AB" in second and "Company 44 AB" in second
    assert 'rel="next"' not in second

    # Under the limit the count is exact, in the list and in the bulk bar.
    filtered = client.get("/organisations/?q=company+0").get_data(as_text=True)
    assert "10 organisations" in filtered
    assert "page 1 of" not in filtered
