"""Normalising names, numbers, websites and domains, so search and duplicate checks agree."""

import re
import unicodedata
from urllib.parse import urlsplit

# Legal-form words ignored when comparing organisation names ("Roche AB" is "Roche").
LEGAL_SUFFIXES = {
    "ab", "publ", "aktiebolag", "hb", "kb", "ek", "för", "for", "ltd", "limited", "inc",
    "incorporated", "corp", "corporation", "co", "llc", "plc", "gmbh", "ag", "sa", "sas",
    "srl", "spa", "bv", "nv", "as", "asa", "oy", "oyj", "aps", "a/s", "lp", "llp",
}  # fmt: skip

_NOT_WORD = re.compile(r"[^\w]+")
_ORG_NUMBER = re.compile(r"^(?:(?:16|19|20)?(\d{6})-?(\d{4}))$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def fold(text):
    """Lower case without accents or extra spaces: "Läkemedel  AB" → "lakemedel ab"."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", str(text))
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(stripped.casefold().split())


def name_key(name):
    """What two names of the same organisation share: no case, accents, punctuation or AB/Ltd."""
    words = _NOT_WORD.sub(" ", fold(name).replace("&", " and ")).split()
    kept = [word for word in words if word not in LEGAL_SUFFIXES]
    return " ".join(kept or words)


def search_terms(query):
    """The folded words of a search box query, each to be matched somewhere."""
    return fold(query).split()[:8]


def luhn_valid(digits):
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


class InvalidOrgNumber(ValueError):
    pass


def normalise_org_number(value):
    """ "5566778899", "556677-8899" or "16556677-8899" → "556677-8899"; None when empty.

    Raises InvalidOrgNumber("format") or InvalidOrgNumber("check_digit").
    """
    value = (value or "").strip().replace(" ", "")
    if not value:
        return None
    match = _ORG_NUMBER.match(value)
    if not match:
        raise InvalidOrgNumber("format")
    digits = match.group(1) + match.group(2)
    if not luhn_valid(digits):
        raise InvalidOrgNumber("check_digit")
    return f"{digits[:6]}-{digits[6:]}"


def normalise_website(value):
    """Normalise a website: "Example.COM/" → "https://example.com"; None when empty.

    Raises ValueError when the value is not a web address.
    """
    value = (value or "").strip()
    if not value:
        return None
    if "://" not in value:
        value = "https://" + value
    parts = urlsplit(value)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not _DOMAIN.match(host):
        raise ValueError("not a web address")
    path = parts.path.rstrip("/")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{path}"


def website_domain(website):
    """The registrable-looking host of a website, without "www.", for duplicate checks."""
    if not website:
        return None
    host = (urlsplit(website).hostname or "").lower()
    return host.removeprefix("www.") or None


def email_domain(email):
    """The lower-case domain of an e-mail address: "Anna@Roche.COM" → "roche.com"."""
    if not email or "@" not in email:
        return None
    return email.rsplit("@", 1)[1].strip().lower() or None


def normalise_domain(value):
    """ "@Lif.se", "www.lif.se" or "https://lif.se/" → "lif.se"; ValueError when not a domain."""
    value = (value or "").strip().lower().lstrip("@")
    if "://" in value:
        value = urlsplit(value).hostname or ""
    value = value.strip("/").removeprefix("www.")
    if not _DOMAIN.match(value):
        raise ValueError("not a domain")
    return value
