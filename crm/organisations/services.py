"""Organisations, memberships and contacts: queries, changes, duplicates and merging.

Services change state, write the audit history and flush; they never commit.
"""

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import contains_eager, selectinload

from crm.core import audit, records
from crm.core.listing import count_rows, words_match
from crm.core.merge import merge_records
from crm.core.text import fold, name_key, search_terms, website_domain
from crm.documents.services import register_owner
from crm.extensions import db
from crm.organisations.models import (
    Contact,
    ContactAffiliation,
    Membership,
    Organisation,
    OrganisationEmailDomain,
    OrganisationKind,
    OrganisationSector,
    Tag,
    may_be_partner,
    organisation_tags,
)

register_owner("organisation_id", Organisation, endpoint="organisations.detail")

# ---------------------------------------------------------------- queries


@dataclass
class OrganisationFilters:
    query: str = ""
    kind: str | None = None
    sector: str | None = None
    tag: str | None = None
    partner: bool | None = None
    owner_id: int | None = None
    member_of: int | None = None  # an association's id: its members only
    deleted: bool = False  # True lists the deleted ones (for restoring)


def _text_filter(select, kind, model, filters):
    """The list's search box: live records through the search index, so a list finds what the
    search page counts, at the cost of an index lookup; deleted ones (not in the index, and
    few) by their search text."""
    if not filters.deleted:
        condition = words_match(kind, model.id, filters.query)
        return select if condition is None else select.where(condition)
    for term in search_terms(filters.query):
        select = select.where(model.search_text.contains(term, autoescape=True))
    return select


def organisation_select(filters):
    """The organisations a list shows for these filters (unsorted, unpaginated)."""
    select = sa.select(Organisation)
    if filters.deleted:
        select = select.where(Organisation.deleted_at.is_not(None))
    else:
        select = select.where(Organisation.deleted_at.is_(None))
    select = _text_filter(select, "organisation", Organisation, filters)
    if filters.kind:
        select = select.where(Organisation.kind == filters.kind)
    if filters.sector:
        select = select.where(
            Organisation.id.in_(
                sa.select(OrganisationSector.organisation_id).where(
                    OrganisationSector.sector == filters.sector
                )
            )
        )
    if filters.tag:
        select = select.where(
            Organisation.id.in_(
                sa.select(organisation_tags.c.organisation_id)
                .join(Tag, Tag.id == organisation_tags.c.tag_id)
                .where(Tag.name == fold(filters.tag))
            )
        )
    if filters.partner is not None:
        select = select.where(Organisation.is_partner.is_(filters.partner))
    if filters.owner_id:
        select = select.where(Organisation.owner_id == filters.owner_id)
    if filters.member_of:
        select = select.where(
            Organisation.id.in_(
                sa.select(Membership.member_id).where(
                    Membership.association_id == filters.member_of
                )
            )
        )
    return select.options(
        selectinload(Organisation.sectors),
        selectinload(Organisation.tags),
        selectinload(Organisation.owner),
    )


ORGANISATION_SORTS = {
    "name": [Organisation.name, Organisation.id],
    "kind": [Organisation.kind, Organisation.name, Organisation.id],
    "city": [Organisation.city, Organisation.name, Organisation.id],
    "created": [Organisation.created_at, Organisation.id],
    "updated": [Organisation.updated_at, Organisation.id],
}


@dataclass
class ContactFilters:
    query: str = ""
    organisation_id: int | None = None
    legal_basis: str | None = None
    do_not_contact: bool | None = None
    owner_id: int | None = None
    deleted: bool = False


def contact_select(filters):
    select = sa.select(Contact)
    if filters.deleted:
        select = select.where(Contact.deleted_at.is_not(None))
    else:
        select = select.where(Contact.deleted_at.is_(None))
    select = _text_filter(select, "contact", Contact, filters)
    if filters.organisation_id:
        # The organisation's people, its own and those affiliated, as one list of ids: each
        # part read by its index. Written as `organisation_id = ? OR id IN (...)`, PostgreSQL
        # checked that against every contact (300 ms at 200,000).
        select = select.where(
            Contact.id.in_(
                sa.union_all(
                    sa.select(Contact.id).where(Contact.organisation_id == filters.organisation_id),
                    sa.select(ContactAffiliation.contact_id).where(
                        ContactAffiliation.organisation_id == filters.organisation_id
                    ),
                )
            )
        )
    if filters.legal_basis:
        select = select.where(Contact.legal_basis == filters.legal_basis)
    if filters.do_not_contact is not None:
        select = select.where(Contact.do_not_contact.is_(filters.do_not_contact))
    if filters.owner_id:
        select = select.where(Contact.owner_id == filters.owner_id)
    return select.options(selectinload(Contact.organisation), selectinload(Contact.owner))


