"""Staff triage of enquiries (being written)."""
