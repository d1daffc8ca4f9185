"""The pages that gather what several domains hold about one record: an organisation's, a
contact's and an agreement's page each list the tasks, activities and enquiries about it."""

from datetime import date

from crm.activities import services as activity_services
from crm.activities import task_services
from crm.activities.models import ActivityKind
from crm.agreements import services as agreement_services
from crm.agreements.models import AgreementKind, AgreementStatus, PartyRole
from crm.organisations import services as organisation_services
from crm.organisations.models import OrganisationKind


def _section(page, heading_id):
    section = page[page.index(f'id="{heading_id}"') :]
    return section[: section.index("</section>")]


def test_the_agreement_page_lists_the_agreements_own_open_tasks(client, db, login):
    """It listed the open tasks of the activity whose id equals the agreement's id."""
    login("viewer")
    organisation = organisation_services.create_organisation(
        {"kind": OrganisationKind.COMPANY, "name": "Party AB"}, actor=None
    )
    agreement = agreement_services.create_agreement(
        {
            "kind": AgreementKind.MOU,
            "title": "Biobank MoU",
            "status": AgreementStatus.DRAFT,
            "parties": [(organisation, PartyRole.PARTY)],
        },
        actor=None,
    )
    activity = activity_services.create_activity(
        {"kind": ActivityKind.WORKSHOP, "title": "Workshop", "start_date": date(2026, 3, 5)},
        actor=None,
    )
    db.session.flush()
    assert activity.id == agreement.id  # the two ids the old page mixed up
    task_services.create_task(
        title="Send the signed copy", subject=agreement, subject_kind="agreement_id", actor=None
    )
    task_services.create_task(
        title="Book the room", subject=activity, subject_kind="activity_id", actor=None
    )
    db.session.commit()

    page = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)

    tasks = _section(page, "tasks-heading")
    assert "Send the signed copy" in tasks
    assert "Book the room" not in tasks
