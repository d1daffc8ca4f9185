"""Agreement pages: list, export, detail, create, edit, delete and restore."""

from crm.agreements import bp  # noqa: F401
