"""Which agreements cover an organisation, and which organisations an agreement covers.

An organisation is covered by an agreement it is a party to ("directly"), and by an agreement
marked `covers_members` that an association signed as a party or signatory while the
organisation was a member of it: the membership must overlap the agreement's term. A member
who joined after the agreement ended, or left before it started, is not covered.
"""

from dataclasses import dataclass

import sqlalchemy as sa

from crm.agreements.models import Agreement, AgreementParty, AgreementStatus, PartyRole
from crm.extensions import db
from crm.organisations.models import Membership, Organisation

# An observer association does not sign on its members' behalf.
COVERING_ROLES = (PartyRole.PARTY, PartyRole.SIGNATORY)
# A draft or an agreement still in negotiation binds no one, so it covers no member; one that
# was signed keeps showing (with its status) after it expired or was terminated.
NOT_YET_SIGNED = (AgreementStatus.DRAFT, AgreementStatus.NEGOTIATION)
# The organisation an agreement covers through, and the one covered. Made once: an alias is
# a new mapped entity, and making one (and its first comparisons) on every organisation's
# page took more time than the page's queries about coverage.
_ASSOCIATION = sa.orm.aliased(Organisation, name="association")
_MEMBER = sa.orm.aliased(Organisation, name="member")


@dataclass(frozen=True)
class Coverage:
    agreement: Agreement
    # The organisation's own role when it is a party; None when covered through `via`.
    role: PartyRole | None = None
    # The association whose membership brings the coverage.
    via: Organisation | None = None


def _membership_overlaps_agreement():
    return sa.and_(
        sa.or_(
            Membership.since.is_(None),
            Agreement.end_date.is_(None),
            Membership.since <= Agreement.end_date,
        ),
        sa.or_(
            Membership.until.is_(None),
            Agreement.start_date.is_(None),
            Membership.until >= Agreement.start_date,
        ),
    )


def agreements_covering(organisation_id, *, limit=None):
    """Coverage entries for the organisation: direct ones first, then through associations."""
    direct = db.session.execute(
        sa.select(Agreement, AgreementParty.role)
        .join(AgreementParty, AgreementParty.agreement_id == Agreement.id)
        .where(AgreementParty.organisation_id == organisation_id, Agreement.deleted_at.is_(None))
        .order_by(Agreement.start_date.desc(), Agreement.id.desc())
        .limit(limit)
    ).all()
    association = _ASSOCIATION
    through = db.session.execute(
        sa.select(Agreement, association)
        .join(AgreementParty, AgreementParty.agreement_id == Agreement.id)
        .join(association, association.id == AgreementParty.organisation_id)
        .join(Membership, Membership.association_id == AgreementParty.organisation_id)
        .where(
            Membership.member_id == organisation_id,
            Agreement.covers_members.is_(True),
            Agreement.deleted_at.is_(None),
            Agreement.status.not_in(NOT_YET_SIGNED),
            association.deleted_at.is_(None),
            AgreementParty.role.in_(COVERING_ROLES),
            _membership_overlaps_agreement(),
        )
        .order_by(Agreement.start_date.desc(), Agreement.id.desc(), association.name)
        .limit(limit)
    ).all()
    direct_ids = {agreement.id for agreement, _role in direct}
    return [Coverage(agreement, role=role) for agreement, role in direct] + [
        Coverage(agreement, via=via) for agreement, via in through if agreement.id not in direct_ids
    ]


def agreement_ids_covering(organisation_id):
    """The ids of the agreements agreements_covering lists (without its limit), as a select."""
    direct = sa.select(AgreementParty.agreement_id).where(
        AgreementParty.organisation_id == organisation_id
    )
    association = _ASSOCIATION
    through = (
        sa.select(Agreement.id)
        .join(AgreementParty, AgreementParty.agreement_id == Agreement.id)
        .join(association, association.id == AgreementParty.organisation_id)
        .join(Membership, Membership.association_id == AgreementParty.organisation_id)
        .where(
            Membership.member_id == organisation_id,
            Agreement.covers_members.is_(True),
            Agreement.status.not_in(NOT_YET_SIGNED),
            association.deleted_at.is_(None),
            AgreementParty.role.in_(COVERING_ROLES),
            _membership_overlaps_agreement(),
        )
    )
    return sa.select(Agreement.id).where(
        Agreement.deleted_at.is_(None), sa.or_(Agreement.id.in_(direct), Agreement.id.in_(through))
    )


def members_covered_by(agreement, *, limit=None):
    """(member organisation, association) pairs the agreement covers through membership."""
    if not agreement.covers_members:
        return []
    member, association = _MEMBER, _ASSOCIATION
    rows = db.session.execute(
        sa.select(member, association)
        .select_from(AgreementParty)
        .join(Agreement, Agreement.id == AgreementParty.agreement_id)
        .join(association, association.id == AgreementParty.organisation_id)
        .join(Membership, Membership.association_id == association.id)
        .join(member, member.id == Membership.member_id)
        .where(
            AgreementParty.agreement_id == agreement.id,
            AgreementParty.role.in_(COVERING_ROLES),
            member.deleted_at.is_(None),
            association.deleted_at.is_(None),
            _membership_overlaps_agreement(),
        )
        .order_by(member.name, member.id, association.name)
        .limit(limit)
    ).all()
    return [(row[0], row[1]) for row in rows]
