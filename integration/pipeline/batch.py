"""Process several claimed events together: each is parsed and hydrated on its own (no transaction open), the
batch's events are stored in one transaction and their scores written in another, each event in a savepoint of
its own, and the texts of all of them are scored in one batched model call.

A model call per interaction costs far more than its share of a batch (docs/decisions.md, "Batching"), and so do
a transaction's BEGIN (SQLite: the write lock) and COMMIT per event ("Fewer transactions per batch"). The rules of
one event still hold for each: no transaction stays open across hydration or scoring; an event is stored once
(`processing.write_scores_in` locks the event row and checks its status); an error in one event (parsing,
hydration, storing, scoring, writing) is that event's alone (its savepoint is rolled back), and the others go on;
when the shared transaction fails as a whole (its COMMIT, say), each event is done again in its own, as one by
one, so that an error lands on the event that caused it. Two events of one batch about the same contact are
scored one after the other, in the order they arrived, so the later one's history sees the earlier one's score,
as it would had they been processed one by one.
"""
from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import lazyload

from connectors import registry
from integration import defaults
from integration.pipeline import processing
from integration.pipeline.interactions import ToScore
from integration.pipeline.known import KnownRows
from integration.pipeline.processing import ConnectorFor, Outcome
from integration.store.claims import Claimed
from integration.store.db import Database
from integration.store.models import Alert, Contact, WebhookEvent
from integration.store.models import Interaction as InteractionRow
from scoring.analysis import Analysis, Analyzer

log = logging.getLogger(__name__)


@dataclass
class BatchResult:
    """Per event of the batch: its Outcome when it is done, or the exception its attempt ended with."""

    outcomes: dict[int, Outcome] = field(default_factory=dict)
    errors: dict[int, Exception] = field(default_factory=dict)


def process_batch(db: Database, claimed: list[Claimed], analyzer: Analyzer,
                  connector_for: ConnectorFor = registry.inbound) -> BatchResult:
    """Process every claimed event; never raises for one event's error (it is in `errors`)."""
    result = BatchResult()
    scorer = analyzer.scorer.name
    items: dict[int, tuple[str, list]] = {}  # event -> (its source, its items parsed and hydrated)
    for item in claimed:  # parse and hydrate each, no transaction open (hydration may call the provider)
        try:
            found = processing.parsed(db, item.row_id, item.source, item.event, connector_for)
        except Exception as exc:
            result.errors[item.row_id] = exc
            continue
        if isinstance(found, Outcome):
            result.outcomes[item.row_id] = found
        else:
            items[item.row_id] = (item.source, found)
    waiting: dict[int, tuple[Outcome, list[ToScore]]] = {}  # event -> (its outcome so far, what it needs scored)
    events: dict[int, WebhookEvent] = {}  # the event rows a shared transaction locked and read at its start
    known = KnownRows()  # and their interactions and contacts

    def first(session, row_ids: list[int]) -> None:
        _lock_events(session, row_ids, events)
        known.read(session, [items[row_id] for row_id in row_ids])

    stored = _together(db, list(items), lambda session, row_id: processing.store_items(
        session, row_id, items[row_id][0], items[row_id][1], scorer, events.get(row_id), known), result, first=first)
    for row_id, prepared in stored.items():
        if isinstance(prepared, Outcome):
            result.outcomes[row_id] = prepared
        else:
            waiting[row_id] = prepared
    scorings = dict.fromkeys(waiting, 0)
    while waiting:
        now, later = _this_round(waiting)
        analyses = _analyse(analyzer, {row_id: waiting[row_id][1] for row_id in now}, result)
        for row_id in now:
            if row_id in result.errors:
                del waiting[row_id]
        now = [row_id for row_id in now if row_id in waiting]
        written = _write(db, scorer, {row_id: waiting[row_id] for row_id in now}, analyses, result)
        for row_id in now:
            outcome, _ = waiting.pop(row_id)
            if row_id not in written:
                continue  # its error is in result.errors
            again, outcome = written[row_id]
            scorings[row_id] += 1
            if again is None:
                result.outcomes[row_id] = outcome
            elif scorings[row_id] >= defaults.SCORE_ATTEMPTS:
                result.errors[row_id] = processing.kept_changing(again)
            else:
                waiting[row_id] = (outcome, again)
        for row_id in later:  # read again now that the earlier scores are written: their history counts them
            outcome, work = waiting[row_id]
            try:
                waiting[row_id] = (outcome, processing.refreshed(db, scorer, work))
            except Exception as exc:
                del waiting[row_id]
                result.errors[row_id] = exc
    return result


