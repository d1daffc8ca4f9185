"""Organisations, their memberships of associations, and contacts."""

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.audit import describe_fields, describe_references
from crm.core.models import SoftDeleteMixin, TimestampMixin, live_index
from crm.core.text import email_domain, fold, name_key, website_domain
from crm.core.types import LabelledEnum, UTCDateTime, enum_column
from crm.extensions import db

if TYPE_CHECKING:
    from crm.auth.models import User


class OrganisationKind(LabelledEnum):
    COMPANY = "company"
    INDUSTRY_ASSOCIATION = "industry_association"
    HEALTHCARE_REGION = "healthcare_region"
    UNIVERSITY = "university"
    PATIENT_ORGANISATION = "patient_organisation"
    PUBLIC_AGENCY = "public_agency"
    OTHER = "other"

    @staticmethod
    def _labels():
        return {
            "company": _l("Company"),
            "industry_association": _l("Industry association"),
            "healthcare_region": _l("Healthcare region"),
            "university": _l("University"),
            "patient_organisation": _l("Patient organisation"),
            "public_agency": _l("Public agency"),
            "other": _l("Other"),
        }


# What `Organisation.is_partner` means, wherever it is shown, edited, filtered or exported.
PARTNER_LABEL = _l("GMS partner (region or university)")


def may_be_partner(kind):
    """Whether an organisation of this kind may be a GMS partner: the partners are the regions
    and universities that run GMS, so a company never is."""
    return kind != OrganisationKind.COMPANY


class Sector(LabelledEnum):
    PHARMA = "pharma"
    MEDTECH = "medtech"
    BIOTECH = "biotech"
    DIAGNOSTICS_LAB = "diagnostics_lab"
    IT_AI_DATA = "it_ai_data"
    CRO = "cro"
    INVESTOR = "investor"
    OTHER = "other"

    @staticmethod
    def _labels():
        return {
            "pharma": _l("Pharma"),
            "medtech": _l("Medtech"),
            "biotech": _l("Biotech"),
            "diagnostics_lab": _l("Diagnostics/lab"),
            "it_ai_data": _l("IT/AI/data"),
            "cro": _l("CRO"),
            "investor": _l("Investor"),
            "other": _l("Other"),
        }


class SizeClass(LabelledEnum):
    MICRO = "micro"
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"

    @staticmethod
    def _labels():
        return {
            "micro": _l("Micro (fewer than 10 employees)"),
            "small": _l("Small (10–49 employees)"),
            "medium": _l("Medium (50–249 employees)"),
            "large": _l("Large (250 employees or more)"),
        }


class LegalBasis(LabelledEnum):
    CONSENT = "consent"
    LEGITIMATE_INTEREST = "legitimate_interest"

    @staticmethod
    def _labels():
        return {"consent": _l("Consent"), "legitimate_interest": _l("Legitimate interest")}


