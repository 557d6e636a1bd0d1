"""Keep the insight tables (see `tables`) up to date incrementally.

Before answering, the insights re-read the interactions whose score or row changed since the last refresh
(by `scored_at` / `updated_at`, a margin behind the watermark so a transaction that committed late is not
missed). For each, the contribution recorded in `insight_facts` is subtracted from the daily rollups and
the new one added, so the rollups stay exact under re-scores and late transcripts. The callback pairs of every
contact touched are recomputed (`callback_pairs`) and their daily counts moved the same way. Days are local
days in TIMEZONE; when TIMEZONE changes (or a migration clears `insight_state`), everything is rebuilt.
"""
from __future__ import annotations

from collections import defaultdict
from contextlib import nullcontext
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, and_, any_, bindparam, delete, insert, select, text, tuple_, union, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from integration import defaults
from integration.insights import callback_pairs, spike_days
from integration.insights.base import AT, aware, clip
from integration.insights.tables import (
    NONE,
    InsightCallback,
    InsightDaily,
    InsightDailyCallback,
    InsightDailyCallbackTheme,
    InsightDailyTheme,
    InsightFact,
    InsightName,
    InsightSpikeDay,
    InsightState,
    InsightTheme,
)
from integration.store import pg_waits
from integration.store.db import Database
from integration.store.models import Interaction, InteractionScore, utcnow

WATERMARK, ZONE = "watermark", "timezone"
EPOCH = "1970-01-01T00:00:00+00:00"
DIMS = ("day", "source", "channel", "line", "agent", "label")


def refresh(db: Database, tz: ZoneInfo, statement_timeout_s: float | None = None) -> int:
    """Bring the insight tables up to date; returns how many interactions were re-read.

    `statement_timeout_s` replaces, on PostgreSQL and for this refresh only, the bound every statement
    gets (DB_STATEMENT_TIMEOUT_S; 0: none): the catch-up after a bulk import or a TIMEZONE change on a
    large database runs statements longer than a request may (`undertone insights refresh`); the client-side
    bound on each wait (`pg_waits`) is lifted with it."""
    with _bounds(statement_timeout_s), db.session() as session:
        if statement_timeout_s is not None and not db.is_sqlite:
            session.execute(text(f"SET LOCAL statement_timeout = {int(statement_timeout_s * 1000)}"))
        if _state(session, ZONE, tz.key) != tz.key:
            _clear(session)
        since = datetime.fromisoformat(_state(session, WATERMARK, EPOCH)) - timedelta(
            seconds=defaults.INSIGHTS_REFRESH_MARGIN_S)
        if not _changed_since(session, since):
            return 0
        if not db.is_sqlite:  # one refresher at a time; SQLite's BEGIN IMMEDIATE already serialises writers
            session.execute(text("SELECT pg_advisory_xact_lock(7460011)"))
        newest = utcnow()
        ids = _unread(session, since)
        if not ids:
            _set(session, WATERMARK, newest.isoformat())
            return 0
        deltas = Deltas()
        for start in range(0, len(ids), defaults.INSIGHTS_REFRESH_BATCH):
            reindex(session, ids[start:start + defaults.INSIGHTS_REFRESH_BATCH], tz, deltas)
        deltas.callbacks, deltas.callback_themes = callback_pairs.recompute(session, deltas.contacts, tz)
        deltas.apply(session)
        _set(session, WATERMARK, newest.isoformat())
        _set(session, ZONE, tz.key)
        return len(ids)


def rebuild(db: Database, tz: ZoneInfo, statement_timeout_s: float | None = None) -> int:
    """Forget everything and re-read every interaction (after a restore, or a change made outside Undertone)."""
    with _bounds(statement_timeout_s), db.session() as session:
        if statement_timeout_s is not None and not db.is_sqlite:
            session.execute(text(f"SET LOCAL statement_timeout = {int(statement_timeout_s * 1000)}"))
        _clear(session)
    return refresh(db, tz, statement_timeout_s)


def _bounds(statement_timeout_s: float | None):
    """The client-side wait bound that goes with a statement timeout replaced for a refresh (none kept)."""
    if statement_timeout_s is None:
        return nullcontext()
    return pg_waits.client_wait(statement_timeout_s + defaults.DB_CLIENT_WAIT_S - defaults.DB_STATEMENT_TIMEOUT_S
                                if statement_timeout_s else 0)


