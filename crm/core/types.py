"""Column types that behave the same on SQLite and PostgreSQL."""

import functools
from datetime import UTC, datetime
from enum import StrEnum

import sqlalchemy as sa
from wtforms.fields.choices import SelectChoice


def utcnow():
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """Stores naive UTC, returns aware UTC: SQLite keeps no time zone, so we never rely on one."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime needs an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class LabelledEnum(StrEnum):
    """A string enum whose members carry a translated label for forms and pages.

    Subclasses define `_labels()` returning {value: lazy_gettext(...)}.
    """

    @property
    def label(self):
        return _labels_of(type(self))[self.value]

    @classmethod
    def choices(cls):
        """Options for a WTForms SelectField."""
        return [SelectChoice(member.value, member.label) for member in cls]


def enum_value(enum_class, value):
    """`value` when it is one of the enum's values, else None.

    List filters read enum values from the query string, where anything can be typed; one
    check for every list, so an unknown value means "no filter" everywhere alike.
    """
    return value if value in {member.value for member in enum_class} else None


@functools.cache
def _labels_of(enum_class):
    # Built once per enum: the lazy strings are translated each time they are shown, so one
    # map serves every language (building it for each label made a list of n options cost
    # n² lazy strings).
    return enum_class._labels()


def enum_column(enum_class, **kwargs):
    """A VARCHAR column for an enum: no database enum type, so adding a value needs no migration."""
    return sa.Enum(
        enum_class,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
        **kwargs,
    )
