"""organisations' website domain and contacts' e-mail domain, derived and indexed

Revision ID: 7c3d5e9f2a14
Revises: 4b7e2c9d1a05
Create Date: 2026-12-06 16:10:00.000000

"""
from alembic import op
import sqlalchemy as sa

from crm.core.text import email_domain, website_domain


# revision identifiers, used by Alembic.
revision = '7c3d5e9f2a14'
down_revision = '4b7e2c9d1a05'
branch_labels = None
depends_on = None

BATCH = 5000


def _fill(table, source, target, derive):
    """Set target from source on every row, in batches, with the same function the models use."""
    connection = op.get_bind()
    rows = sa.table(table, sa.column('id'), sa.column(source), sa.column(target))
    last_id = 0
    while True:
        batch = connection.execute(
            sa.select(rows.c.id, rows.c[source])
            .where(rows.c.id > last_id, rows.c[source].is_not(None))
            .order_by(rows.c.id)
            .limit(BATCH)
        ).all()
        if not batch:
            return
        values = [
            {'row_id': row_id, 'value': (derive(value) or '')[:253] or None}
            for row_id, value in batch
        ]
        connection.execute(
            rows.update().where(rows.c.id == sa.bindparam('row_id')).values(
                {target: sa.bindparam('value')}
            ),
            values,
        )
        last_id = batch[-1][0]


def upgrade():
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('website_domain', sa.String(length=253), nullable=True))
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_domain', sa.String(length=253), nullable=True))
    _fill('organisations', 'website', 'website_domain', website_domain)
    _fill('contacts', 'email', 'email_domain', email_domain)
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_organisations_website_domain'), ['website_domain'], unique=False
        )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index(
            'ix_contacts_email_domain', ['email_domain', 'organisation_id'], unique=False
        )


def downgrade():
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_contacts_email_domain')
        batch_op.drop_column('email_domain')
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organisations_website_domain'))
        batch_op.drop_column('website_domain')
