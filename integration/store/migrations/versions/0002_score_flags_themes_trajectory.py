"""Escalation flags, themes and trajectory on interaction scores.

Revision ID: 0002
Revises: 0001
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("interaction_scores", schema=None) as batch_op:
        batch_op.add_column(sa.Column("flags", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("themes", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("start_score", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("end_score", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("trajectory", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("interaction_scores", schema=None) as batch_op:
        for column in ("trajectory", "end_score", "start_score", "themes", "flags"):
            batch_op.drop_column(column)
