"""index of the receipts per address

Revision ID: b7d41c9e2a60
Revises: 350458038cba
Create Date: 2026-11-27 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import crm.core.types


# revision identifiers, used by Alembic.
revision = 'b7d41c9e2a60'
down_revision = '350458038cba'
branch_labels = None
depends_on = None


def upgrade():
    # The contact form's cap on receipts per address and day counts through this index.
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_messages_receipts', ['recipient', 'created_at'], unique=False, sqlite_where=sa.text("kind = 'enquiry_receipt'"), postgresql_where=sa.text("kind = 'enquiry_receipt'"))


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_messages_receipts', sqlite_where=sa.text("kind = 'enquiry_receipt'"), postgresql_where=sa.text("kind = 'enquiry_receipt'"))
