"""Callback pairs by day: each pair keeps its themes; daily pair counts (and per theme) kept by deltas; the
pairs are read in time order through an (at, interaction_id) index. The new columns and tables are filled
here from the stored pairs and `insight_themes` (both as the last refresh left them), so the counts start
exact without a rebuild (which, at a million interactions, would not fit in a request's statement timeout).

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
    _fill()


# (pair, theme) for every theme either interaction of a stored pair carries, each once.
PAIR_THEMES = """
    SELECT c.interaction_id, t.theme FROM insight_callbacks c JOIN insight_themes t ON t.interaction_id = c.interaction_id
    UNION
    SELECT c.interaction_id, t.theme FROM insight_callbacks c JOIN insight_themes t ON t.interaction_id = c.callback_id
"""


def _fill() -> None:
    """The pairs' themes and the daily counts, as `rollup.refresh` would have kept them."""
    joined = "string_agg(pt.theme, '|' ORDER BY pt.theme)" if op.get_bind().dialect.name == "postgresql" \
        else "group_concat(pt.theme, '|')"  # the order within does not matter: it is read as a set
    op.execute(f"""UPDATE insight_callbacks SET themes = COALESCE((SELECT {joined} FROM (
                       SELECT DISTINCT t.theme FROM insight_themes t WHERE t.interaction_id IN (
                           insight_callbacks.interaction_id, insight_callbacks.callback_id)) pt), '')""")
    op.execute("""INSERT INTO insight_daily_callbacks (day, source, channel, line, agent, n)
                  SELECT day, source, channel, COALESCE(line, ''), COALESCE(agent, ''), count(*)
                  FROM insight_callbacks GROUP BY day, source, channel, COALESCE(line, ''), COALESCE(agent, '')""")
    op.execute(f"""INSERT INTO insight_daily_callback_themes (day, theme, source, channel, line, agent, n)
                   SELECT c.day, pt.theme, c.source, c.channel, COALESCE(c.line, ''), COALESCE(c.agent, ''), count(*)
                   FROM insight_callbacks c JOIN ({PAIR_THEMES}) pt ON pt.interaction_id = c.interaction_id
                   GROUP BY c.day, pt.theme, c.source, c.channel, COALESCE(c.line, ''), COALESCE(c.agent, '')""")


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('insight_daily_callback_themes')
    op.drop_table('insight_daily_callbacks')
    op.drop_index('ix_insight_callbacks_line_at', table_name='insight_callbacks')
    op.drop_index('ix_insight_callbacks_at', table_name='insight_callbacks')
    op.create_index('ix_insight_callbacks_day', 'insight_callbacks', ['day'])
    with op.batch_alter_table('insight_callbacks') as batch:
        batch.drop_column('themes')