class Deltas:
    """Changes to the rollups, summed per key, written once at the end of a refresh."""

    def __init__(self):
        self.daily = defaultdict(lambda: [0, 0.0, 0, 0])
        self.themes = defaultdict(int)
        self.names: dict[tuple[str, str], str] = {}
        self.contacts: set[int] = set()  # whose callback pairs must be recomputed
        self.callbacks: dict[tuple, int] = {}  # callback_pairs.DIMS -> pairs (from `callback_pairs.recompute`)
        self.callback_themes: dict[tuple, int] = {}  # (day, theme, *the rest) -> pairs carrying the theme
        self.spikes = defaultdict(lambda: [0, 0])  # (theme, day) -> [customers, interactions] (`spike_days`)

    def add(self, fact: dict, sign: int) -> None:
        key = tuple(fact[d] for d in DIMS)
        entry = self.daily[key]
        for i, value in enumerate((1, fact["score"], fact["escalated"], fact["recovered"])):
            entry[i] += sign * value
        for theme in filter(None, fact["themes"].split("|")):
            self.themes[(key[0], theme, *key[1:])] += sign

    def apply(self, session: Session) -> None:
        _upsert(session, InsightDaily, DIMS, ("n", "score_sum", "escalated", "recovered"),
                {k: v for k, v in self.daily.items() if any(v)})
        _upsert(session, InsightDailyTheme, ("day", "theme", *DIMS[1:]), ("n",),
                {k: (v,) for k, v in self.themes.items() if v})
        _upsert(session, InsightDailyCallback, callback_pairs.DIMS, ("n",),
                {k: (v,) for k, v in self.callbacks.items() if v})
        _upsert(session, InsightDailyCallbackTheme, ("day", "theme", *callback_pairs.DIMS[1:]), ("n",),
                {k: (v,) for k, v in self.callback_themes.items() if v})
        _upsert(session, InsightSpikeDay, ("theme", "day"), ("customers", "interactions"),
                {k: tuple(v) for k, v in self.spikes.items() if any(v)})
        for (kind, key), name in self.names.items():
            row = session.get(InsightName, (kind, key))
            if row is None:
                session.add(InsightName(kind=kind, key=key, name=name[:255]))
            elif row.name != name:
                row.name = name[:255]


def reindex(session: Session, ids: list[int], tz: ZoneInfo, deltas: Deltas) -> None:
    """Replace these interactions' facts and theme rows with their current state, recording the deltas."""
    old = {row.interaction_id: _fact_dict(row) for row in
           session.scalars(select(InsightFact).where(_among(session, InsightFact.interaction_id, ids)))}
    new, theme_rows = {}, []
    stmt = select(Interaction.id, AT, Interaction.contact_id, Interaction.source, Interaction.channel,
                  Interaction.line, Interaction.line_name, Interaction.agent, Interaction.agent_name,
                  InteractionScore.label, InteractionScore.score, InteractionScore.escalation_reason,
                  InteractionScore.trajectory, InteractionScore.themes, Interaction.updated_at,
                  InteractionScore.scored_at).join(InteractionScore).where(_among(session, Interaction.id, ids))
    seen = {}
    for (iid, at, contact_id, source, channel, line, line_name, agent, agent_name, label, score, escalation,
         trajectory, themes, updated_at, scored_at) in session.execute(stmt):
        seen[iid] = {"seen_updated_at": aware(updated_at), "seen_scored_at": aware(scored_at)}
        if contact_id is not None:
            deltas.contacts.add(contact_id)
        at = aware(at)
        evidence = {}
        for entry in themes or []:
            if entry.get("theme") and entry["theme"] not in evidence:
                evidence[entry["theme"][:64]] = clip(entry.get("evidence"))
        new[iid] = {"interaction_id": iid, "day": at.astimezone(tz).date(), "source": source,
                    "channel": channel, "line": line or NONE, "agent": agent or NONE, "label": label,
                    "score": score, "escalated": int(bool(escalation)), "recovered": int(trajectory == "recovered"),
                    "themes": "|".join(sorted(evidence))}
        theme_rows += [{"interaction_id": iid, "theme": name, "at": at, "label": label, "contact_id": contact_id,
                        "evidence": quote} for name, quote in evidence.items()]
        for kind, key, name in (("line", line, line_name), ("agent", agent, agent_name)):
            if key and name:
                deltas.names[(kind, key)] = name
    for iid in ids:
        if old.get(iid) != new.get(iid):
            if iid in old:
                deltas.add(old[iid], -1)
            if iid in new:
                deltas.add(new[iid], +1)
    session.execute(delete(InsightFact).where(_among(session, InsightFact.interaction_id, ids)))
    _insert_many(session, InsightFact.__table__, [{**new[i], **seen[i]} for i in ids if i in new])
    spikes = spike_days.Change(tz, deltas.spikes)
    spikes.before(session, session.execute(select(
        InsightTheme.theme, InsightTheme.label, InsightTheme.contact_id, InsightTheme.at).where(
        _among(session, InsightTheme.interaction_id, ids))).all(), theme_rows)
    session.execute(delete(InsightTheme).where(_among(session, InsightTheme.interaction_id, ids)))
    _insert_many(session, InsightTheme.__table__, theme_rows)
    spikes.after(session)


