"""Keeping the search index in step with the records, and querying it.

Every flush that inserts, changes or deletes an organisation, contact, agreement, activity
or enquiry rewrites that record's index row in the same transaction (an `after_flush`
session event), so a rollback undoes both. A soft-deleted record has no row; restoring it
adds the row again. An enquiry from the public form is written without the ORM; its row is
added when intake sends `enquiry_submitted`, in the same transaction too.

The listeners are connected when this module is imported: create_app imports it, so every
process built on the app (web, CLI, worker, tests) keeps the index in step.
"""

import re
from typing import NamedTuple

import sqlalchemy as sa
from flask_sqlalchemy.session import Session

from crm.activities.models import Activity
from crm.agreements.models import Agreement
from crm.core.listing import register_word_index
from crm.core.text import fold, website_domain
from crm.enquiries.intake import enquiry_submitted
from crm.enquiries.models import Enquiry
from crm.extensions import db
from crm.organisations.models import Contact, Organisation
from crm.search.models import (
    KIND_BITS,
    KIND_CODES,
    KIND_MASK,
    TS_CONFIG,
    SearchEntry,
    body_vector,
    entry_id,
)

_WORD = re.compile(r"[^\W_]+")
MAX_QUERY_WORDS = 8


def _organisation_text(organisation):
    number = organisation.org_number or ""
    return [
        organisation.name,
        number,
        number.replace("-", ""),
        organisation.city,
        website_domain(organisation.website),
    ]


def _contact_text(contact):
    return [contact.first_name, contact.last_name, contact.email, contact.title, contact.phone]


def _agreement_text(agreement):
    return [agreement.title, agreement.our_signatory, (agreement.description or "")[:1000]]


def _activity_text(activity):
    return [
        activity.title,
        activity.place,
        (activity.public_summary or "")[:500],
        (activity.description or "")[:1000],
    ]


def _enquiry_text(enquiry):
    return [
        enquiry.reference,
        enquiry.name,
        enquiry.email,
        enquiry.organisation_name,
        (enquiry.message or "")[:500],
    ]


# kind → (model, the texts a search matches)
INDEXED = {
    "organisation": (Organisation, _organisation_text),
    "contact": (Contact, _contact_text),
    "agreement": (Agreement, _agreement_text),
    "activity": (Activity, _activity_text),
    "enquiry": (Enquiry, _enquiry_text),
}
_KIND_OF_MODEL = {model: kind for kind, (model, _text) in INDEXED.items()}


def words(text):
    """The folded words of a text: lower case, no accents, letters and digits only."""
    return _WORD.findall(fold(text))


def index_body(kind, record):
    texts = INDEXED[kind][1](record)
    return " ".join(words(" ".join(str(text) for text in texts if text)))


_INSERT_ENTRY = sa.insert(SearchEntry.__table__)


def entry_row(kind, record):
    """The index row of a record: `record` has the attributes INDEXED reads, and its id."""
    return {
        "id": entry_id(kind, record.id),
        "kind": kind,
        "record_id": record.id,
        "body": index_body(kind, record),
    }


def _write(connection, kind, record, *, remove_only=False):
    table = SearchEntry.__table__
    connection.execute(sa.delete(table).where(table.c.id == entry_id(kind, record.id)))
    if remove_only or record.is_deleted:
        return
    connection.execute(_INSERT_ENTRY, entry_row(kind, record))


def add_entry(kind, record):
    """Index a record written without the ORM (so without the flush event below), in the
    caller's transaction."""
    db.session.execute(_INSERT_ENTRY, entry_row(kind, record))


@enquiry_submitted.connect
def _index_submitted_enquiry(enquiry, **_unused):
    add_entry("enquiry", enquiry)


@sa.event.listens_for(Session, "after_flush")
def _keep_index_in_step(session, _flush_context):
    # In after_flush, new/dirty/deleted still describe what this flush wrote.
    pending = []
    for record in session.new:
        kind = _KIND_OF_MODEL.get(type(record))
        if kind:
            pending.append((kind, record, False))
    for record in session.dirty:
        kind = _KIND_OF_MODEL.get(type(record))
        if kind and session.is_modified(record, include_collections=False):
            pending.append((kind, record, False))
    for record in session.deleted:
        kind = _KIND_OF_MODEL.get(type(record))
        if kind:
            pending.append((kind, record, True))
    if not pending:
        return
    connection = session.connection()
    for kind, record, remove_only in pending:
        _write(connection, kind, record, remove_only=remove_only)


