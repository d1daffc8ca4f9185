"""Profiles: what a user says about themselves (name, title, phone, language, topics of
expertise, photo, whether they are a public contact person), changed by the user or, with
e-mail, role and active, by an admin. One audit entry per save. Never commits."""

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm.auth import services as user_services
from crm.auth.models import Role, User, UserTopic
from crm.core import audit
from crm.core.forms import FieldError
from crm.core.images import ImageError, StoredImage, delete_image, image_url, store_image
from crm.core.models import AuditEntry
from crm.core.topics import Topic
from crm.extensions import db

# The fields a user changes on their own profile; an admin changes these and ADMIN_FIELDS.
PROFILE_FIELDS = ("name", "title", "phone", "language", "is_public_contact")
ADMIN_FIELDS = (*PROFILE_FIELDS, "email", "role", "active")

# How many entries of a user's history their admin page shows.
HISTORY_LIMIT = 20

audit.describe_fields(
    "users",
    {
        "name": (_l("Name"), None),
        "email": (_l("E-mail"), None),
        "title": (_l("Title"), None),
        "phone": (_l("Phone"), None),
        "language": (_l("Language"), None),
        "role": (_l("Role"), Role),
        "active": (_l("Active (may sign in)"), bool),
        "is_public_contact": (_l("Public contact person"), bool),
        "topics": (_l("Topics of expertise"), Topic),
        "photo_id": (_l("Photo"), "image"),
        "password_hash": (_l("Password"), None),
    },
)


def _image_name(image_id):
    return _("Image %(number)s", number=image_id)


# A photo or a logo reads as "Image 12" in the history: the image itself is not kept there.
audit.describe_references("image", _image_name)


def update_user(user, values, *, actor, topics=None, photo=None, remove_photo=False):
    """Change the user's fields in `values` ({field: value}, fields of ADMIN_FIELDS), their
    topics (a list of Topic, or None to leave them), and their photo (an uploaded file to
    store, or remove_photo). One audit entry holds every change; a change of role or active
    flag ends the user's sessions (as crm.auth.services.update_user does).

    Raises FieldError (field named) for input a form cannot check; the caller rolls back.
    Returns {field: [old, new]} of what changed.
    """
    unknown = set(values) - set(ADMIN_FIELDS)
    if unknown:
        raise ValueError(f"not a profile field: {', '.join(sorted(unknown))}")
    values = dict(values)
    if "role" in values:
        values["role"] = Role(values["role"])
    if "role" in values or "active" in values:
        try:
            user_services.check_rights_change(
                user, role=values.get("role"), active=values.get("active"), actor=actor
            )
        except user_services.UserError as error:
            raise FieldError(str(error), field="role" if "role" in values else "active") from None
    if "email" in values:
        values["email"] = _checked_email(user, values["email"])
    if "name" in values:
        values["name"] = (values["name"] or "").strip()
        if not values["name"]:
            raise FieldError(_("Enter a name."), field="name")
    for key in ("title", "phone"):
        if key in values:
            values[key] = (values[key] or "").strip() or None

    old_photo_id = user.photo_id
    if photo is not None:
        try:
            image = store_image(photo, purpose="photo")
        except ImageError as error:
            raise FieldError(str(error), field="photo") from None
        user.photo_id = image.id
    elif remove_photo:
        user.photo_id = None

    for key, value in values.items():
        setattr(user, key, value)
    changes = audit.pending_changes(user)
    if topics is not None:
        topic_change = _set_topics(user, topics)
        if topic_change:
            changes["topics"] = topic_change
    if not changes:
        return {}
    audit.record(user, "update", actor=actor, changes=changes)
    if old_photo_id is not None and old_photo_id != user.photo_id:
        db.session.flush()
        delete_image(old_photo_id)
    if "role" in changes or "active" in changes:
        user_services.end_all_sessions(user)
    return changes


def _checked_email(user, email):
    email = user_services.normalise_email(email)
    if not email or "@" not in email:
        raise FieldError(_("Enter a valid e-mail address."), field="email")
    other = user_services.get_user_by_email(email)
    if other is not None and other.id != user.id:
        raise FieldError(
            _("A user with the e-mail address %(email)s already exists.", email=email),
            field="email",
        )
    return email


def _set_topics(user, topics):
    """Make the user's topics `topics`; [old, new] as sorted values, or None if unchanged.

    Rows are removed and added one by one: replacing the list would insert a topic kept
    before deleting its old row, and the two have the same key.
    """
    wanted = {Topic(topic) for topic in topics}
    current = {row.topic: row for row in user.topics}
    if wanted == set(current):
        return None
    for topic in set(current) - wanted:
        user.topics.remove(current[topic])
    for topic in wanted - set(current):
        user.topics.append(UserTopic(topic=topic))
    return [sorted(topic.value for topic in current), sorted(topic.value for topic in wanted)]


def topics_of(user):
    """The user's topics, in the order Topic lists them."""
    mine = {row.topic for row in user.topics}
    return [topic for topic in Topic if topic in mine]


def photo_url(user):
    """The address of the user's photo, or None (one query for the image's digest, never for
    its bytes)."""
    if user.photo_id is None:
        return None
    row = db.session.execute(
        sa.select(StoredImage.id, StoredImage.digest, StoredImage.content_type).where(
            StoredImage.id == user.photo_id
        )
    ).first()
    return image_url(*row) if row is not None else None


def recent_history(user, limit=HISTORY_LIMIT):
    """The newest audit entries about the user, newest first."""
    return db.session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.entity_type == User.__tablename__, AuditEntry.entity_id == user.id)
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(limit)
    ).all()
