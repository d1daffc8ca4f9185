"""Changing the office settings, with an audit entry of what changed: the stored settings,
the logo, and which users are the public contact people."""

import sqlalchemy as sa

from crm.auth.models import User
from crm.core import audit
from crm.core.forms import FieldError
from crm.core.images import ImageError, delete_image, store_image
from crm.core.models import AuditEntry
from crm.extensions import db
from crm.settings import services as settings

# The audit history's entity for the settings as a whole (there is one set of them).
SETTINGS_ENTITY = ("settings", 0)


def update_settings(values, *, actor):
    """Store the changed {key: value}s; return {key: [old, new]} of what changed."""
    current = settings.get_many(list(values))
    changes = {}
    for key, value in values.items():
        if current[key] != value:
            changes[key] = [current[key], value]
            settings.put(key, value, actor=actor)
    if changes:
        entity_type, entity_id = SETTINGS_ENTITY
        db.session.add(
            AuditEntry(
                entity_type=entity_type,
                entity_id=entity_id,
                action="update",
                changes=changes,
                actor_id=getattr(actor, "id", None),
            )
        )
        db.session.flush()
    return changes


def update_office_settings(values, *, actor, logo=None, remove_logo=False, public_contact_ids=None):
    """The settings page's save: the stored `values`, a new logo (an uploaded file) or its
    removal, and the public contact people (ids of active users; None leaves them).

    Raises FieldError (field "logo") for a file that is not an acceptable image; the caller
    rolls back. Returns {key: [old, new]}: the settings' changes, with "public_contacts" as
    [[names before], [names after]] when the people changed.
    """
    values = dict(values)
    old_logo_id = settings.get("logo_image_id")
    if logo is not None:
        try:
            values["logo_image_id"] = store_image(logo, purpose="logo").id
        except ImageError as error:
            raise FieldError(str(error), field="logo") from None
    elif remove_logo:
        values["logo_image_id"] = None
    changes = update_settings(values, actor=actor)
    if "logo_image_id" in changes and old_logo_id is not None:
        delete_image(old_logo_id)
    if public_contact_ids is not None:
        people = set_public_contacts(public_contact_ids, actor=actor)
        if people:
            changes["public_contacts"] = people
    return changes


def public_contact_candidates():
    """Who can be a public contact person: the active users, by name."""
    return db.session.scalars(
        sa.select(User).where(User.active.is_(True)).order_by(User.name, User.id)
    ).all()


def set_public_contacts(user_ids, *, actor):
    """Make exactly the active users in `user_ids` the public contact people. A deactivated
    user keeps their flag (the public page leaves them out), so reactivating them restores
    it. Each user changed gets an audit entry. Returns [[names before], [names after]] of
    the active contact people, or None when nobody changed."""
    wanted = set(user_ids)
    candidates = public_contact_candidates()
    before = [user.name for user in candidates if user.is_public_contact]
    changed = False
    for user in candidates:
        flag = user.id in wanted
        if user.is_public_contact != flag:
            user.is_public_contact = flag
            audit.record(user, "update", actor=actor)
            changed = True
    if not changed:
        return None
    db.session.flush()
    return [before, [user.name for user in candidates if user.is_public_contact]]
