"""Reading and writing office settings, with defaults for a fresh installation."""

import sqlalchemy as sa
from flask_babel import get_locale

from crm.extensions import db
from crm.settings.models import Setting

DEFAULTS = {
    "office_name": "Industry collaboration office",
    "intro_sv": "",
    "intro_en": "",
    "data_controller": "",
    "retention_months": 24,
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


def localised(key_prefix):
    """The `<prefix>_sv` or `<prefix>_en` setting in the current language, else the other one."""
    language = str(get_locale() or "sv")
    other = "en" if language == "sv" else "sv"
    values = get_many([f"{key_prefix}_{language}", f"{key_prefix}_{other}"])
    return values[f"{key_prefix}_{language}"] or values[f"{key_prefix}_{other}"]


def put(key, value, *, actor=None):
    setting = db.session.get(Setting, key)
    if setting is None:
        setting = Setting(key=key)
        db.session.add(setting)
    setting.value = value
    setting.updated_by_id = getattr(actor, "id", None)
    return setting