def _among(session: Session, column, ids: list[int]):
    """`column IN ids`; on PostgreSQL as `= ANY(array)`, one parameter instead of thousands."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, ids, type_=ARRAY(Integer)))
    return column.in_(ids)


def _insert_many(session: Session, table, rows: list[dict]) -> None:
    """Insert rows; on PostgreSQL with COPY in the session's transaction (a bulk refresh writes millions)."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    names = [c.name for c in table.columns]
    cursor = session.connection().connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([_naive(row[name]) for name in names])


def _unread(session: Session, since: datetime) -> list[int]:
    """Interactions changed at or after `since` whose current version has not been read yet."""
    fact = InsightFact
    unread = (fact.interaction_id.is_(None) | (fact.seen_updated_at != Interaction.updated_at)
              | (fact.seen_scored_at != InteractionScore.scored_at))
    base = select(Interaction.id).join(InteractionScore).outerjoin(fact, fact.interaction_id == Interaction.id)
    return sorted(session.scalars(union(base.where(InteractionScore.scored_at >= since, unread),
                                        base.where(Interaction.updated_at >= since, unread))))


def _naive(value):
    """COPY into `timestamp without time zone` wants naive UTC (an offset would be ignored, not applied)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def _fact_dict(row: InsightFact) -> dict:
    return {c: getattr(row, c) for c in ("interaction_id", "day", "source", "channel", "line", "agent", "label",
                                         "score", "escalated", "recovered", "themes")}


def _upsert(session: Session, table, keys: tuple, values: tuple, deltas: dict) -> None:
    """Add `deltas` (key tuple -> value tuple) to the rollup rows, inserting the keys that are new."""
    if session.get_bind().dialect.name == "postgresql":
        return _upsert_postgresql(session, table.__table__, keys, values, deltas)
    items = list(deltas.items())
    columns = [getattr(table, k) for k in keys]
    for start in range(0, len(items), 500):
        chunk = dict(items[start:start + 500])
        existing = set(session.execute(select(*columns).where(tuple_(*columns).in_(list(chunk)))).all())
        updates = [{**{f"k_{k}": key[i] for i, k in enumerate(keys)},
                    **{f"d_{v}": delta[j] for j, v in enumerate(values)}}
                   for key, delta in chunk.items() if tuple(key) in existing]
        if updates:
            stmt = update(table).where(and_(*(getattr(table, k) == bindparam(f"k_{k}") for k in keys))).values(
                {v: getattr(table, v) + bindparam(f"d_{v}") for v in values})
            session.connection().execute(stmt.execution_options(synchronize_session=False), updates)
        inserts = [{**dict(zip(keys, key)), **dict(zip(values, delta))}
                   for key, delta in chunk.items() if tuple(key) not in existing]
        _insert_many(session, table.__table__, inserts)


def _upsert_postgresql(session: Session, table, keys: tuple, values: tuple, deltas: dict) -> None:
    """The same in three statements: COPY the deltas into a temporary table, then INSERT … ON CONFLICT."""
    if not deltas:
        return
    temp = f"delta_{table.name}"
    session.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS {temp} (LIKE {table.name}) ON COMMIT DROP"))
    session.execute(text(f"TRUNCATE {temp}"))
    cursor = session.connection().connection.driver_connection.cursor()
    with cursor.copy(f"COPY {temp} ({', '.join(keys + values)}) FROM STDIN") as copy:
        for key, delta in deltas.items():
            copy.write_row((*key, *delta))
    columns = ", ".join(keys + values)
    adds = ", ".join(f"{v} = {table.name}.{v} + excluded.{v}" for v in values)
    session.execute(text(f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM {temp} "
                         f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {adds}"))


def _changed_since(session: Session, since: datetime) -> bool:
    """Whether any score or interaction changed at or after `since` (two index probes)."""
    return (session.scalar(select(InteractionScore.id).where(InteractionScore.scored_at >= since).limit(1))
            is not None or
            session.scalar(select(Interaction.id).where(Interaction.updated_at >= since).limit(1)) is not None)


def _state(session: Session, key: str, default: str) -> str:
    return session.scalar(select(InsightState.value).where(InsightState.key == key)) or default


def _set(session: Session, key: str, value: str) -> None:
    row = session.get(InsightState, key)
    if row is None:
        session.add(InsightState(key=key, value=value))
    else:
        row.value = value


def _clear(session: Session) -> None:
    for table in (InsightTheme, InsightFact, InsightDaily, InsightDailyTheme, InsightCallback, InsightDailyCallback,
                  InsightDailyCallbackTheme, InsightSpikeDay, InsightState):
        session.execute(delete(table))
