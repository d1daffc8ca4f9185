"""contacts found by lower-case e-mail

Revision ID: 4b7e2c9d1a05
Revises: e81e4852c77a
Create Date: 2026-12-06 15:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4b7e2c9d1a05'
down_revision = 'e81e4852c77a'
branch_labels = None
depends_on = None


def upgrade():
    # An expression index, which autogenerate cannot compare on SQLite: written by hand.
    op.create_index('ix_contacts_email_lower', 'contacts', [sa.text('lower(email)')], unique=False)


def downgrade():
    op.drop_index('ix_contacts_email_lower', table_name='contacts')
