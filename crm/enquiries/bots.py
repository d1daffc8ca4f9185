"""Submissions of the contact form turned away as automated: counted, not logged one by one.

A bot can post the form thousands of times an hour. Each is counted in one row per office
day (shared by every app process and server, as it is in the database), and the log gets
one line an hour at most, with the count so far. Admins see the counts on the enquiries
page. Everything here flushes and never commits.
"""

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from crm.core.database import upsert_insert
from crm.core.dates import local_today
from crm.core.types import utcnow
from crm.enquiries.models import BotSubmissionCount
from crm.extensions import db

# How far back the enquiries page sums the count.
RECENT_DAYS = 30

_counts = BotSubmissionCount.__table__


def count_turned_away(reason):
    """Count one submission turned away as automated (`reason` says why, for the log);
    log the day's count if the log has not mentioned it this hour. Returns the day's count.

    Written on the session's connection rather than through the session itself, so that it
    does not raise the page cache's data version: a flood of bots must not retire every
    staff member's cached pages with each post. The count is a statistic; a cached
    enquiries page shows it at most PAGE_CACHE_SECONDS late.
    """
    connection = db.session.connection()
    day = local_today()
    insert = upsert_insert(_counts, connection.dialect)
    count = connection.execute(
        insert.values(day=day, count=1)
        .on_conflict_do_update(index_elements=[_counts.c.day], set_={"count": _counts.c.count + 1})
        .returning(_counts.c.count)
    ).scalar_one()
    hour = utcnow().replace(minute=0, second=0, microsecond=0)
    # Only the request that moves logged_at on to this hour logs: one line an hour, even
    # with several processes (the row is locked by the upsert above until the commit).
    claimed = connection.execute(
        sa.update(_counts)
        .where(
            _counts.c.day == day,
            sa.or_(_counts.c.logged_at.is_(None), _counts.c.logged_at < hour),
        )
        .values(logged_at=hour)
    ).rowcount
    if claimed:
        current_app.logger.info(
            "Contact form: submissions turned away as automated today: %s (this one: %s); "
            "counted, and logged once an hour",
            count,
            reason,
        )
    return count


def turned_away_counts():
    """(today, the last RECENT_DAYS days including today): submissions turned away."""
    today = local_today()
    row = db.session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(_counts.c.count).filter(_counts.c.day == today), 0),
            sa.func.coalesce(sa.func.sum(_counts.c.count), 0),
        ).where(_counts.c.day > today - timedelta(days=RECENT_DAYS))
    ).one()
    return row[0], row[1]