CONTACT_SORTS = {
    "name": [Contact.last_name, Contact.first_name, Contact.id],
    "email": [Contact.email, Contact.id],
    "created": [Contact.created_at, Contact.id],
    "updated": [Contact.updated_at, Contact.id],
}


def typeahead_organisations(query, *, limit=10, kinds=None):
    """[(id, name, kind)] of organisations matching every word of `query`, best first."""
    terms = search_terms(query)
    if not terms:
        return []
    select = sa.select(Organisation.id, Organisation.name, Organisation.kind).where(
        Organisation.deleted_at.is_(None)
    )
    for term in terms:
        select = select.where(Organisation.search_text.contains(term, autoescape=True))
    if kinds:
        select = select.where(Organisation.kind.in_(kinds))
    # Names that start with the query come first.
    starts = sa.case((Organisation.search_text.startswith(terms[0], autoescape=True), 0), else_=1)
    return db.session.execute(select.order_by(starts, Organisation.name).limit(limit)).all()


def typeahead_contacts(query, *, limit=10):
    terms = search_terms(query)
    if not terms:
        return []
    select = (
        sa.select(Contact)
        .where(Contact.deleted_at.is_(None))
        .options(selectinload(Contact.organisation))
    )
    for term in terms:
        select = select.where(Contact.search_text.contains(term, autoescape=True))
    return db.session.scalars(
        select.order_by(Contact.last_name, Contact.first_name).limit(limit)
    ).all()


def associations():
    return db.session.scalars(
        sa.select(Organisation)
        .where(
            Organisation.kind == OrganisationKind.INDUSTRY_ASSOCIATION,
            Organisation.deleted_at.is_(None),
        )
        .order_by(Organisation.name)
    ).all()


# ---------------------------------------------------------------- organisations

ORGANISATION_FIELDS = (
    "kind",
    "name",
    "org_number",
    "website",
    "country",
    "city",
    "size_class",
    "description",
    "is_partner",
    "owner_id",
)


def create_organisation(data, *, actor):
    """`data` holds ORGANISATION_FIELDS (already validated and normalised) and optionally
    sectors, email_domains and tags as lists."""
    organisation = Organisation(created_by_id=getattr(actor, "id", None))
    db.session.add(organisation)
    _apply_organisation(organisation, data)
    audit.record(organisation, "create", actor=actor, changes=_creation_changes(organisation, data))
    return organisation


def update_organisation(organisation, data, *, actor):
    before = _collection_values(organisation)
    _apply_organisation(organisation, data)
    changes = audit.pending_changes(organisation)
    after = _collection_values(organisation)
    changed_collections = {key for key in before if before[key] != after[key]}
    changes.update({key: [before[key], after[key]] for key in changed_collections})
    if changed_collections:
        records.touch(organisation)
    if changes:
        audit.record(organisation, "update", actor=actor, changes=changes)
    return organisation


def _apply_organisation(organisation, data):
    # Looking up tags must not flush half-applied changes: the audit reads them afterwards.
    with db.session.no_autoflush:
        _apply_organisation_fields(organisation, data)


def _apply_organisation_fields(organisation, data):
    for name in ORGANISATION_FIELDS:
        if name in data:
            setattr(organisation, name, data[name])
    if "sectors" in data:
        wanted = list(dict.fromkeys(data["sectors"] or []))
        organisation.sectors = [
            existing for existing in organisation.sectors if existing.sector in wanted
        ] + [
            OrganisationSector(sector=sector)
            for sector in wanted
            if sector not in organisation.sector_values
        ]
    if "email_domains" in data:
        wanted = list(dict.fromkeys(data["email_domains"] or []))
        current = {item.domain: item for item in organisation.email_domains}
        organisation.email_domains = [
            current.get(domain) or OrganisationEmailDomain(domain=domain) for domain in wanted
        ]
    if "tags" in data:
        names = dict.fromkeys(fold(name)[:60] for name in data["tags"] or [] if fold(name))
        organisation.tags = [get_or_create_tag(name) for name in names]


def _collection_values(organisation):
    return {
        "sectors": sorted(str(value) for value in organisation.sector_values),
        "email_domains": sorted(item.domain for item in organisation.email_domains),
        "tags": sorted(tag.name for tag in organisation.tags),
    }


def _creation_changes(organisation, data):
    changes = audit.pending_changes(organisation)
    for key, values in _collection_values(organisation).items():
        if values:
            changes[key] = [None, values]
    return changes


def get_or_create_tag(name):
    name = fold(name)[:60]
    tag = db.session.scalar(sa.select(Tag).where(Tag.name == name))
    if tag is None:
        tag = Tag(name=name)
        db.session.add(tag)
    return tag


