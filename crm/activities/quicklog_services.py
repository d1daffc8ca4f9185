"""Quick-log: an activity with organisations and contacts that may be new, and an optional
follow-up task, all in one step.

Services never commit; the view commits once, so a refusal leaves nothing half-saved.
"""

import sqlalchemy as sa

from crm.activities.models import ActivityOrganisationRole
from crm.activities.services import ActivityError, create_activity
from crm.activities.task_services import TaskError, create_task
from crm.core.text import fold, name_key
from crm.extensions import db
from crm.organisations import services as organisation_services
from crm.organisations.models import Contact, Organisation, OrganisationKind

SIMILAR_LIMIT = 5
# Words shorter than this say too little about a name to call two names similar.
MIN_WORD = 4


def similar_organisations(name):
    """Live organisations whose name shares a word with `name` (AB, Ltd and the like aside),
    those with the same name key first: what the person may have meant instead of a new one."""
    words = [word for word in name_key(name).split() if len(word) >= MIN_WORD]
    duplicates = [
        organisation
        for organisation, _reasons in organisation_services.find_duplicate_organisations(name=name)
    ]
    found = list(duplicates)
    if words:
        select = (
            sa.select(Organisation)
            .where(
                Organisation.deleted_at.is_(None),
                sa.or_(
                    *(Organisation.search_text.contains(word, autoescape=True) for word in words)
                ),
            )
            .order_by(Organisation.name, Organisation.id)
            .limit(SIMILAR_LIMIT)
        )
        found += [item for item in db.session.scalars(select) if item not in found]
    return found[:SIMILAR_LIMIT]


def split_contact_name(text):
    """(first name, last name) of a typed name: the last word is the last name."""
    words = " ".join((text or "").split()).split(" ")
    if len(words) == 1:
        return "", words[0]
    return " ".join(words[:-1]), words[-1]


def similar_contacts(name, email=None):
    """Live contacts with the typed e-mail, or whose name shares the last name typed."""
    _first, last = split_contact_name(name)
    conditions = []
    if email:
        conditions.append(sa.func.lower(Contact.email) == email.strip().lower())
    folded = fold(last)
    if len(folded) >= 2:
        conditions.append(Contact.search_text.contains(folded, autoescape=True))
    if not conditions:
        return []
    return db.session.scalars(
        sa.select(Contact)
        .where(Contact.deleted_at.is_(None), sa.or_(*conditions))
        .order_by(Contact.last_name, Contact.first_name, Contact.id)
        .limit(SIMILAR_LIMIT)
    ).all()


def quick_log(data, *, actor):
    """Create what `data` describes and return the activity.

    data: "activity" (create_activity's data without organisations and contacts),
    "organisations" and "contacts" (each an existing record or a dict describing a new one:
    {"name", "kind"} for an organisation, {"first_name", "last_name", "email"} for a contact),
    "task" (None or {"title", "due_date", "assignee"}). New contacts belong to the first
    organisation. Raises a FieldError naming the form field when something cannot be saved.
    """
    organisations = []
    created = {}
    for item in data["organisations"]:
        if isinstance(item, Organisation):
            organisation = item
        else:
            key = name_key(item["name"])
            organisation = created.get(key)
            if organisation is None:
                organisation = organisation_services.create_organisation(
                    {"name": item["name"], "kind": OrganisationKind(item["kind"])}, actor=actor
                )
                created[key] = organisation
        if organisation not in organisations:
            organisations.append(organisation)
    db.session.flush()
    first = organisations[0] if organisations else None
    contacts = []
    new_contacts = {}
    for item in data["contacts"]:
        if isinstance(item, Contact):
            contact = item
        else:
            key = (fold(item["first_name"]), fold(item["last_name"]), item.get("email"))
            contact = new_contacts.get(key)
        if contact is None:
            contact = new_contacts[key] = organisation_services.create_contact(
                {
                    "first_name": item["first_name"],
                    "last_name": item["last_name"],
                    "email": item.get("email") or None,
                    "organisation_id": first.id if first else None,
                },
                actor=actor,
            )
        if contact not in contacts:
            contacts.append(contact)
    activity = create_activity(
        {
            **data["activity"],
            "organisations": [
                (organisation, ActivityOrganisationRole.PARTICIPANT)
                for organisation in organisations
            ],
            "contacts": contacts,
        },
        actor=actor,
    )
    db.session.flush()
    task = data.get("task")
    if task:
        try:
            create_task(
                title=task["title"],
                due_date=task.get("due_date"),
                assignee=task.get("assignee"),
                subject=activity,
                subject_kind="activity_id",
                actor=actor,
            )
        except TaskError as error:
            field = {"title": "task_title", "assignee_id": "task_assignee_id"}.get(error.field)
            raise ActivityError(str(error), field=field) from None
    return activity
