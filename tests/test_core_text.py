"""Normalising names, organisation numbers, websites and domains."""

import pytest

from crm.core.text import (
    InvalidOrgNumber,
    fold,
    luhn_valid,
    name_key,
    normalise_domain,
    normalise_org_number,
    normalise_website,
    search_terms,
    website_domain,
)


def test_fold_removes_case_and_accents():
    assert fold("Läkemedelsindustriföreningen") == "lakemedelsindustriforeningen"
    assert fold("  ÅSA   Öberg ") == "asa oberg"
    assert fold(None) == ""


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Roche AB", "roche"),
        ("Roche AB (publ)", "ROCHE, Inc."),
        ("Novartis Sverige AB", "novartis sverige"),
        ("Smith & Nephew plc", "Smith and Nephew"),
        ("Åbo Akademi", "abo akademi"),
    ],
)
def test_names_of_the_same_organisation_share_a_key(first, second):
    assert name_key(first) == name_key(second)


def test_different_names_have_different_keys():
    assert name_key("Roche AB") != name_key("Novartis AB")
    # A name made only of legal words keeps them rather than becoming empty.
    assert name_key("AB") == "ab"


def test_search_terms_are_folded_words():
    assert search_terms("  Läkemedel   Stockholm ") == ["lakemedel", "stockholm"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("556677-8899", "556677-8899"),
        ("5566778899", "556677-8899"),
        ("16556677-8899", "556677-8899"),
        (" 556677 8899 ", "556677-8899"),
        ("", None),
        (None, None),
    ],
)
def test_valid_org_numbers_are_normalised(value, expected):
    assert normalise_org_number(value) == expected


@pytest.mark.parametrize("value", ["556677-8898", "5566778890"])
def test_a_wrong_check_digit_is_refused(value):
    with pytest.raises(InvalidOrgNumber) as error:
        normalise_org_number(value)
    assert str(error.value) == "check_digit"


@pytest.mark.parametrize("value", ["55667-8899", "556677-889", "abcdef-ghij", "556677/8899"])
def test_a_bad_format_is_refused(value):
    with pytest.raises(InvalidOrgNumber) as error:
        normalise_org_number(value)
    assert str(error.value) == "format"


def test_luhn():
    assert luhn_valid("5566778899")
    assert not luhn_valid("5566778898")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Example.COM/", "https://example.com"),
        ("http://www.example.se/about/", "http://www.example.se/about"),
        ("https://lif.se", "https://lif.se"),
        ("", None),
    ],
)
def test_websites_are_normalised(value, expected):
    assert normalise_website(value) == expected


@pytest.mark.parametrize("value", ["not a site", "ftp://example.com", "javascript:alert(1)"])
def test_non_websites_are_refused(value):
    with pytest.raises(ValueError):
        normalise_website(value)


def test_website_domain_ignores_www():
    assert website_domain("https://www.Roche.se/path") == "roche.se"
    assert website_domain(None) is None


@pytest.mark.parametrize("value", ["@Lif.se", "www.lif.se", "https://lif.se/", " LIF.SE "])
def test_domains_are_normalised(value):
    assert normalise_domain(value) == "lif.se"


@pytest.mark.parametrize("value", ["", "lif", "lif..se", "exa mple.se"])
def test_non_domains_are_refused(value):
    with pytest.raises(ValueError):
        normalise_domain(value)
