"""API tokens; the insights' theme index and state; indexes the insight queries read by.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 19:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


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
    op.create_index('ix_insight_themes_at_label_theme', 'insight_themes', ['at', 'label', 'theme'])
    op.create_index('ix_insight_themes_theme_at', 'insight_themes', ['theme', 'at'])
    op.create_table('insight_state',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    # The insight queries select interactions by when they happened (occurred_at, else created_at).
    op.create_index('ix_interactions_at', 'interactions', [sa.text('coalesce(occurred_at, created_at)')])
    op.create_index('ix_interactions_updated_at', 'interactions', ['updated_at'])
    op.create_index('ix_interaction_scores_scored_at', 'interaction_scores', ['scored_at'])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_interaction_scores_scored_at', table_name='interaction_scores')
    op.drop_index('ix_interactions_updated_at', table_name='interactions')
    op.drop_index('ix_interactions_at', table_name='interactions')
    op.drop_table('insight_state')
    op.drop_index('ix_insight_themes_theme_at', table_name='insight_themes')
    op.drop_index('ix_insight_themes_at_label_theme', table_name='insight_themes')
    op.drop_table('insight_themes')
    op.drop_table('api_tokens')
