"""The Swedish catalogue covers every user-facing string, and the app really serves it.

The messages are extracted from the source at test time as `make extract-messages` does
(except that a template the extractor cannot parse is an error, not silently skipped), so a
string added without a translation fails here rather than showing up in English.
"""

import os
import re
import tempfile
from pathlib import Path

import pytest
from babel.messages import frontend
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from markupsafe import escape

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MAPPING_FILE = PROJECT_ROOT / "babel.cfg"
TRANSLATIONS = PROJECT_ROOT / "crm" / "translations"
SV_PO = TRANSLATIONS / "sv" / "LC_MESSAGES" / "messages.po"
SV_MO = SV_PO.with_suffix(".mo")

# The same keywords as `make extract-messages` (-k _l -k lazy_gettext) on top of Babel's.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}

PLACEHOLDER = re.compile(r"%\([^)]*\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")


def _parse_mapping(fileobj, filename):
    # Babel 2.14 added parse_mapping_cfg and deprecated parse_mapping.
    parse = getattr(frontend, "parse_mapping_cfg", None)
    if parse is not None:
        return parse(fileobj, filename)
    return frontend.parse_mapping(fileobj, filename)


def _read_catalogue():
    with SV_PO.open("rb") as fileobj:
        return read_po(fileobj, locale="sv")


def _extracted_messages():
    """(msgid, context) -> "file:line" of the first place each message is used."""
    with MAPPING_FILE.open(encoding="utf-8") as fileobj:
        method_map, options_map = _parse_mapping(fileobj, str(MAPPING_FILE))
    for pattern, method in method_map:
        if method == "jinja2":
            # Jinja's extractor skips a template it cannot parse without a word; a template
            # skipped that way would silently lose all its strings from the catalogue.
            options_map.setdefault(pattern, {}).setdefault("silent", "false")

    current = []

    def note_file(filename, method, options):
        current[:] = [filename, method]

    found = {}
    failure = None
    try:
        for filename, lineno, message, _comments, context in extract_from_dir(
            str(PROJECT_ROOT),
            method_map,
            options_map,
            keywords=KEYWORDS,
            callback=note_file,
        ):
            msgid = message[0] if isinstance(message, tuple | list) else message
            if msgid:
                found.setdefault((msgid, context), f"{filename}:{lineno}")
    except Exception as error:  # reported below, outside the handler, without a chained trace
        filename, method = current or ("?", "?")
        failure = f"{filename} cannot be parsed for message extraction ({method}): {error}"
    if failure:
        pytest.fail(
            f"{failure}\n"
            "`make extract-messages` silently skips such a file, so its strings never reach "
            "the catalogue. If a template uses a Jinja extension the app enables (e.g. "
            "jinja2.ext.do), add `extensions = jinja2.ext.do` (comma-separated) under its "
            "section in babel.cfg, then run `make extract-messages` and translate.",
            pytrace=False,
        )
    return found


def _strings(value):
    if isinstance(value, tuple | list):
        return list(value)
    return [value]


def _placeholders(text):
    return sorted(PLACEHOLDER.findall(text or ""))


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogues():
    """Compile the .mo the app loads if it is missing or older than the .po.

    `make test` compiles first; this lets a plain `pytest` run pass too.
    """
    if SV_MO.exists() and SV_MO.stat().st_mtime >= SV_PO.stat().st_mtime:
        return
    catalogue = _read_catalogue()
    # Write next to the target and rename, so a concurrent reader never sees half a file.
    fd, tmp_name = tempfile.mkstemp(dir=SV_MO.parent, suffix=".mo.tmp")
    try:
        with os.fdopen(fd, "wb") as fileobj:
            write_mo(fileobj, catalogue)
        os.chmod(tmp_name, 0o644)  # mkstemp makes it private; pybabel compile would not
        os.replace(tmp_name, SV_MO)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    # Flask-Babel caches loaded translations process-wide; drop anything cached before the
    # .mo existed.
    from crm.extensions import babel

    domain = vars(babel).get("domain_instance")
    if domain is not None:
        domain.cache.clear()


def test_every_source_message_has_a_swedish_translation():
    catalogue = _read_catalogue()
    extracted = _extracted_messages()
    assert extracted, "no messages were extracted; is babel.cfg still at the project root?"

    missing = []
    for (msgid, context), location in sorted(extracted.items(), key=lambda item: item[1]):
        entry = catalogue.get(msgid, context=context)
        if entry is None:
            problem = "not in the catalogue"
        elif entry.fuzzy:
            problem = "marked fuzzy"
        elif not all(_strings(entry.string)):
            problem = "untranslated"
        else:
            continue
        missing.append(f"  {msgid!r} ({location}): {problem}")

    assert not missing, (
        f"{len(missing)} message(s) lack a Swedish translation in "
        f"{os.path.relpath(SV_PO, PROJECT_ROOT)}:\n"
        + "\n".join(missing)
        + "\nRun `make extract-messages`, then translate them (no fuzzy flags)."
    )


def test_translations_keep_the_placeholders_of_their_msgid():
    catalogue = _read_catalogue()
    wrong = []
    for entry in catalogue:
        if not entry.id:  # the header
            continue
        source_forms = _strings(entry.id)
        for index, translation in enumerate(_strings(entry.string)):
            if not translation:
                continue
            # Plural forms after the first follow the msgid_plural.
            source = source_forms[min(index, len(source_forms) - 1)]
            if _placeholders(translation) != _placeholders(source):
                wrong.append(
                    f"  {source!r} has {_placeholders(source)}, "
                    f"but {translation!r} has {_placeholders(translation)}"
                )
    assert not wrong, "translations with changed placeholders:\n" + "\n".join(wrong)


# One request per test: the `app` fixture keeps an app context pushed for the whole test,
# so `g`, where Flask-Babel caches the locale, would outlive the first request.
@pytest.mark.parametrize(
    ("url", "language"),
    [("/login", "sv"), ("/login?lang=en", "en")],
    ids=["accept-language-sv", "lang-en"],
)
def test_login_page_is_served_in_the_requested_language(client, url, language):
    entry = _read_catalogue().get("Password")
    assert entry is not None and entry.string, "'Password' has no Swedish translation"
    labels = {"sv": f">{escape(entry.string)}</label>", "en": ">Password</label>"}
    other = "en" if language == "sv" else "sv"

    response = client.get(url, headers={"Accept-Language": "sv"})

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert labels[language] in page
    assert labels[other] not in page
    assert f'<html lang="{language}">' in page
