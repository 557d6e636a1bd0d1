"""API tokens; the insights' rollups, theme index and state; indexes the insight queries read by.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 19:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_table('insight_themes',
    sa.Column('interaction_id', sa.Integer(), nullable=False),
    sa.Column('theme', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('label', sa.String(length=16), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('evidence', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['interaction_id'], ['interactions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('interaction_id', 'theme')
    )
    op.create_index('ix_insight_themes_label_at', 'insight_themes', ['label', 'at', 'theme', 'contact_id'])
    op.create_index('ix_insight_themes_theme_at', 'insight_themes', ['theme', 'at'])
    def dims():
        return [sa.Column('source', sa.String(length=32), nullable=False),
                sa.Column('channel', sa.String(length=16), nullable=False),
                sa.Column('line', sa.String(length=128), nullable=False),
                sa.Column('agent', sa.String(length=128), nullable=False),
                sa.Column('label', sa.String(length=16), nullable=False)]

    op.create_table('insight_facts',
    sa.Column('interaction_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    *dims(),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('escalated', sa.Integer(), nullable=False),
    sa.Column('recovered', sa.Integer(), nullable=False),
    sa.Column('themes', sa.Text(), nullable=False),
    sa.Column('seen_updated_at', sa.DateTime(), nullable=False),
    sa.Column('seen_scored_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('interaction_id')
    )
    op.create_table('insight_daily',
    sa.Column('day', sa.Date(), nullable=False),
    *dims(),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('score_sum', sa.Float(), nullable=False),
    sa.Column('escalated', sa.Integer(), nullable=False),
    sa.Column('recovered', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'source', 'channel', 'line', 'agent', 'label')
    )
    op.create_table('insight_daily_themes',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('theme', sa.String(length=64), nullable=False),
    *dims(),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'theme', 'source', 'channel', 'line', 'agent', 'label')
    )
    op.create_table('insight_callbacks',
    sa.Column('interaction_id', sa.Integer(), nullable=False),
    sa.Column('callback_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('hours', sa.Float(), nullable=False),
    sa.Column('line', sa.String(length=128), nullable=True),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('agent', sa.String(length=128), nullable=True),
    sa.PrimaryKeyConstraint('interaction_id')
    )
    op.create_index('ix_insight_callbacks_day', 'insight_callbacks', ['day'])
    op.create_index('ix_insight_callbacks_contact', 'insight_callbacks', ['contact_id'])
    op.create_table('insight_names',
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'key')
    )
    op.create_table('insight_state',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    # The insight queries select interactions by when they happened (occurred_at, else created_at).
    op.create_index('ix_interactions_at', 'interactions', [sa.text('coalesce(occurred_at, created_at)')])
    op.create_index('ix_interactions_updated_at', 'interactions', ['updated_at'])
    op.create_index('ix_interaction_scores_scored_at', 'interaction_scores', ['scored_at'])
    op.create_index('ix_interaction_scores_label_score', 'interaction_scores', ['label', 'score', 'interaction_id'])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_interaction_scores_label_score', table_name='interaction_scores')
    op.drop_index('ix_interaction_scores_scored_at', table_name='interaction_scores')
    op.drop_index('ix_interactions_updated_at', table_name='interactions')
    op.drop_index('ix_interactions_at', table_name='interactions')
    op.drop_table('insight_state')
    op.drop_table('insight_names')
    op.drop_index('ix_insight_callbacks_contact', table_name='insight_callbacks')
    op.drop_index('ix_insight_callbacks_day', table_name='insight_callbacks')
    op.drop_table('insight_callbacks')
    op.drop_table('insight_daily_themes')
    op.drop_table('insight_daily')
    op.drop_table('insight_facts')
    op.drop_index('ix_insight_themes_theme_at', table_name='insight_themes')
    op.drop_index('ix_insight_themes_label_at', table_name='insight_themes')
    op.drop_table('insight_themes')
    op.drop_table('api_tokens')
