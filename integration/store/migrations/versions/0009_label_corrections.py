"""Label corrections (who changed an interaction's label, when, from what to what), the scorer's own label and
score kept beside a corrected one, links from interactions to the webhook events that made them, and the index
the console's interaction list pages by.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 02:45:00

"""
import logging
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None
log = logging.getLogger(__name__)


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('label_corrections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('interaction_id', sa.Integer(), nullable=False),
    sa.Column('old_label', sa.String(length=16), nullable=True),
    sa.Column('new_label', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('user_email', sa.String(length=320), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['interaction_id'], ['interactions.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['admin_users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('label_corrections', schema=None) as batch_op:
        batch_op.create_index('ix_label_corrections_interaction_created', ['interaction_id', 'created_at'],
                              unique=False)
    op.create_table('interaction_events',
    sa.Column('interaction_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['interaction_id'], ['interactions.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_id'], ['webhook_events.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('interaction_id', 'event_id')
    )
    with op.batch_alter_table('interaction_events', schema=None) as batch_op:
        batch_op.create_index('ix_interaction_events_event', ['event_id'], unique=False)
    with op.batch_alter_table('interaction_scores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('model_label', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('model_score', sa.Float(), nullable=True))
    op.create_index('ix_interactions_at_id', 'interactions', [sa.text('coalesce(occurred_at, created_at)'), 'id'])
    for column in ('source', 'channel', 'line', 'agent'):
        op.create_index(f'ix_interactions_{column}_at_id', 'interactions',
                        [column, sa.text('coalesce(occurred_at, created_at)'), 'id'])
    _word_search_indexes()


def _word_search_indexes() -> None:
    """PostgreSQL: trigram indexes, so a word search (ILIKE '%...%') that matches few rows reads few rows.

    pg_trgm ships with PostgreSQL and is a trusted extension (13+: a database owner may create it). Where it
    cannot be created (a managed server that forbids it), the search still works by scanning: logged, not fatal.
    """
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return
    try:
        with bind.begin_nested():
            bind.execute(sa.text('CREATE EXTENSION IF NOT EXISTS pg_trgm'))
    except sa.exc.DBAPIError as exc:
        log.warning('pg_trgm is not available (%s); word searches of interactions will scan', exc.orig)
        return
    op.execute('CREATE INDEX ix_interactions_turns_trgm ON interactions USING gin ((CAST(turns AS VARCHAR)) gin_trgm_ops)')
    op.execute('CREATE INDEX ix_interactions_summary_trgm ON interactions USING gin ((CAST(summary AS VARCHAR)) gin_trgm_ops)')


def downgrade() -> None:
    """Downgrade schema."""
    op.execute('DROP INDEX IF EXISTS ix_interactions_summary_trgm')
    op.execute('DROP INDEX IF EXISTS ix_interactions_turns_trgm')
    for column in ('source', 'channel', 'line', 'agent'):
        op.drop_index(f'ix_interactions_{column}_at_id', table_name='interactions')
    op.drop_index('ix_interactions_at_id', table_name='interactions')
    with op.batch_alter_table('interaction_scores', schema=None) as batch_op:
        batch_op.drop_column('model_score')
        batch_op.drop_column('model_label')
    with op.batch_alter_table('interaction_events', schema=None) as batch_op:
        batch_op.drop_index('ix_interaction_events_event')
    op.drop_table('interaction_events')
    with op.batch_alter_table('label_corrections', schema=None) as batch_op:
        batch_op.drop_index('ix_label_corrections_interaction_created')
    op.drop_table('label_corrections')