def _write(db: Database, scorer: str, work: dict[int, tuple[Outcome, list[ToScore]]],
           analyses: dict[int, dict[int, Analysis | None]], result: BatchResult) -> dict[int, tuple]:
    """Each event's scores written (`processing.write_scores`), all in one transaction with a savepoint per event
    (or each in its own when that transaction fails as a whole): event -> (what to score again or None, its
    outcome). Each write works on a copy of the event's outcome, so a write rolled back leaves no trace in it."""
    rows: dict[int, InteractionRow] = {}  # the interactions, locked and read once for the whole batch
    events: dict[int, WebhookEvent] = {}  # and the events
    held: list[Contact] = []  # their contacts: the session's identity map only keeps objects someone refers to
    alerts: dict[int, set[str]] = {}  # interaction -> the keys of its alerts, read with the rows

    def step(session, row_id):
        outcome, todo = work[row_id]
        trial = copy.deepcopy(outcome)
        return processing.write_scores_in(session, row_id, scorer, todo, analyses[row_id], trial, rows, alerts,
                                          events.get(row_id)), trial

    def first(session, row_ids: list[int]) -> None:
        """Lock these events' contacts, interactions and event rows in id order (as every batch's write does, so two
        of them rarely deadlock on these rows) and read them once (the interactions with their scores and alert
        keys), not once per event."""
        rows.clear()
        held.clear()
        alerts.clear()
        ids = sorted({w.interaction_id for row_id in row_ids for w in work[row_id][1]})
        contacts = sorted({w.contact_id for row_id in row_ids for w in work[row_id][1] if w.contact_id is not None})
        if contacts:  # held, so that marking them for a sync (and an alert's facts) reads none of them again
            held.extend(session.scalars(select(Contact).where(Contact.id.in_(contacts)).order_by(Contact.id)
                                        .with_for_update().options(lazyload(Contact.identities))))
        if ids:
            rows.update((row.id, row) for row in session.scalars(
                select(InteractionRow).where(InteractionRow.id.in_(ids)).order_by(InteractionRow.id).with_for_update()))
            # their escalation alerts so far (the rows are locked: only this write raises more for them)
            alerts.update({interaction_id: set() for interaction_id in ids})
            for interaction_id, key in session.execute(select(Alert.interaction_id, Alert.key)
                                                       .where(Alert.interaction_id.in_(ids))):
                alerts[interaction_id].add(key)
        _lock_events(session, row_ids, events)  # after the contacts and interactions, as one by one

    return _together(db, list(work), step, result, first=first)


def _lock_events(session, row_ids: list[int], into: dict[int, WebhookEvent]) -> None:
    """Lock these events' rows in id order and read them in one statement (each event's savepoint then checks its
    status on the row held, instead of locking and reading it on its own); `into` holds them for the transaction."""
    into.clear()
    into.update((event.id, event) for event in session.scalars(
        select(WebhookEvent).where(WebhookEvent.id.in_(sorted(row_ids))).order_by(WebhookEvent.id).with_for_update()))


