"""Callback pairs (Q4), kept at refresh time: an unresolved interaction and the same contact's next inbound
interaction within 48 hours. A contact's pairs are recomputed from its whole history whenever any of its
interactions changes (a later positive one resolves earlier ones; a new call can make a pair)."""
from __future__ import annotations

from bisect import bisect_right

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from integration.insights import definitions as d
from integration.insights.base import AT, aware
from integration.insights.tables import InsightCallback
from integration.store.models import Interaction, InteractionScore

CONTACTS_PER_READ = 1000


def recompute(session: Session, contact_ids: set[int], tz) -> None:
    """Replace the stored pairs of these contacts with pairs computed from their current histories."""
    ids = sorted(contact_ids)
    for start in range(0, len(ids), CONTACTS_PER_READ):
        chunk = ids[start:start + CONTACTS_PER_READ]
        session.execute(delete(InsightCallback).where(InsightCallback.contact_id.in_(chunk)))
        rows = [pair for history in _histories(session, chunk).values() for pair in pairs(history, tz)]
        if rows:
            session.execute(insert(InsightCallback), rows)


def pairs(history: list[tuple], tz) -> list[dict]:
    """The callback pairs of one contact's history [(id, at, direction, label, escalated, line, ...)]."""
    found, times = [], [row[1] for row in history]
    last_positive = max((row[1] for row in history if row[3] == d.RESOLVED_BY_LABEL), default=None)
    for iid, at, _direction, label, escalated, line, source, channel, agent, contact_id in history:
        if label is None or not d.needs_resolution(label, "x" if escalated else None):
            continue
        if last_positive is not None and last_positive > at:
            continue  # resolved by a later positive interaction
        for other in history[bisect_right(times, at):]:
            if other[1] > at + d.CALLBACK_WINDOW:
                break
            if other[0] != iid and (other[2] is None or other[2] in d.CALLBACK_DIRECTIONS):
                found.append({"interaction_id": iid, "callback_id": other[0], "contact_id": contact_id, "at": at,
                              "day": at.astimezone(tz).date(), "hours": (other[1] - at).total_seconds() / 3600,
                              "line": line, "source": source, "channel": channel, "agent": agent})
                break
    return found


def _histories(session: Session, contact_ids: list[int]) -> dict[int, list[tuple]]:
    stmt = select(Interaction.id, AT, Interaction.direction, InteractionScore.label,
                  InteractionScore.escalation_reason, Interaction.line, Interaction.source, Interaction.channel,
                  Interaction.agent, Interaction.contact_id).outerjoin(InteractionScore).where(
        Interaction.contact_id.in_(contact_ids))
    found: dict[int, list[tuple]] = {}
    for iid, at, direction, label, escalation, line, source, channel, agent, contact_id in session.execute(stmt):
        found.setdefault(contact_id, []).append((iid, aware(at), direction, label, bool(escalation), line, source,
                                                 channel, agent, contact_id))
    for history in found.values():
        history.sort(key=lambda r: (r[1], r[0]))
    return found
