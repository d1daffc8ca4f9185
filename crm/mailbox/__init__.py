"""The office mailbox: reading incoming mail over IMAP and filing each message."""