organisation_tags = sa.Table(
    "organisation_tags",
    db.metadata,
    sa.Column(
        "organisation_id",
        sa.ForeignKey("organisations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("tag_id", sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Tag(db.Model):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60), unique=True)


# The columns the organisations list filters by, held in its sort indexes (see below); and
# deleted_at, always NULL there: without it SQLite's planner assumes each row must be read to
# test the deleted mark, and would not read a page's ids from the index alone.
_LIST_FILTERS = ("kind", "owner_id", "is_partner", "deleted_at")


class Organisation(TimestampMixin, SoftDeleteMixin, db.Model):
    __tablename__ = "organisations"
    __table_args__ = (
        sa.Index("ix_organisations_kind_name", "kind", "name"),
        # The list's sort orders over live records, so that a page (deep ones too) is read
        # in order from an index. Each also holds the columns the list filters by (kind,
        # owner, partner): the database walks such an index to find a rare value's records
        # (the few associations by city, a new member's by date), and checks them there
        # instead of reading each organisation (a walk of 100,000: 340 ms, now 24 ms).
        live_index("ix_organisations_live_name", "name", "id", *_LIST_FILTERS),
        live_index("ix_organisations_live_city", "city", "name", "id", *_LIST_FILTERS),
        live_index("ix_organisations_live_updated", "updated_at", "id", *_LIST_FILTERS),
        live_index("ix_organisations_live_created", "created_at", "id", *_LIST_FILTERS),
        live_index(
            "ix_organisations_live_kind",
            "kind",
            "name",
            "id",
            "owner_id",
            "is_partner",
            "deleted_at",
        ),
        # The list's filter by owner, in name order: the records of someone who owns few are
        # found without walking every organisation.
        live_index("ix_organisations_live_owner_name", "owner_id", "name", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[OrganisationKind] = mapped_column(enum_column(OrganisationKind))
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    # Swedish organisation number, NNNNNN-NNNN, Luhn-checked by the forms.
    org_number: Mapped[str | None] = mapped_column(sa.String(11), unique=True)
    website: Mapped[str | None] = mapped_column(sa.String(300))
    country: Mapped[str] = mapped_column(sa.String(2), default="SE", index=True)
    city: Mapped[str | None] = mapped_column(sa.String(120), index=True)
    size_class: Mapped[SizeClass | None] = mapped_column(enum_column(SizeClass))
    description: Mapped[str | None] = mapped_column(sa.Text)
    # One of the healthcare regions and universities that run GMS (SPEC §2); never a company
    # (see may_be_partner).
    is_partner: Mapped[bool] = mapped_column(default=False, index=True)
    owner_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # Derived on every save (see _derive_organisation_keys): folded text the search box
    # matches, and the name key duplicate checks compare.
    search_text: Mapped[str] = mapped_column(sa.String(700), default="")
    name_key: Mapped[str] = mapped_column(sa.String(200), default="", index=True)
    # The website's host without "www.", so an enquiry's e-mail domain and the duplicate
    # check find the organisation by an index, not by a LIKE over every website.
    website_domain: Mapped[str | None] = mapped_column(sa.String(253), index=True)

    owner: Mapped["User | None"] = relationship(foreign_keys=[owner_id])
    sectors: Mapped[list["OrganisationSector"]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan"
    )
    email_domains: Mapped[list["OrganisationEmailDomain"]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan"
    )
    tags: Mapped[list[Tag]] = relationship(secondary=organisation_tags)
    memberships: Mapped[list["Membership"]] = relationship(
        back_populates="member", foreign_keys="Membership.member_id", cascade="all, delete-orphan"
    )
    members: Mapped[list["Membership"]] = relationship(
        back_populates="association",
        foreign_keys="Membership.association_id",
        cascade="all, delete-orphan",
    )
    contacts: Mapped[list["Contact"]] = relationship(back_populates="organisation")

    def __repr__(self):
        return f"<Organisation {self.id} {self.name!r}>"

    @property
    def sector_values(self):
        return [sector.sector for sector in self.sectors]


class OrganisationSector(db.Model):
    __tablename__ = "organisation_sectors"
    __table_args__ = (
        # A sector's organisations (the lists' sector filters) read from the index alone,
        # without a lookup in the table per row: 12,500 of them in a sector at SPEC §6's scale.
        sa.Index("ix_organisation_sectors_sector_organisation", "sector", "organisation_id"),
    )

    organisation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    sector: Mapped[Sector] = mapped_column(enum_column(Sector), primary_key=True)

    organisation: Mapped[Organisation] = relationship(back_populates="sectors")


class OrganisationEmailDomain(db.Model):
    """An e-mail domain of the organisation, used to match enquiries to it."""

    __tablename__ = "organisation_email_domains"
    __table_args__ = (sa.UniqueConstraint("organisation_id", "domain"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE")
    )
    domain: Mapped[str] = mapped_column(sa.String(253), index=True)

    organisation: Mapped[Organisation] = relationship(back_populates="email_domains")


class Membership(TimestampMixin, db.Model):
    """Organisation `member` is a member of association `association` since a date."""

    __tablename__ = "memberships"
    __table_args__ = (
        sa.UniqueConstraint("member_id", "association_id"),
        sa.CheckConstraint("member_id <> association_id", name="not_self"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    association_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    since: Mapped[date | None]
    until: Mapped[date | None]

    member: Mapped[Organisation] = relationship(
        foreign_keys=[member_id], back_populates="memberships"
    )
    association: Mapped[Organisation] = relationship(
        foreign_keys=[association_id], back_populates="members"
    )


# The columns the contacts list filters by, held in its sort indexes (and deleted_at, as in
# _LIST_FILTERS).
_CONTACT_FILTERS = ("legal_basis", "do_not_contact", "owner_id", "deleted_at")


class Contact(TimestampMixin, SoftDeleteMixin, db.Model):
    __tablename__ = "contacts"
    __table_args__ = (
        sa.Index("ix_contacts_name", "last_name", "first_name"),
        # The list's sort orders, each holding the columns the list filters by, as the
        # organisations' do (see Organisation).
        live_index("ix_contacts_live_name", "last_name", "first_name", "id", *_CONTACT_FILTERS),
        # A sender's address found in any case (an enquiry's page, the mailbox): the
        # queries compare lower(email), which the plain index on email cannot serve.
        sa.Index("ix_contacts_email_lower", sa.text("lower(email)")),
        # The organisations of a domain's people, read from the index alone.
        sa.Index("ix_contacts_email_domain", "email_domain", "organisation_id"),
        # The list's other sort orders, so that a page of them is read in order too.
        # The list's filters by legal basis, by "do not contact" and by owner, in name order:
        # a rare value (a handful with consent, someone who owns few) is found without walking
        # every contact.
        live_index("ix_contacts_live_basis_name", "legal_basis", "last_name", "first_name", "id"),
        live_index("ix_contacts_live_dnc_name", "do_not_contact", "last_name", "first_name", "id"),
        live_index("ix_contacts_live_owner_name", "owner_id", "last_name", "first_name", "id"),
        live_index("ix_contacts_live_email", "email", "id", *_CONTACT_FILTERS),
        live_index("ix_contacts_live_updated", "updated_at", "id", *_CONTACT_FILTERS),
        live_index("ix_contacts_live_created", "created_at", "id", *_CONTACT_FILTERS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(sa.String(100), default="")
    last_name: Mapped[str] = mapped_column(sa.String(100))
    email: Mapped[str | None] = mapped_column(sa.String(254), index=True)
    phone: Mapped[str | None] = mapped_column(sa.String(50))
    title: Mapped[str | None] = mapped_column(sa.String(200))
    organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    notes: Mapped[str | None] = mapped_column(sa.Text)
    legal_basis: Mapped[LegalBasis] = mapped_column(
        enum_column(LegalBasis), default=LegalBasis.LEGITIMATE_INTEREST
    )
    do_not_contact: Mapped[bool] = mapped_column(default=False)
    owner_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # A legal hold stops erasure and anonymisation (public records rules may require keeping it).
    legal_hold: Mapped[bool] = mapped_column(default=False)
    legal_hold_reason: Mapped[str | None] = mapped_column(sa.String(500))
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Derived on every save: folded name, e-mail and title for the search box, and the
    # e-mail's domain, by which an enquiry from a colleague finds the organisation.
    search_text: Mapped[str] = mapped_column(sa.String(700), default="")
    email_domain: Mapped[str | None] = mapped_column(sa.String(253))

    organisation: Mapped[Organisation | None] = relationship(back_populates="contacts")
    owner: Mapped["User | None"] = relationship(foreign_keys=[owner_id])
    affiliations: Mapped[list["ContactAffiliation"]] = relationship(
        back_populates="contact", cascade="all, delete-orphan"
    )

    def __repr__(self):
        return f"<Contact {self.id}>"

    @property
    def full_name(self):
        return f"{self.first_name} {self.last_name}".strip()


class ContactAffiliation(db.Model):
    """Another organisation a contact is affiliated with, besides the primary one."""

    __tablename__ = "contact_affiliations"
    __table_args__ = (sa.UniqueConstraint("contact_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        sa.ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str | None] = mapped_column(sa.String(200))

    contact: Mapped[Contact] = relationship(back_populates="affiliations")
    organisation: Mapped[Organisation] = relationship()


@sa.event.listens_for(Organisation, "before_insert")
@sa.event.listens_for(Organisation, "before_update")
def _derive_organisation_keys(mapper, connection, organisation):
    number = organisation.org_number or ""
    parts = [
        organisation.name,
        number,
        number.replace("-", ""),
        organisation.city,
        website_domain(organisation.website),
    ]
    organisation.search_text = fold(" ".join(part for part in parts if part))[:700]
    organisation.name_key = name_key(organisation.name)[:200]
    organisation.website_domain = (website_domain(organisation.website) or "")[:253] or None


@sa.event.listens_for(Contact, "before_insert")
@sa.event.listens_for(Contact, "before_update")
def _derive_contact_keys(mapper, connection, contact):
    parts = [contact.first_name, contact.last_name, contact.email, contact.title, contact.phone]
    contact.search_text = fold(" ".join(part for part in parts if part))[:700]
    contact.email_domain = (email_domain(contact.email) or "")[:253] or None


describe_fields(
    "organisations",
    {
        "kind": (_l("Kind"), OrganisationKind),
        "name": (_l("Name"), None),
        "org_number": (_l("Organisation number"), None),
        "website": (_l("Website"), None),
        "email_domains": (_l("E-mail domains"), None),
        "country": (_l("Country"), None),
        "city": (_l("City"), None),
        "sectors": (_l("Sectors"), Sector),
        "size_class": (_l("Size"), SizeClass),
        "description": (_l("Description"), None),
        "tags": (_l("Tags"), None),
        "is_partner": (PARTNER_LABEL, bool),
        "owner_id": (_l("Owner"), "user"),
        "member_of": (_l("Member of"), None),
        "merged_from": (_l("Merged from"), None),
        "merged_into": (_l("Merged into"), None),
    },
)

describe_fields(
    "contacts",
    {
        "first_name": (_l("First name"), None),
        "last_name": (_l("Last name"), None),
        "email": (_l("E-mail"), None),
        "phone": (_l("Phone"), None),
        "title": (_l("Title"), None),
        "organisation_id": (_l("Organisation"), "organisation"),
        "affiliations": (_l("Other affiliations"), None),
        "notes": (_l("Notes"), None),
        "legal_basis": (_l("Legal basis"), LegalBasis),
        "do_not_contact": (_l("Do not contact"), bool),
        "owner_id": (_l("Owner"), "user"),
        "legal_hold": (_l("Legal hold"), bool),
        "legal_hold_reason": (_l("Reason for the legal hold"), None),
        "merged_from": (_l("Merged from"), None),
        "merged_into": (_l("Merged into"), None),
    },
)


def _organisation_name(organisation_id):
    organisation = db.session.get(Organisation, organisation_id)
    return organisation.name if organisation is not None else None


describe_references("organisation", _organisation_name)


def _contact_name(contact_id):
    contact = db.session.get(Contact, contact_id)
    return contact.full_name if contact is not None else None


describe_references("contact", _contact_name)