def rebuild_index(batch_size=500):
    """Fill the index afresh from every live record (after a restore from backup, or an
    upgrade of a database that had records before the index). Does not commit."""
    table = SearchEntry.__table__
    db.session.execute(sa.delete(table))
    total = 0
    for kind, (model, _text) in INDEXED.items():
        rows = []
        records = db.session.scalars(
            sa.select(model).where(model.deleted_at.is_(None)).execution_options(yield_per=500)
        )
        for record in records:
            rows.append(entry_row(kind, record))
            if len(rows) >= batch_size:
                db.session.execute(sa.insert(table), rows)
                total += len(rows)
                rows = []
        if rows:
            db.session.execute(sa.insert(table), rows)
            total += len(rows)
    return total


class Term(NamedTuple):
    word: str
    # Found only as a whole word, not as the start of one.
    whole: bool


def query_words(query):
    """The query's words as Terms. A word followed by more of the same run of characters is
    complete, and found whole ("anders" and "example" in anders.larsson@example.com); the
    last word of each run may still be being typed, so it is found as the start of a word
    ("läkem" finds "Läkemedelsindustriföreningen"). Besides saying what was typed, this keeps
    an address cheap to find: "com" as the start of a word is every word beginning so, whose
    lists of entries the index merges before it can compare them."""
    terms = []
    for run in query.split():
        found = words(run)
        terms.extend(Term(word, whole=place < len(found) - 1) for place, word in enumerate(found))
    return terms[:MAX_QUERY_WORDS]


def _is_postgresql():
    return db.session.get_bind().dialect.name == "postgresql"


def _tsquery_match(terms):
    text = " & ".join(f"'{term.word}'" + ("" if term.whole else ":*") for term in terms)
    return body_vector().op("@@")(sa.func.to_tsquery(TS_CONFIG, text))


_FTS_ROWID = sa.literal_column("search_fts.rowid")


def _fts_entries(terms):
    """SQLite: a select from the full-text index of the entries having every term (see
    query_words). The words are letters and digits only (see `words`), so quoting them is
    enough."""
    text = " ".join(f'"{term.word}"' + ("" if term.whole else "*") for term in terms)
    return (
        sa.select()
        .select_from(sa.table("search_fts"))
        .where(sa.literal_column("search_fts").op("MATCH")(text))
    )


def kind_counts(terms):
    """{kind: how many records of that kind match}, from the index alone."""
    if _is_postgresql():
        rows = db.session.execute(
            sa.select(SearchEntry.kind, sa.func.count())
            .where(_tsquery_match(terms))
            .group_by(SearchEntry.kind)
        )
        return dict(rows.all())
    code = _FTS_ROWID.op("&")(KIND_MASK)
    rows = db.session.execute(_fts_entries(terms).add_columns(code, sa.func.count()).group_by(code))
    kinds = {number: kind for kind, number in KIND_CODES.items()}
    return {kinds[number]: count for number, count in rows if number in kinds}


def _record_ids(kind, terms):
    """A select of the ids of the records of `kind` that match `terms`."""
    if _is_postgresql():
        # OFFSET 0 keeps PostgreSQL from merging this into the list's query: merged, it may
        # walk the list in its order and test each row, expecting matches evenly spread.
        # Words match names, which sort together: for "Johansson" it walked 82,594 contacts
        # by name (375 ms) before the first; the matches looked up and sorted take 10 ms.
        return (
            sa.select(SearchEntry.record_id)
            .where(SearchEntry.kind == kind, _tsquery_match(terms))
            .offset(0)
        )
    return (
        _fts_entries(terms)
        .add_columns(_FTS_ROWID.op(">>")(KIND_BITS).label("record_id"))
        .where(_FTS_ROWID.op("&")(KIND_MASK) == KIND_CODES[kind])
    )


def id_matches(kind, id_column, query):
    """A condition on `id_column`: the records of `kind` whose index entry has every word of
    `query` as the start of a word, as the search page finds them. None when the query is
    blank; nothing matches a query of punctuation alone. Only live records are indexed."""
    if not (query or "").strip():
        return None
    terms = query_words(query)
    if not terms:
        return sa.false()
    return id_column.in_(_record_ids(kind, terms))


register_word_index(id_matches)


def matching_ids(kind, query):
    """Ids of the live records of `kind` the query finds, in id order (what id_matches
    selects, as a list)."""
    terms = query_words(query)
    if not terms:
        return []
    matching = _record_ids(kind, terms).subquery()
    return db.session.scalars(sa.select(matching.c.record_id).order_by(matching.c.record_id)).all()
