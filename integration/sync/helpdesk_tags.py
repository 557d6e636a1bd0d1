"""Sentiment and escalation tags on the help-desk ticket an interaction came from.

Tags: `sentiment_<negative|neutral|positive>` and `escalation_<rule>` per escalation flag (e.g.
`escalation_competitor`). When a ticket's sentiment changes, the old `sentiment_*` tag is removed;
tags anyone else set are never touched. The tags last written are kept on the interaction.
"""
from __future__ import annotations

from sqlalchemy import select

from connectors import registry
from integration.settings import Settings
from integration.store.db import Database
from integration.store.models import Interaction, InteractionScore
from scoring.base import LABELS


def taggable(db: Database, interaction_ids: list[int], settings: Settings) -> list[int]:
    """Scored interactions from help desks whose API credentials are configured."""
    sources = {s for s in registry.TAG_WRITERS if _configured(settings, s)}
    if not sources or not interaction_ids:
        return []
    with db.session() as session:
        stmt = select(Interaction.id).join(InteractionScore).where(
            Interaction.id.in_(interaction_ids), Interaction.source.in_(sources))
        return list(session.scalars(stmt))


def desired_tags(score: InteractionScore) -> list[str]:
    return [f"sentiment_{score.label}", *dict.fromkeys(f"escalation_{f['rule']}" for f in score.flags or [])]


def tag_interaction(db: Database, settings: Settings, interaction_id: int) -> dict:
    """Apply the tags; idempotent (the same tags again change nothing)."""
    with db.session() as session:
        interaction = session.get(Interaction, interaction_id)
        if interaction is None or interaction.score is None:
            return {"status": "nothing"}
        source, source_ids = interaction.source, dict(interaction.source_ids or {})
        wanted, before = desired_tags(interaction.score), list(interaction.helpdesk_tags or [])
    writer = registry.tag_writer(source, settings.source_api(source))
    if writer is None:
        return {"status": "not a help desk"}
    stale = {f"sentiment_{label}" for label in LABELS} | set(before)
    remove = sorted(t for t in stale if t not in wanted)
    writer.apply_tags(source_ids, wanted, remove)
    with db.session() as session:
        session.get(Interaction, interaction_id).helpdesk_tags = wanted
    return {"status": "tagged", "added": wanted, "removed": remove}


def _configured(settings: Settings, source: str) -> bool:
    api = settings.source_api(source)
    return bool(api) and all(api.values())
