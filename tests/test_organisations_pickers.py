"""The picker fields: an organisation or contact chosen by "Name (#id)" or by its exact name."""

import pytest
from flask_wtf import FlaskForm

from crm.organisations.fields import ContactPickerField, OrganisationPickerField
from crm.organisations.models import Contact, LegalBasis


class PickerForm(FlaskForm):
    class Meta:
        csrf = False

    organisation = OrganisationPickerField("Organisation")
    contact = ContactPickerField("Contact")


def submit(app, **data):
    """(data, errors as text, rendered input) of each picker after posting `data`."""
    with app.test_request_context(method="POST", data=data, headers={"Accept-Language": "en"}):
        form = PickerForm()
        form.validate()
        return {
            name: (form[name].data, [str(error) for error in form[name].errors], form[name]())
            for name in ("organisation", "contact")
        }


@pytest.fixture
def organisation(make_organisation):
    """organisation(name, deleted=False): the shared factory's company."""
    return make_organisation


@pytest.fixture
def contact(make_contact):
    """contact(first_name, last_name, email=None, deleted=False), with consent."""

    def make(first_name, last_name, email=None, deleted=False):
        return make_contact(
            first_name, last_name, email=email, legal_basis=LegalBasis.CONSENT, deleted=deleted
        )

    return make


# ---------------------------------------------------------------- organisations


def test_name_with_id_from_the_type_ahead_list(app, organisation):
    roche = organisation("Roche AB")

    data, errors, html = submit(app, organisation=f"Roche AB (#{roche.id})")["organisation"]

    assert data == roche
    assert errors == []
    assert f'value="Roche AB (#{roche.id})"' in html


def test_id_wins_over_the_text_before_it(app, organisation):
    roche = organisation("Roche AB")
    organisation("Novartis AB")

    data, errors, _ = submit(app, organisation=f"Novartis AB (#{roche.id})")["organisation"]

    assert data == roche and errors == []


@pytest.mark.parametrize(
    "typed",
    [
        "Läkemedelsindustriföreningen",
        "läkemedelsindustriföreningen",
        "LAKEMEDELSINDUSTRIFORENINGEN",
        "  Lakemedelsindustriforeningen  ",
        "Läkemedelsindustriföreningen AB",
        "Läkemedelsindustriföreningen, Ltd.",
    ],
)
def test_exact_name_ignoring_case_accents_and_legal_suffix(app, organisation, typed):
    lif = organisation("Läkemedelsindustriföreningen")
    organisation("Läkemedelsindustriföreningens Service AB")

    data, errors, _ = submit(app, organisation=typed)["organisation"]

    assert data == lif
    assert errors == []


def test_ambiguous_name_asks_to_pick_from_the_list(app, organisation):
    first = organisation("Novartis AB")
    organisation("Novartis Inc")

    data, errors, html = submit(app, organisation="novartis")["organisation"]

    assert data is None
    assert errors == ["Several organisations are called novartis; pick one from the list."]
    assert 'value="novartis"' in html  # what was typed stays in the field
    # Picking one of them from the list settles it.
    data, errors, _ = submit(app, organisation=f"Novartis AB (#{first.id})")["organisation"]
    assert data == first and errors == []


def test_unknown_name_is_an_error(app, organisation):
    organisation("Roche AB")

    data, errors, html = submit(app, organisation="Rochester <Labs>")["organisation"]

    assert data is None
    assert errors == ["There is no organisation called Rochester <Labs>."]
    assert "Rochester &lt;Labs&gt;" in html


def test_deleted_organisation_is_not_accepted(app, organisation):
    gone = organisation("Gone AB", deleted=True)

    for typed in [f"Gone AB (#{gone.id})", "Gone AB", f"(#{gone.id})"]:
        data, errors, _ = submit(app, organisation=typed)["organisation"]
        assert data is None, typed
        assert len(errors) == 1, typed


def test_unknown_id_falls_back_to_the_name(app, organisation):
    roche = organisation("Roche AB")

    data, errors, _ = submit(app, organisation="Roche AB (#999)")["organisation"]

    assert data == roche and errors == []


def test_id_beyond_the_integer_range_is_a_field_error(app, organisation):
    organisation("Roche AB")

    data, errors, _ = submit(app, organisation="Roche AB (#99999999999999999999)")["organisation"]

    assert data is None or data.name == "Roche AB"


@pytest.mark.parametrize("typed", ["", "   "])
def test_empty_is_none(app, organisation, typed):
    organisation("Roche AB")

    result = submit(app, organisation=typed, contact=typed)

    assert result["organisation"][:2] == (None, [])
    assert result["contact"][:2] == (None, [])


def test_missing_from_the_form_is_none(app):
    result = submit(app)

    assert result["organisation"][:2] == (None, [])
    assert result["contact"][:2] == (None, [])


def test_renders_a_text_input_tied_to_a_datalist(app):
    _, _, html = submit(app)["organisation"]

    assert 'list="organisation-options"' in html
    assert 'data-typeahead="/organisations/typeahead"' in html
    assert 'autocomplete="off"' in html
    assert '<datalist id="organisation-options"></datalist>' in html


# ---------------------------------------------------------------- contacts


def test_contact_by_name_with_id(app, contact):
    asa = contact("Åsa", "Öberg", "asa@lif.se")

    data, errors, html = submit(app, contact=f"Åsa Öberg (#{asa.id})")["contact"]

    assert data == asa and errors == []
    assert f'value="Åsa Öberg (#{asa.id})"' in html
    assert 'data-typeahead="/contacts/typeahead"' in html


@pytest.mark.parametrize("typed", ["Åsa Öberg", "asa oberg", "ASA@LIF.SE"])
def test_contact_by_name_or_email(app, contact, typed):
    asa = contact("Åsa", "Öberg", "asa@lif.se")
    contact("Bo", "Berg", "bo@lif.se")

    data, errors, _ = submit(app, contact=typed)["contact"]

    assert data == asa and errors == []


def test_ambiguous_and_unknown_contacts(app, contact):
    contact("Anna", "Andersson")
    contact("Anna", "Berg")

    data, errors, _ = submit(app, contact="anna")["contact"]
    assert data is None
    assert errors == ["Several contacts match anna; pick one from the list."]

    data, errors, _ = submit(app, contact="Nobody Known")["contact"]
    assert data is None
    assert errors == ["There is no contact called Nobody Known."]


def test_deleted_contact_is_not_accepted(app, db, contact):
    gone = contact("Gone", "Person", "gone@example.org", deleted=True)

    for typed in [f"Gone Person (#{gone.id})", "Gone Person", "gone@example.org"]:
        data, errors, _ = submit(app, contact=typed)["contact"]
        assert data is None, typed
        assert len(errors) == 1, typed
    assert db.session.get(Contact, gone.id).deleted_at is not None