def find_duplicate_organisations(*, name=None, org_number=None, website=None, exclude_id=None):
    """Organisations that look like the same one: same number, website domain or name key.

    Returns [(organisation, reasons)], reasons being a subset of {"org_number", "website", "name"}.
    """
    conditions = []
    key = name_key(name) if name else None
    domain = website_domain(website)
    if org_number:
        conditions.append(Organisation.org_number == org_number)
    if key:
        conditions.append(Organisation.name_key == key)
    if domain:
        conditions.append(Organisation.website_domain == domain)
    if not conditions:
        return []
    select = sa.select(Organisation).where(Organisation.deleted_at.is_(None), sa.or_(*conditions))
    if exclude_id:
        select = select.where(Organisation.id != exclude_id)
    found = []
    for organisation in db.session.scalars(select.order_by(Organisation.name).limit(20)):
        reasons = set()
        if org_number and organisation.org_number == org_number:
            reasons.add("org_number")
        if key and organisation.name_key == key:
            reasons.add("name")
        if domain and website_domain(organisation.website) == domain:
            reasons.add("website")
        if reasons:
            found.append((organisation, reasons))
    return found


# ---------------------------------------------------------------- memberships


class MembershipError(ValueError):
    """A membership could not be added; the message is shown to the person."""


def add_membership(member, association, *, since=None, actor):
    if member.id == association.id:
        raise MembershipError(_("An organisation cannot be a member of itself."))
    if association.kind != OrganisationKind.INDUSTRY_ASSOCIATION:
        raise MembershipError(_("Organisations can only be members of an industry association."))
    existing = db.session.scalar(
        sa.select(Membership).where(
            Membership.member_id == member.id, Membership.association_id == association.id
        )
    )
    if existing is not None and existing.until is None:
        raise MembershipError(
            _("%(member)s is already a member of %(association)s.",
              member=member.name, association=association.name)
        )  # fmt: skip
    if existing is not None:
        # A membership that had ended starts again.
        existing.since, existing.until = since, None
        membership = existing
    else:
        membership = Membership(
            member=member,
            association=association,
            since=since,
            created_by_id=getattr(actor, "id", None),
        )
        db.session.add(membership)
    audit.record(member, "update", actor=actor, changes={"member_of": [None, association.name]})
    return membership


def end_membership(membership, *, until, actor):
    membership.until = until
    audit.record(
        membership.member,
        "update",
        actor=actor,
        changes={"member_of": [membership.association.name, None]},
    )
    return membership


def people_at(organisation, *, limit):
    """(primary contacts, [(contact, role)] of affiliated ones) of the organisation, live ones
    only, by name; at most `limit` of each."""
    by_name = (Contact.last_name, Contact.first_name, Contact.id)
    primary_contacts = db.session.scalars(
        sa.select(Contact)
        .where(Contact.organisation_id == organisation.id, Contact.deleted_at.is_(None))
        .order_by(*by_name)
        .limit(limit)
    ).all()
    affiliations = db.session.execute(
        sa.select(Contact, ContactAffiliation.role)
        .join(ContactAffiliation, ContactAffiliation.contact_id == Contact.id)
        .where(
            ContactAffiliation.organisation_id == organisation.id,
            Contact.deleted_at.is_(None),
        )
        .order_by(*by_name)
        .limit(limit)
    ).all()
    return primary_contacts, affiliations


def affiliations_of(contact):
    """The contact's affiliations with other organisations, by organisation name."""
    affiliations = db.session.scalars(
        sa.select(ContactAffiliation)
        .where(ContactAffiliation.contact_id == contact.id)
        .options(selectinload(ContactAffiliation.organisation))
    ).all()
    return sorted(affiliations, key=lambda item: item.organisation.name.casefold())


def current_memberships(organisation, *, members_limit):
    """(member_of, members, members_total): the associations the organisation belongs to, and
    the first `members_limit` of its own members by name with how many there are in all.

    An association can have thousands of members; its page shows the first ones and links to
    the list of all (the organisations list's `member_of` filter)."""
    member_of = db.session.scalars(
        sa.select(Membership)
        .join(Organisation, Organisation.id == Membership.association_id)
        .where(Membership.member_id == organisation.id, Organisation.deleted_at.is_(None))
        .options(contains_eager(Membership.association))
        .order_by(Organisation.name, Membership.id)
    ).all()
    members_select = (
        sa.select(Membership)
        .join(Organisation, Organisation.id == Membership.member_id)
        .where(Membership.association_id == organisation.id, Organisation.deleted_at.is_(None))
    )
    members = db.session.scalars(
        members_select.options(contains_eager(Membership.member))
        .order_by(Organisation.name, Membership.id)
        .limit(members_limit)
    ).all()
    members_total = len(members)
    if members_total == members_limit:
        members_total = count_rows(members_select)
    return member_of, members, members_total


# ---------------------------------------------------------------- merging

