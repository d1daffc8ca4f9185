"""Changing the office settings, with an audit entry of what changed."""

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
