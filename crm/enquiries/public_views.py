"""The public contact form (being written)."""
