"""Store normalised interactions (merging events of one conversation) and their current scores."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connectors import base
from integration.db import add_unless_exists
from integration.models import Contact, Interaction, InteractionScore, utcnow
from scoring.analysis import Analyzer
from scoring.escalation import History, summary_reason
from scoring.interaction import content_hash, texts_to_score


def upsert_interaction(session: Session, item: base.Interaction, contact: Contact | None) -> tuple[Interaction, bool]:
    """Merge an event's view of a conversation into its row; True when anything changed."""
    row = _locked_row(session, item.source, item.thread_key)
    if row is None:
        row = _insert(session, item)
        if row is None:  # created concurrently by another worker: merge into theirs
            row = _locked_row(session, item.source, item.thread_key)
    changed = _merge(row, item, contact)
    if changed:
        row.updated_at = utcnow()
    return row, changed


def rescore(session: Session, row: Interaction, analyzer: Analyzer) -> bool:
    """Score the interaction unless exactly this content was already scored by this scorer.

    A change of rules or taxonomy applies to interactions scored from then on.
    """
    selected = texts_to_score(row.turns, row.summary)
    if selected is None:
        return False
    if row.score is not None and row.score.content_hash == content_hash(analyzer.scorer.name, selected[2]):
        return False
    analysis = analyzer.analyse(row.turns, row.summary, _history(session, row))
    scored, flags = analysis.scored, analysis.flags
    record = row.score or InteractionScore(interaction=row)
    record.scorer = analyzer.scorer.name
    record.basis = scored.basis
    record.label = scored.overall.label
    record.score = scored.overall.score
    record.intensity = scored.overall.intensity
    record.confidence = scored.overall.confidence
    record.signals = list(scored.overall.signals)
    record.turn_scores = scored.turn_scores
    record.flags = [f.as_dict() for f in flags]
    record.themes = [t.as_dict() for t in analysis.themes]
    record.escalation_reason = (summary_reason(flags) or "")[:255] or None
    record.start_score, record.end_score, record.trajectory = scored.start_score, scored.end_score, scored.trajectory
    record.content_hash = scored.content_hash
    record.scored_at = utcnow()
    session.add(record)
    return True


def _history(session: Session, row: Interaction) -> History:
    """Hours since this contact's latest earlier negative interaction (for the repeat-contact rule)."""
    if row.contact_id is None:
        return History()
    when = row.occurred_at or row.created_at or utcnow()
    occurred = func.coalesce(Interaction.occurred_at, Interaction.created_at)
    previous = session.scalar(
        select(occurred).join(InteractionScore).where(
            Interaction.contact_id == row.contact_id, Interaction.id != row.id,
            InteractionScore.label == "negative", occurred <= when,
        ).order_by(occurred.desc()).limit(1)
    )
    if previous is None:
        return History()
    if previous.tzinfo is None:  # a coalesce() result bypasses the UTC type on SQLite
        previous = datetime.fromisoformat(str(previous)).replace(tzinfo=timezone.utc)
    return History(negative_within_hours=(when - previous).total_seconds() / 3600)


def _locked_row(session: Session, source: str, thread_key: str) -> Interaction | None:
    stmt = select(Interaction).where(Interaction.source == source, Interaction.thread_key == thread_key)
    return session.scalar(stmt.with_for_update())


def _insert(session: Session, item: base.Interaction) -> Interaction | None:
    row = Interaction(source=item.source, thread_key=item.thread_key, channel=item.channel, source_ids={})
    return row if add_unless_exists(session, row) else None


def _merge(row: Interaction, item: base.Interaction, contact: Contact | None) -> bool:
    """Fields the event does not carry (None) never erase what is stored."""
    before = _snapshot(row)
    if contact is not None and row.contact_id is None:
        row.contact_id = contact.id
    if item.direction:
        row.direction = item.direction
    if item.occurred_at and (row.occurred_at is None or item.occurred_at < row.occurred_at):
        row.occurred_at = item.occurred_at  # the conversation's start: the earliest time any event gives
    if item.turns is not None:
        row.turns = _appended(row.turns or [], item.turns) if item.append_turns else [_turn_dict(t) for t in item.turns]
    if item.summary:
        row.summary = item.summary
    if item.url:
        row.url = item.url
    _merge_line_agent(row, item)
    merged = {**(row.source_ids or {}), **{k: str(v) for k, v in item.source_ids.items() if v is not None}}
    if merged != row.source_ids:
        row.source_ids = merged
    return _snapshot(row) != before


def _merge_line_agent(row: Interaction, item: base.Interaction) -> None:
    """The line and agent (and their names) an event gives; one it does not give keeps the stored value."""
    for name, limit in (("line", 128), ("line_name", 255), ("agent", 128), ("agent_name", 255)):
        value = getattr(item, name)
        if value:
            setattr(row, name, value[:limit])


def _snapshot(row: Interaction) -> tuple:
    return (row.contact_id, row.direction, row.occurred_at, row.turns, row.summary, row.url, dict(row.source_ids or {}))


def _appended(stored: list[dict], new: tuple[base.Turn, ...]) -> list[dict]:
    """Stored turns plus the new ones not already there (by id, else by speaker and text), in time order."""
    seen = {t.get("id") or (t["speaker"], t["text"]) for t in stored}
    added = [_turn_dict(t) for t in new if (t.id or (t.speaker, t.text)) not in seen]
    if not added:
        return stored
    return sorted(stored + added, key=lambda t: t.get("at") or "")  # ISO strings sort in time order


def _turn_dict(turn: base.Turn) -> dict:
    entry = {"speaker": turn.speaker, "text": turn.text, "at": turn.at.isoformat() if turn.at else None}
    if turn.id is not None:
        entry["id"] = turn.id
    return entry
