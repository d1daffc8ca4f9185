"""The admin's outbox page (being written)."""
