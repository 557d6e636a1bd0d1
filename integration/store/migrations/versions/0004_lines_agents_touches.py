"""Interaction line and agent (with names); the touches table (what the business did toward a contact).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 18:40:30.058655

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('touches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=False),
    sa.Column('interaction_id', sa.Integer(), nullable=True),
    sa.Column('line', sa.String(length=128), nullable=True),
    sa.Column('agent', sa.String(length=128), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['interaction_id'], ['interactions.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source', 'external_id', name='uq_touches_source_external')
    )
    with op.batch_alter_table('touches', schema=None) as batch_op:
        batch_op.create_index('ix_touches_contact_occurred', ['contact_id', 'occurred_at'], unique=False)

    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('line', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('line_name', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('agent', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('agent_name', sa.String(length=255), nullable=True))
        batch_op.create_index('ix_interactions_agent_occurred', ['agent', 'occurred_at'], unique=False)
        batch_op.create_index('ix_interactions_line_occurred', ['line', 'occurred_at'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_index('ix_interactions_line_occurred')
        batch_op.drop_index('ix_interactions_agent_occurred')
        batch_op.drop_column('agent_name')
        batch_op.drop_column('agent')
        batch_op.drop_column('line_name')
        batch_op.drop_column('line')

    with op.batch_alter_table('touches', schema=None) as batch_op:
        batch_op.drop_index('ix_touches_contact_occurred')

    op.drop_table('touches')
