"""Agreement services: the status lifecycle and the date rules, with nothing saved on refusal."""

from datetime import date

import pytest
import sqlalchemy as sa

from crm.agreements import services
from crm.agreements.models import Agreement, AgreementKind, AgreementStatus, PartyRole
from crm.agreements.services import AgreementError, change_status, renewal_notice_date
from crm.core.models import AuditEntry
from crm.organisations import services as organisation_services
from crm.organisations.models import OrganisationKind

TODAY = date(2026, 6, 1)


@pytest.fixture
def organisations(db):
    created = [
        organisation_services.create_organisation(
            {"kind": OrganisationKind.COMPANY, "name": name}, actor=None
        )
        for name in ("Uppsala Biobank AB", "Karolinska Lab", "Lund Pharma")
    ]
    db.session.commit()
    return created


def data(organisations, **overrides):
    return {
        "kind": AgreementKind.MOU,
        "title": "Biobank MoU",
        "status": AgreementStatus.DRAFT,
        "parties": [(organisations[0], PartyRole.PARTY), (organisations[1], PartyRole.SIGNATORY)],
        **overrides,
    }


def create(db, organisations, **overrides):
    agreement = services.create_agreement(data(organisations, **overrides), actor=None, today=TODAY)
    db.session.commit()
    return agreement


def test_create_with_two_parties_and_audit(db, organisations):
    agreement = create(db, organisations, end_date=date(2027, 12, 31))
    assert {party.organisation.name: party.role for party in agreement.parties} == {
        "Uppsala Biobank AB": PartyRole.PARTY,
        "Karolinska Lab": PartyRole.SIGNATORY,
    }
    assert agreement.renewal_notice_days == 90
    assert renewal_notice_date(agreement) == date(2027, 10, 2)
    entry = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.entity_type == "agreements")
    ).one()
    assert entry.action == "create"
    assert entry.changes["parties"][1] == [
        "Karolinska Lab (signatory)",
        "Uppsala Biobank AB (party)",
    ]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"parties": []}, "parties"),
        ({"title": "  "}, "title"),
        ({"status": AgreementStatus.EXPIRED, "signed_date": date(2026, 1, 1)}, "status"),
        ({"status": AgreementStatus.TERMINATED}, "status"),
        ({"start_date": date(2026, 5, 1), "end_date": date(2026, 4, 30)}, "end_date"),
        ({"status": AgreementStatus.SIGNED}, "signed_date"),
        ({"status": AgreementStatus.ACTIVE}, "signed_date"),
        ({"signed_date": date(2026, 6, 2)}, "signed_date"),
        (
            {
                "status": AgreementStatus.ACTIVE,
                "signed_date": date(2026, 3, 1),
                "start_date": date(2026, 2, 1),
            },
            "signed_date",
        ),
        (
            {
                "status": AgreementStatus.ACTIVE,
                "signed_date": date(2026, 3, 1),
                "start_date": date(2026, 7, 1),
            },
            "status",
        ),
        ({"renewal_notice_days": -1}, "renewal_notice_days"),
    ],
)
def test_create_refused(db, organisations, overrides, field):
    with pytest.raises(AgreementError) as error:
        services.create_agreement(data(organisations, **overrides), actor=None, today=TODAY)
    assert error.value.field == field
    db.session.rollback()
    assert db.session.scalars(sa.select(Agreement)).all() == []


def test_duplicate_party_refused(db, organisations):
    parties = [(organisations[0], PartyRole.PARTY), (organisations[0], PartyRole.OBSERVER)]
    with pytest.raises(AgreementError) as error:
        services.create_agreement(data(organisations, parties=parties), actor=None, today=TODAY)
    assert error.value.field == "parties"


