"""indexes for the enquiries inbox order

Revision ID: 6b8d0f2a4c31
Revises: 5a7c9e1b3d20
Create Date: 2026-12-06 19:10:00

The inbox sorts the live enquiries by whether someone is assigned, then by when they came
(crm/enquiries/services.py, INBOX_ORDER); these indexes hold that order, over every status
and within one, so a page is read in order instead of every open enquiry being sorted.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "6b8d0f2a4c31"
down_revision = "5a7c9e1b3d20"
branch_labels = None
depends_on = None

LIVE = sa.text("deleted_at IS NULL")
ASSIGNED = sa.text("(assignee_id IS NOT NULL)")


def upgrade():
    op.create_index(
        "ix_enquiries_live_inbox",
        "enquiries",
        [ASSIGNED, "received_at", "id"],
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )
    op.create_index(
        "ix_enquiries_live_status_inbox",
        "enquiries",
        ["status", ASSIGNED, "received_at", "id"],
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )


def downgrade():
    op.drop_index("ix_enquiries_live_status_inbox", table_name="enquiries")
    op.drop_index("ix_enquiries_live_inbox", table_name="enquiries")
