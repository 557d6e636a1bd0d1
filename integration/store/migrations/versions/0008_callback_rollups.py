"""Callback pairs by day: each pair keeps its themes; daily pair counts (and per theme) kept by deltas; the
pairs are read in time order through an (at, interaction_id) index. The insight state is cleared, so the
next refresh rebuilds every insight table (the new counts start exact).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 02:40:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def dims():
    return [sa.Column('source', sa.String(length=32), nullable=False),
            sa.Column('channel', sa.String(length=16), nullable=False),
            sa.Column('line', sa.String(length=128), nullable=False),
            sa.Column('agent', sa.String(length=128), nullable=False),
            sa.Column('n', sa.Integer(), nullable=False)]


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('insight_callbacks') as batch:
        batch.add_column(sa.Column('themes', sa.Text(), nullable=False, server_default=''))
    op.drop_index('ix_insight_callbacks_day', table_name='insight_callbacks')
    op.create_index('ix_insight_callbacks_at', 'insight_callbacks', ['at', 'interaction_id'])
    op.create_index('ix_insight_callbacks_line_at', 'insight_callbacks', ['line', 'at', 'interaction_id'])
    op.create_table('insight_daily_callbacks',
    sa.Column('day', sa.Date(), nullable=False),
    *dims(),
    sa.PrimaryKeyConstraint('day', 'source', 'channel', 'line', 'agent')
    )
    op.create_table('insight_daily_callback_themes',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('theme', sa.String(length=64), nullable=False),
    *dims(),
    sa.PrimaryKeyConstraint('day', 'theme', 'source', 'channel', 'line', 'agent')
    )
    op.execute("DELETE FROM insight_state")  # the next refresh rebuilds everything, the new tables included


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('insight_daily_callback_themes')
    op.drop_table('insight_daily_callbacks')
    op.drop_index('ix_insight_callbacks_line_at', table_name='insight_callbacks')
    op.drop_index('ix_insight_callbacks_at', table_name='insight_callbacks')
    op.create_index('ix_insight_callbacks_day', 'insight_callbacks', ['day'])
    with op.batch_alter_table('insight_callbacks') as batch:
        batch.drop_column('themes')
