"""The pages that gather what several domains hold about one record.

An organisation's page lists its contacts, agreements, activities, tasks, enquiries and
documents; a contact's page its activities, tasks and enquiries; an agreement's page its
activities, tasks and documents. Those domains sit above the one the record belongs to (the
register is below everything, activities above agreements), so the record's own package
cannot ask them. This read-across package does, as search/ does for the search page: it
imports every domain, and no domain imports it.

The pages keep their addresses and endpoint names (`organisations.detail`,
`contacts.detail`, `agreements.detail`): their routes are added to those blueprints, which
is why the app imports this package before it registers them.
"""

from crm.hubs import views  # noqa: F401
