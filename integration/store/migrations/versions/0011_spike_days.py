"""Spike days: per theme and day, the contacts whose latest negative interaction on the theme falls on that day
and the negative interactions that day (`integration/insights/spike_days.py`), so `spikes` sums days instead of
counting distinct customers over the window's rows; an index on insight_themes by contact keeps them by deltas.
Filled here from `insight_themes` as the last refresh left it (in the TIMEZONE it used), so no rebuild is needed.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 04:10:00

"""
from collections import defaultdict
from datetime import datetime, time, timedelta, timezone
from typing import Sequence, Union
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('insight_spike_days',
    sa.Column('theme', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('customers', sa.Integer(), nullable=False),
    sa.Column('interactions', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('theme', 'day')
    )
    op.create_index('ix_insight_themes_contact', 'insight_themes', ['contact_id', 'label', 'theme', 'at'])
    bind = op.get_bind()
    zone = bind.execute(sa.text("SELECT value FROM insight_state WHERE key = 'timezone'")).scalar()
    if zone is None:
        return  # never refreshed (or cleared): the next refresh rebuilds everything, these rows included
    tz = ZoneInfo(zone)
    rows, latest = defaultdict(lambda: [0, 0]), {}
    for theme, contact_id, at in bind.execute(sa.text(
            "SELECT theme, contact_id, at FROM insight_themes WHERE label = 'negative'")):
        at = datetime.fromisoformat(at) if isinstance(at, str) else at  # SQLite gives text
        at = at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at
        rows[(theme, _day_of(at, tz))][1] += 1
        if contact_id is not None and ((theme, contact_id) not in latest or at > latest[(theme, contact_id)]):
            latest[(theme, contact_id)] = at
    for (theme, _), at in latest.items():
        rows[(theme, _day_of(at, tz))][0] += 1
    table = sa.table('insight_spike_days', sa.column('theme'), sa.column('day'), sa.column('customers'),
                     sa.column('interactions'))
    values = [{"theme": theme, "day": day, "customers": c, "interactions": n} for (theme, day), (c, n) in rows.items()]
    if values:
        op.bulk_insert(table, values)


def _day_of(at, tz):
    """As `spike_days.day_of` then: the last local day whose midnight is at or before `at`."""
    def midnight(day):
        return datetime.combine(day, time(0), tzinfo=tz).astimezone(timezone.utc)
    day = at.astimezone(tz).date()
    while midnight(day + timedelta(days=1)) <= at:
        day += timedelta(days=1)
    while midnight(day) > at:
        day -= timedelta(days=1)
    return day


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_insight_themes_contact', table_name='insight_themes')
    op.drop_table('insight_spike_days')
