"""The search page's results: per kind, the count and the first few the user may see."""

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from crm.activities.models import Activity
from crm.agreements.models import Agreement
from crm.auth.models import Role
from crm.enquiries.models import Enquiry
from crm.extensions import db
from crm.organisations.models import Contact, Organisation
from crm.search.index import id_matches, kind_counts, query_words

RESULTS_PER_KIND = 10


@dataclass
class ResultGroup:
    kind: str
    label: str
    count: int
    records: list = field(default_factory=list)


# kind, heading, model, order, related rows the results show (loaded with selectinload when
# searching: a loader option made here would configure every mapper at import, before the
# models that relationships name as strings are all imported)
_KINDS = [
    (
        "organisation",
        _l("Organisations"),
        Organisation,
        (Organisation.name, Organisation.id),
        (),
    ),
    (
        "contact",
        _l("Contacts"),
        Contact,
        (Contact.last_name, Contact.first_name, Contact.id),
        (Contact.organisation,),
    ),
    ("agreement", _l("Agreements"), Agreement, (Agreement.title, Agreement.id), ()),
    (
        "activity",
        _l("Activities"),
        Activity,
        (Activity.start_date.desc(), Activity.id.desc()),
        (),
    ),
    (
        "enquiry",
        _l("Enquiries"),
        Enquiry,
        (Enquiry.received_at.desc(), Enquiry.id.desc()),
        (),
    ),
]


def _enquiry_visibility(user):
    """Coordinators and admins: every enquiry; members: those assigned to them; else none."""
    if user.has_role(Role.COORDINATOR):
        return sa.true()
    if user.has_role(Role.MEMBER):
        return Enquiry.assignee_id == user.id
    return None


def search(query, *, user, limit=RESULTS_PER_KIND):
    """[ResultGroup] for each kind the user may read, in a fixed order; [] for no words.

    The counts come from the index alone, in one query for every kind (a deleted record has
    no index row, so nothing else needs checking), except a member's enquiries, which are
    counted among those assigned to them. Then each kind's first `limit` records. A count
    kept beside each row (COUNT(*) OVER ()) would make the database join and sort every match
    of every kind on each search.
    """
    terms = query_words(query)
    if not terms:
        return []
    counts = kind_counts(terms)
    groups = []
    for kind, label, model, order, related in _KINDS:
        conditions = [model.deleted_at.is_(None)]
        count = counts.get(kind, 0)
        if model is Enquiry:
            visible = _enquiry_visibility(user)
            if visible is None:
                continue
            conditions.append(visible)
            if not user.has_role(Role.COORDINATOR) and count:
                count = db.session.scalar(
                    sa.select(sa.func.count())
                    .select_from(Enquiry)
                    .where(id_matches(kind, Enquiry.id, query), *conditions)
                )
        records = []
        if count:
            records = db.session.scalars(
                sa.select(model)
                .where(id_matches(kind, model.id, query), *conditions)
                .order_by(*order)
                .limit(limit)
                .options(*(selectinload(relationship) for relationship in related))
            ).all()
        groups.append(ResultGroup(kind=kind, label=label, count=count, records=records))
    return groups
