"""Report pages: the quarterly figures and the yearly report per organisation."""

from crm.reports import bp  # noqa: F401
