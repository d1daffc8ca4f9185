"""One timeline of what happened with an organisation or a contact.

E-mails, activities, enquiries, documents, tasks and agreements live in domains above the
register, so the register's pages cannot ask them. This read-across package does, as search/
does for the search page: each domain offers a select of the record's rows under its own read
rule, and the timeline merges them, newest first, a page at a time. Only hubs/ imports it.
"""
