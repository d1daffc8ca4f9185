"""Reading and writing office settings, with defaults for a fresh installation."""

import sqlalchemy as sa

from crm.core import audit
from crm.core.types import utcnow
from crm.extensions import db
from crm.settings.models import ConsentText, Setting

DEFAULTS = {
    "office_name": "Industry collaboration office",
    "intro_sv": "",
    "intro_en": "",
    "data_controller": "",
    "retention_months": 24,
    # Logged e-mail (forwarded or BCC'd to the office mailbox) is kept this long.
    "email_retention_months": 24,
    "notification_recipients": [],
}


def get(key):
    setting = db.session.get(Setting, key)
    return setting.value if setting is not None else DEFAULTS.get(key)


# Built once: the public form and most pages read settings on every request.
_SELECT_MANY = sa.select(Setting.key, Setting.value).where(
    Setting.key.in_(sa.bindparam("keys", expanding=True))
)


def get_many(keys):
    rows = db.session.execute(_SELECT_MANY, {"keys": list(keys)}).all()
    values = {key: DEFAULTS.get(key) for key in keys}
    values.update({key: value for key, value in rows})
    return values


def put(key, value, *, actor=None):
    setting = db.session.get(Setting, key)
    if setting is None:
        setting = Setting(key=key)
        db.session.add(setting)
    setting.value = value
    setting.updated_by_id = getattr(actor, "id", None)
    return setting


# ---------------------------------------------------------------- consent texts


def newest_consent_text(language):
    """The consent text the contact form shows now in `language`, or None before the first."""
    return db.session.scalars(
        sa.select(ConsentText)
        .where(ConsentText.language == language)
        .order_by(ConsentText.version.desc())
        .limit(1)
    ).first()


def consent_text_versions():
    """Every published consent text, newest first within each language."""
    return db.session.scalars(
        sa.select(ConsentText).order_by(ConsentText.language, ConsentText.version.desc())
    ).all()


def publish_consent_text(language, body, *, actor):
    """Add the next version in `language`. Earlier versions are never changed: each enquiry
    keeps the text its sender agreed to. Flushes; the caller commits."""
    newest = newest_consent_text(language)
    text = ConsentText(version=(newest.version + 1) if newest else 1, language=language, body=body)
    db.session.add(text)
    db.session.flush()
    audit.record_new(
        "consent_texts",
        text.id,
        "create",
        changes={"language": [None, language], "version": [None, text.version]},
        at=utcnow(),
        actor=actor,
    )
    return text
