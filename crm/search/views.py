"""The search results page behind the header's search box."""

from crm.search import bp  # noqa: F401
