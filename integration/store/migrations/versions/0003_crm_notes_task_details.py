"""CRM notes, follow-up task details, contact CRM status, help-desk tags, sink notes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 08:38:16.675462

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('sink_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sink_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sink_notes_contact_id'), ['contact_id'], unique=False)

    op.create_table('crm_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('crm', sa.String(length=32), nullable=False),
    sa.Column('interaction_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('crm_note_id', sa.String(length=64), nullable=True),
    sa.Column('body_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['interaction_id'], ['interactions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('crm', 'interaction_id', name='uq_crm_notes_crm_interaction')
    )
    with op.batch_alter_table('crm_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_notes_contact_id'), ['contact_id'], unique=False)

    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('crm_status', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('crm_error', sa.Text(), nullable=True))

    with op.batch_alter_table('follow_up_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('task_type', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('owner_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('resolution_noted_for', sa.Integer(), nullable=True))

    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('helpdesk_tags', sa.JSON(), nullable=False, server_default='[]'))



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_column('helpdesk_tags')

    with op.batch_alter_table('follow_up_tasks', schema=None) as batch_op:
        batch_op.drop_column('resolution_noted_for')
        batch_op.drop_column('owner_id')
        batch_op.drop_column('task_type')
        batch_op.drop_column('priority')

    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_column('crm_error')
        batch_op.drop_column('crm_status')

    with op.batch_alter_table('crm_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_notes_contact_id'))

    op.drop_table('crm_notes')
    with op.batch_alter_table('sink_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sink_notes_contact_id'))

    op.drop_table('sink_notes')