def test_lifecycle_draft_to_expired(db, organisations):
    agreement = create(db, organisations)
    change_status(agreement, AgreementStatus.NEGOTIATION, actor=None, today=TODAY)
    change_status(agreement, AgreementStatus.DRAFT, actor=None, today=TODAY)
    with pytest.raises(AgreementError) as error:
        change_status(agreement, AgreementStatus.SIGNED, actor=None, today=TODAY)
    assert error.value.field == "signed_date"
    services.update_agreement(
        agreement,
        {"signed_date": date(2026, 5, 1), "start_date": date(2026, 5, 15)},
        actor=None,
        today=TODAY,
    )
    change_status(agreement, AgreementStatus.SIGNED, actor=None, today=TODAY)
    change_status(agreement, AgreementStatus.ACTIVE, actor=None, today=TODAY)
    change_status(agreement, AgreementStatus.EXPIRED, actor=None, today=TODAY)
    change_status(agreement, AgreementStatus.ACTIVE, actor=None, today=TODAY)
    change_status(agreement, AgreementStatus.TERMINATED, actor=None, today=TODAY)
    db.session.commit()
    assert agreement.status == AgreementStatus.TERMINATED
    statuses = [
        entry.changes["status"][1]
        for entry in db.session.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.entity_type == "agreements", AuditEntry.action == "update")
            .order_by(AuditEntry.id)
        )
        if "status" in entry.changes
    ]
    assert statuses == [
        "negotiation",
        "draft",
        "signed",
        "active",
        "expired",
        "active",
        "terminated",
    ]


@pytest.mark.parametrize(
    ("current", "refused"),
    [
        (AgreementStatus.DRAFT, AgreementStatus.ACTIVE),
        (AgreementStatus.DRAFT, AgreementStatus.EXPIRED),
        (AgreementStatus.SIGNED, AgreementStatus.DRAFT),
        (AgreementStatus.ACTIVE, AgreementStatus.NEGOTIATION),
        (AgreementStatus.EXPIRED, AgreementStatus.TERMINATED),
        (AgreementStatus.TERMINATED, AgreementStatus.ACTIVE),
    ],
)
def test_transition_refused(db, organisations, current, refused):
    agreement = create(db, organisations, signed_date=date(2026, 1, 1), start_date=date(2026, 1, 1))
    agreement.status = current
    db.session.commit()
    with pytest.raises(AgreementError) as error:
        change_status(agreement, refused, actor=None, today=TODAY)
    assert error.value.field == "status"
    with pytest.raises(AgreementError) as error:
        services.update_agreement(agreement, {"status": refused}, actor=None, today=TODAY)
    assert error.value.field == "status"
    db.session.rollback()
    assert db.session.get(Agreement, agreement.id).status == current


def test_terminating_a_signed_agreement_keeps_its_signed_date(db, organisations):
    agreement = create(
        db, organisations, status=AgreementStatus.SIGNED, signed_date=date(2026, 1, 1)
    )
    with pytest.raises(AgreementError) as error:
        services.update_agreement(
            agreement,
            {"status": AgreementStatus.TERMINATED, "signed_date": None},
            actor=None,
            today=TODAY,
        )
    assert error.value.field == "signed_date"
    db.session.rollback()
    draft = create(db, organisations, title="Never signed")
    change_status(draft, AgreementStatus.TERMINATED, actor=None, today=TODAY)
    assert draft.status == AgreementStatus.TERMINATED


def test_update_parties_records_history(db, organisations):
    agreement = create(db, organisations)
    services.update_agreement(
        agreement,
        {"parties": [(organisations[1], PartyRole.PARTY), (organisations[2], PartyRole.OBSERVER)]},
        actor=None,
        today=TODAY,
    )
    db.session.commit()
    assert sorted(party.organisation.name for party in agreement.parties) == [
        "Karolinska Lab",
        "Lund Pharma",
    ]
    entry = db.session.scalars(
        sa.select(AuditEntry).where(
            AuditEntry.entity_type == "agreements", AuditEntry.action == "update"
        )
    ).one()
    assert entry.changes["parties"][1] == ["Karolinska Lab (party)", "Lund Pharma (observer)"]