def _together(db: Database, row_ids: list[int], step: Callable, result: BatchResult,
              first: Callable | None = None) -> dict[int, Any]:
    """`step(session, row_id)` for each event, in shared transactions, each event in a savepoint: an event's error
    rolls back its own savepoint and is recorded as that event's (in `result.errors`), the others go on. A shared
    transaction commits after BATCH_TRANSACTION_S (SQLite: after BATCH_TRANSACTION_YIELD_S once a web request waits
    for the write lock) and the next event starts a new one (`first(session, ids)` runs at its start, for the
    events it will likely hold: every event the first time, then twice as many as the one before took; `step` must
    not count on it for the others). Reading ahead for more events than a transaction holds costs a few rows in the
    same statements; an event read for by none costs a lock and read of its own rows, several statements in each of
    the two transactions. When a shared transaction fails as a whole (its BEGIN, its COMMIT, a savepoint that cannot
    be rolled back), nothing of it is stored and its events are done again each in its own transaction (`first` and
    `step` in a `db.session()` of its own), as one by one."""
    done: dict[int, Any] = {}
    left = list(row_ids)
    ahead = len(row_ids)  # events `first` reads ahead for: all of them at first, then twice what the previous took
    while left:
        chunk, errors = [], {}
        try:
            with db.session() as session:
                started = time.monotonic()
                if first is not None:
                    first(session, left[:ahead])
                for row_id in left:
                    chunk.append(row_id)
                    try:
                        with session.begin_nested():
                            done[row_id] = step(session, row_id)
                    except Exception as exc:
                        if not session.is_active:  # the transaction itself is broken: not this event's error alone
                            raise
                        errors[row_id] = exc
                    if _long_enough(db, time.monotonic() - started):
                        break
        except Exception as exc:
            log.warning("%d events failed to store together (%s: %s): storing each alone", len(chunk),
                        type(exc).__name__, str(exc)[:200])
            for row_id in chunk:
                done.pop(row_id, None)
            done.update(_alone(chunk, lambda row_id: _in_own_transaction(db, step, row_id, first), result))
        else:
            result.errors.update(errors)
        left = left[len(chunk):]
        ahead = 2 * len(chunk)
    return done


def _long_enough(db: Database, elapsed: float) -> bool:
    """Whether a shared transaction that has run `elapsed` seconds commits now (see defaults.BATCH_TRANSACTION_*)."""
    if elapsed > defaults.BATCH_TRANSACTION_S:
        return True
    return elapsed > defaults.BATCH_TRANSACTION_YIELD_S and db.write_hurried()


def _in_own_transaction(db: Database, step: Callable, row_id: int, first: Callable | None) -> Any:
    with db.session() as session:
        if first is not None:
            first(session, [row_id])
        return step(session, row_id)


def _alone(row_ids: list[int], step: Callable, result: BatchResult) -> dict[int, Any]:
    """`step(row_id)` for each event, in its own transaction; an error is that event's."""
    done = {}
    for row_id in row_ids:
        try:
            done[row_id] = step(row_id)
        except Exception as exc:
            result.errors[row_id] = exc
    return done


def _this_round(waiting: dict[int, tuple[Outcome, list[ToScore]]]) -> tuple[list[int], list[int]]:
    """The events to score now (in arrival order, none sharing a contact or an interaction with an earlier
    waiting one), and those that wait for a later round."""
    now, later, seen = [], [], set()
    for row_id, (_, work) in waiting.items():
        keys = {("interaction", w.interaction_id) for w in work}
        keys |= {("contact", w.contact_id) for w in work if w.contact_id is not None}
        (later if keys & seen else now).append(row_id)
        seen |= keys
    return now, later


def _analyse(analyzer: Analyzer, work: dict[int, list[ToScore]],
             result: BatchResult) -> dict[int, dict[int, Analysis | None]]:
    """Each event's analyses by interaction, from one batched call; if the batch fails, each event is analysed
    on its own so that the error is only the event's that caused it."""
    flat = [w for todo in work.values() for w in todo]
    try:
        analyses = analyzer.analyse_many([(w.turns, w.summary, w.history) for w in flat])
    except Exception as exc:
        log.warning("a batch of %d events failed to score together (%s): scoring each alone", len(work), exc)
    else:
        found = iter(analyses)
        return {row_id: {w.interaction_id: next(found) for w in todo} for row_id, todo in work.items()}
    alone = {}
    for row_id, todo in work.items():
        try:
            alone[row_id] = {w.interaction_id: analyzer.analyse(w.turns, w.summary, w.history) for w in todo}
        except Exception as exc:
            result.errors[row_id] = exc
    return alone
