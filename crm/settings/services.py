"""Reading and writing office settings, with defaults for a fresh installation."""

from types import SimpleNamespace

import sqlalchemy as sa

from crm.core import audit
from crm.core.images import StoredImage, image_url
from crm.core.types import utcnow
from crm.extensions import db
from crm.settings.models import ConsentText, Setting

DEFAULTS = {
    # The office's name per language; "office_name" is the one name of earlier versions, used
    # where a language has none (see office_name()).
    "office_name": "Industry collaboration office",
    "office_name_sv": "",
    "office_name_en": "",
    # The logo (crm.core.images.StoredImage id) and the accent colour (#rrggbb), or None.
    "logo_image_id": None,
    "accent_colour": None,
    "intro_sv": "",
    "intro_en": "",
    "data_controller": "",
    "retention_months": 24,
    # Logged e-mail (forwarded or BCC'd to the office mailbox) is kept this long.
    "email_retention_months": 24,
    "notification_recipients": [],
    # Agreement owners and coordinators are warned this many days before a notice date.
    "agreement_warning_days": 30,
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


def office_name(language, values=None):
    """The office's name in `language` ("sv" or "en"), else in the other, else the old single
    name. `values`: the settings already read with get_many, to spare a query."""
    other = "en" if language == "sv" else "sv"
    keys = [f"office_name_{language}", f"office_name_{other}", "office_name"]
    values = values if values is not None and all(key in values for key in keys) else None
    values = values or get_many(keys)
    return next((values[key] for key in keys if values[key]), DEFAULTS["office_name"])


# What every page's header needs: the name in each language, the logo and the colour.
BRANDING_KEYS = (
    "office_name",
    "office_name_sv",
    "office_name_en",
    "logo_image_id",
    "accent_colour",
)


def branding(language):
    """The office as a page's header shows it in `language`: .name, .logo_url (or None) and
    .accent_colour (#rrggbb, or None for the built-in one). Two queries with a logo, one
    without."""
    values = get_many(BRANDING_KEYS)
    return SimpleNamespace(
        name=office_name(language, values),
        logo_url=logo_url(values["logo_image_id"]),
        accent_colour=values["accent_colour"],
    )


def branding_without_database(language):
    """branding() when the database cannot be read: the built-in name, no logo or colour."""
    return SimpleNamespace(name=DEFAULTS["office_name"], logo_url=None, accent_colour=None)


def logo_url(image_id):
    """The address of the logo with this id, or None (reads the digest, not the image)."""
    if image_id is None:
        return None
    row = db.session.execute(
        sa.select(StoredImage.id, StoredImage.digest, StoredImage.content_type).where(
            StoredImage.id == image_id
        )
    ).first()
    return image_url(*row) if row is not None else None


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