ORGANISATION_FILL_FIELDS = (
    "org_number",
    "website",
    "city",
    "size_class",
    "description",
    "owner_id",
)
CONTACT_FILL_FIELDS = ("email", "phone", "title", "organisation_id", "notes", "owner_id")


def merge_organisations(keep, remove, *, actor):
    """Move every link (contacts, memberships, agreements, activities, …) to `keep`."""
    if remove.is_partner and may_be_partner(keep.kind):
        keep.is_partner = True
    moved = merge_records(keep, remove, fill_fields=ORGANISATION_FILL_FIELDS, actor=actor)
    _drop_affiliations_that_repeat_the_primary()
    return moved


def merge_contacts(keep, remove, *, actor):
    """Move every link to `keep`. What protects the person carries over: do-not-contact
    and a legal hold; the removed contact's other primary organisation becomes an
    affiliation of the kept one."""
    keep.do_not_contact = keep.do_not_contact or remove.do_not_contact
    if remove.legal_hold and not keep.legal_hold:
        keep.legal_hold, keep.legal_hold_reason = True, remove.legal_hold_reason
    other_primary = remove.organisation_id
    if other_primary and keep.organisation_id and other_primary != keep.organisation_id:
        if other_primary not in [item.organisation_id for item in keep.affiliations]:
            keep.affiliations.append(ContactAffiliation(organisation_id=other_primary))
    moved = merge_records(keep, remove, fill_fields=CONTACT_FILL_FIELDS, actor=actor)
    _drop_affiliations_that_repeat_the_primary()
    return moved


def _drop_affiliations_that_repeat_the_primary():
    """After a merge an affiliation may name the contact's primary organisation; drop it."""
    repeated = (
        sa.select(ContactAffiliation.id)
        .join(Contact, Contact.id == ContactAffiliation.contact_id)
        .where(Contact.organisation_id == ContactAffiliation.organisation_id)
    )
    db.session.execute(
        sa.delete(ContactAffiliation)
        .where(ContactAffiliation.id.in_(repeated))
        .execution_options(synchronize_session=False)
    )
    db.session.expire_all()


# ---------------------------------------------------------------- contacts

CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "title",
    "organisation_id",
    "notes",
    "legal_basis",
    "do_not_contact",
    "owner_id",
)


def create_contact(data, *, actor):
    """`data` holds CONTACT_FIELDS and optionally `affiliations`: [(organisation_id, role)]."""
    contact = Contact(created_by_id=getattr(actor, "id", None))
    db.session.add(contact)
    _apply_contact(contact, data)
    changes = audit.pending_changes(contact)
    if data.get("affiliations"):
        changes["affiliations"] = [None, _affiliation_values(contact)]
    audit.record(contact, "create", actor=actor, changes=changes)
    return contact


def update_contact(contact, data, *, actor):
    before = _affiliation_values(contact)
    _apply_contact(contact, data)
    changes = audit.pending_changes(contact)
    after = _affiliation_values(contact)
    if before != after:
        changes["affiliations"] = [before, after]
        records.touch(contact)
    if changes:
        audit.record(contact, "update", actor=actor, changes=changes)
    return contact


def _apply_contact(contact, data):
    for name in CONTACT_FIELDS:
        if name in data:
            setattr(contact, name, data[name])
    if "affiliations" in data:
        current = {item.organisation_id: item for item in contact.affiliations}
        wanted = []
        for organisation_id, role in data["affiliations"] or []:
            if organisation_id == contact.organisation_id or organisation_id in [
                item.organisation_id for item in wanted
            ]:
                continue
            item = current.get(organisation_id) or ContactAffiliation(
                organisation_id=organisation_id
            )
            item.role = role or None
            wanted.append(item)
        contact.affiliations = wanted


def _affiliation_values(contact):
    """The affiliations as readers know them: "Organisation name (role)"."""
    ids = {item.organisation_id for item in contact.affiliations}
    if not ids:
        return []
    with db.session.no_autoflush:
        names = dict(
            db.session.execute(
                sa.select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))
            ).all()
        )
    return sorted(
        names.get(item.organisation_id, f"#{item.organisation_id}")
        + (f" ({item.role})" if item.role else "")
        for item in contact.affiliations
    )


def find_duplicate_contacts(*, email=None, first_name=None, last_name=None, exclude_id=None):
    """Contacts with the same e-mail (any case) or the same folded full name."""
    conditions = []
    if email:
        conditions.append(sa.func.lower(Contact.email) == email.strip().lower())
    full = fold(f"{first_name or ''} {last_name or ''}")
    if last_name and full:
        conditions.append(Contact.search_text.startswith(full, autoescape=True))
    if not conditions:
        return []
    select = sa.select(Contact).where(Contact.deleted_at.is_(None), sa.or_(*conditions))
    if exclude_id:
        select = select.where(Contact.id != exclude_id)
    return db.session.scalars(select.limit(20)).all()
