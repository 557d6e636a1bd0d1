"""Callback pairs (Q4), kept at refresh time: an unresolved interaction and the same contact's next inbound
interaction within 48 hours. A contact's pairs are recomputed from its whole history whenever any of its
interactions changes (a later positive one resolves earlier ones; a new call can make a pair). Each pair keeps
the themes of its two interactions; what a contact's pairs add to the daily pair counts is subtracted before
they are replaced and the new pairs' added, so the counts stay exact (`rollup.refresh` writes them)."""
from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from integration.insights import definitions as d
from integration.insights.base import AT, aware
from integration.insights.tables import NONE, InsightCallback, InsightTheme
from integration.store.models import Interaction, InteractionScore

CONTACTS_PER_READ = 1000
IDS_PER_READ = 1000
DIMS = ("day", "source", "channel", "line", "agent")  # the keys of insight_daily_callbacks


def recompute(session: Session, contact_ids: set[int], tz) -> tuple[dict, dict]:
    """Replace the stored pairs of these contacts with pairs computed from their current histories.

    Returns the changes to the daily counts: (day, source, channel, line, agent) -> pairs, and
    (day, theme, source, channel, line, agent) -> pairs carrying that theme; keys whose change is 0 left out.
    """
    counts: dict[tuple, int] = defaultdict(int)
    themes: dict[tuple, int] = defaultdict(int)
    ids = sorted(contact_ids)
    cb = InsightCallback
    for start in range(0, len(ids), CONTACTS_PER_READ):
        chunk = ids[start:start + CONTACTS_PER_READ]
        # Their stored pairs, and pairs stored under another contact whose first interaction is theirs now (a
        # contact merge moves interactions without touching them): replaced too, never inserted twice.
        columns = (cb.interaction_id, cb.day, cb.source, cb.channel, cb.line, cb.agent, cb.themes)
        stale = select(*columns).join(Interaction, Interaction.id == cb.interaction_id).where(
            Interaction.contact_id.in_(chunk), cb.contact_id != Interaction.contact_id)
        old = {row[0]: row[1:] for stmt in (select(*columns).where(cb.contact_id.in_(chunk)), stale)
               for row in session.execute(stmt)}
        for row in old.values():
            _count(counts, themes, dict(zip((*DIMS, "themes"), row)), -1)
        replaced = list(old)
        for first in range(0, len(replaced), IDS_PER_READ):
            session.execute(delete(cb).where(cb.interaction_id.in_(replaced[first:first + IDS_PER_READ])))
        rows = [pair for history in _histories(session, chunk).values() for pair in pairs(history, tz)]
        _attach_themes(session, rows)
        for row in rows:
            _count(counts, themes, row, +1)
        if rows:
            session.execute(insert(cb), rows)
    return {k: v for k, v in counts.items() if v}, {k: v for k, v in themes.items() if v}


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


def _attach_themes(session: Session, rows: list[dict]) -> None:
    """Set each pair's `themes`: the themes either of its interactions carries now (insight_themes)."""
    ids = sorted({r["interaction_id"] for r in rows} | {r["callback_id"] for r in rows})
    themes_of: dict[int, set] = {}
    for start in range(0, len(ids), IDS_PER_READ):
        for iid, theme in session.execute(select(InsightTheme.interaction_id, InsightTheme.theme).where(
                InsightTheme.interaction_id.in_(ids[start:start + IDS_PER_READ]))):
            themes_of.setdefault(iid, set()).add(theme)
    for row in rows:
        row["themes"] = "|".join(sorted(themes_of.get(row["interaction_id"], set())
                                        | themes_of.get(row["callback_id"], set())))


def _count(counts: dict, themes: dict, pair: dict, sign: int) -> None:
    """Add (sign +1) or subtract (-1) one pair's contribution to the daily counts."""
    key = (pair["day"], pair["source"], pair["channel"], pair["line"] or NONE, pair["agent"] or NONE)
    counts[key] += sign
    for theme in filter(None, pair["themes"].split("|")):
        themes[(key[0], theme, *key[1:])] += sign


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
