"""What each domain shows on an organisation's, a contact's and an agreement's page.

Every list is a bounded query in the domain that owns the records, so each rule (who may read
an enquiry, which activities are live) has one home; this module only puts them together. An
organisation's and a contact's e-mails, activities, enquiries, documents, tasks and
agreements come as one timeline (crm/timeline).
"""

from crm.activities import services as activity_services
from crm.activities.task_services import open_tasks_about
from crm.agreements.coverage import agreements_covering, members_covered_by
from crm.core import audit
from crm.documents.services import documents_for
from crm.organisations import services as organisation_services
from crm.organisations.models import OrganisationKind
from crm.timeline.services import timeline

# How many linked rows a page shows per section; the rest are a link away.
HUB_LIMIT = 50
# An agreement page lists more of its own activities and covered members.
AGREEMENT_ACTIVITIES_LIMIT = 100
COVERED_MEMBERS_LIMIT = 200


def _timeline(record, user, kind, page):
    entries = timeline(record, user, kind=kind, page=page)
    return {"timeline": entries, "timeline_kinds": entries.kinds, "timeline_kind": entries.kind}


def organisation_hub(organisation, user, *, kind=None, page=1):
    """The organisation page's sections; `kind` and `page` choose the timeline's entries."""
    primary_contacts, affiliations = organisation_services.people_at(organisation, limit=HUB_LIMIT)
    member_of, members, members_total = organisation_services.current_memberships(
        organisation, members_limit=HUB_LIMIT
    )
    return {
        "primary_contacts": primary_contacts,
        "affiliations": affiliations,
        "member_of": member_of,
        "members": members,
        "members_total": members_total,
        # Direct parties first, then the agreements of associations it belongs to (SPEC §3.5).
        "agreements": agreements_covering(organisation.id, limit=HUB_LIMIT),
        "member_activities": (
            activity_services.member_activities(organisation, limit=HUB_LIMIT)
            if organisation.kind == OrganisationKind.INDUSTRY_ASSOCIATION
            else None
        ),
        "history": audit.history("organisations", organisation.id),
        **_timeline(organisation, user, kind, page),
    }


def contact_hub(contact, user, *, kind=None, page=1):
    """The contact page's sections; `kind` and `page` choose the timeline's entries."""
    return {
        "affiliations": organisation_services.affiliations_of(contact),
        "history": audit.history("contacts", contact.id),
        **_timeline(contact, user, kind, page),
    }


def agreement_hub(agreement):
    return {
        "covered": members_covered_by(agreement, limit=COVERED_MEMBERS_LIMIT),
        "covered_limit": COVERED_MEMBERS_LIMIT,
        "activities": activity_services.activities_under(
            agreement, limit=AGREEMENT_ACTIVITIES_LIMIT
        ),
        "activities_limit": AGREEMENT_ACTIVITIES_LIMIT,
        "documents": documents_for(agreement),
        "tasks": open_tasks_about(agreement),
        "history": audit.history("agreements", agreement.id),
    }
