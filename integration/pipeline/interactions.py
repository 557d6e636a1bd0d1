"""Store normalised interactions (merging events of one conversation) and their current scores.

Scoring itself happens outside any transaction: `needs_scoring` copies what the scorer needs out of
a short one, and `store_analysis` writes the result in another after the caller has checked (with
`current_content`) that the interaction still holds what was scored.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import func, inspect, null, select
from sqlalchemy.orm import Session, make_transient_to_detached

from connectors import base
from integration.pipeline import corrections
from integration.store.db import insert_for
from integration.store.models import Contact, Interaction, InteractionEvent, InteractionScore, utcnow
from scoring.analysis import Analysis
from scoring.escalation import History, summary_reason
from scoring.interaction import content_hash, texts_to_score


def upsert_interaction(session: Session, item: base.Interaction, contact: Contact | None,
                       known=None) -> tuple[Interaction, bool]:
    """Merge an event's view of a conversation into its row; True when anything changed. `known`: a batch's
    `KnownRows`, asked first (a thread it looked up is not read again)."""
    looked, row = known.interaction(item.source, item.thread_key) if known is not None else (False, None)
    if not looked:
        row = _locked_row(session, item.source, item.thread_key)
    if row is None:
        inserted = _insert(session, item, contact)
        if inserted is not None:
            return inserted  # a new conversation, inserted with all the event gives (one INSERT, no UPDATE after)
        row = _locked_row(session, item.source, item.thread_key)  # created concurrently by another worker: merge
    changed = _merge(row, item, contact)
    if changed:
        row.updated_at = utcnow()
    return row, changed


@dataclass(frozen=True)
class ToScore:
    """What scoring one interaction needs, copied out of a short transaction; `content` identifies it."""

    interaction_id: int
    turns: list
    summary: str | None
    history: History
    content: str  # content_hash(scorer, texts): compared again before the result is written
    contact_id: int | None = None  # a batch scores one interaction per contact at a time (the history reads earlier ones)


def needs_scoring(session: Session, row: Interaction, scorer_name: str, known=None) -> ToScore | None:
    """The interaction's content to score, or None when it has no customer words or exactly this
    content was already scored by this scorer. A change of rules or taxonomy applies from then on. `known`: a
    batch's `KnownRows`, asked for the contact's history first."""
    content = current_content(row, scorer_name)
    if content is None or (row.score is not None and row.score.content_hash == content):
        return None
    history = known.history(row) if known is not None else None
    return ToScore(row.id, copy.deepcopy(row.turns or []), row.summary, history or _history(session, row), content,
                   row.contact_id)


def current_content(row: Interaction, scorer_name: str) -> str | None:
    """content_hash of the texts this scorer would score now; None when there are none."""
    selected = texts_to_score(row.turns, row.summary)
    return None if selected is None else content_hash(scorer_name, selected[2])


def store_analysis(session: Session, row: Interaction, scorer_name: str, analysis: Analysis) -> None:
    """Write a finished analysis as the interaction's current score."""
    scored, flags = analysis.scored, analysis.flags
    record = row.score or InteractionScore(interaction=row)
    corrected = record.model_label is not None  # a person corrected the label: it holds over the re-score
    record.scorer = scorer_name
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
    record.model_label = record.model_score = None
    if corrected:
        corrections.reapply(session, record)
    session.add(record)


def link_event(session: Session, interaction_id: int, event_row_id: int) -> None:
    """Remember that this stored event made (or added to) this interaction, once (the event row is locked): one
    INSERT that does nothing when the link exists (no read first, no ORM flush: it runs for every event)."""
    session.execute(insert_for(session)(InteractionEvent).values(interaction_id=interaction_id, event_id=event_row_id)
                    .on_conflict_do_nothing(index_elements=["interaction_id", "event_id"]))


def locked(session: Session, interaction_id: int) -> Interaction | None:
    """The interaction row, locked for this transaction (PostgreSQL; SQLite's BEGIN IMMEDIATE locks all)."""
    return session.scalar(select(Interaction).where(Interaction.id == interaction_id).with_for_update())


def _history(session: Session, row: Interaction) -> History:
    """Hours since this contact's latest earlier negative interaction (for the repeat-contact rule)."""
    if row.contact_id is None:
        return History()
    when = history_time(row)
    occurred = func.coalesce(Interaction.occurred_at, Interaction.created_at)
    previous = session.scalar(
        select(occurred).join(InteractionScore).where(
            Interaction.contact_id == row.contact_id, Interaction.id != row.id,
            InteractionScore.label == "negative", occurred <= when,
        ).order_by(occurred.desc()).limit(1)
    )
    return history_since(when, previous)


def history_time(row: Interaction) -> datetime:
    """The time the repeat-contact rule measures an interaction's history from."""
    return row.occurred_at or row.created_at or utcnow()


def history_since(when: datetime, previous) -> History:
    """The History of an interaction at `when` whose contact's latest earlier negative one was at `previous`."""
    if previous is None:
        return History()
    if previous.tzinfo is None:  # a coalesce() result bypasses the UTC type on SQLite
        previous = datetime.fromisoformat(str(previous)).replace(tzinfo=timezone.utc)
    return History(negative_within_hours=(when - previous).total_seconds() / 3600)


def _locked_row(session: Session, source: str, thread_key: str) -> Interaction | None:
    stmt = select(Interaction).where(Interaction.source == source, Interaction.thread_key == thread_key)
    return session.scalar(stmt.with_for_update())


def _insert(session: Session, item: base.Interaction, contact: Contact | None) -> tuple[Interaction, bool] | None:
    """The new row, merged from the event before it is inserted (and whether the event gave it anything); None
    when the thread's row exists after all. A new row has no score yet: said so, not read after the INSERT."""
    now = utcnow()
    row = Interaction(source=item.source, thread_key=item.thread_key, channel=item.channel, source_ids={}, score=None,
                      helpdesk_tags=[], created_at=now, updated_at=now)
    changed = _merge(row, item, contact)
    return (row, changed) if _insert_unless_exists(session, row) else None


def _insert_unless_exists(session: Session, row: Interaction) -> bool:
    """One `INSERT ... ON CONFLICT DO NOTHING RETURNING id` of the new row (not a savepoint around an ORM flush:
    three statements); False when the thread's row exists (an earlier or concurrent insert). The row then joins the
    session as if read back: every column as given, no score."""
    values = {}
    for attr in inspect(Interaction).column_attrs:
        if attr.key != "id":
            value = getattr(row, attr.key)
            default = attr.columns[0].default
            if value is None and default is not None:  # the model's default, as an ORM insert would apply it
                value = default.arg(None) if default.is_callable else default.arg
            setattr(row, attr.key, value)  # set, not left unloaded: an unloaded column would be read back
            values[attr.columns[0].name] = null() if value is None else value  # SQL NULL, not JSON 'null'
    new_id = session.execute(insert_for(session)(Interaction.__table__).values(values)
                             .on_conflict_do_nothing(index_elements=["source", "thread_key"])
                             .returning(Interaction.__table__.c.id)).scalar()
    if new_id is None:
        return False
    row.id = new_id
    make_transient_to_detached(row)
    session.add(row)
    return True


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
