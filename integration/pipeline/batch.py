"""Process several claimed events together: each is parsed, hydrated and stored on its own (its own short
transactions, its own errors), and the texts of all of them are scored in one batched model call.

A model call per interaction costs far more than its share of a batch (docs/decisions.md, "Batching"). The
rules of one event still hold for each: no transaction stays open across hydration or scoring; an event is
stored once (`processing.write_scores` locks the event row and checks its status); an error in one event
(parsing, hydration, storing, scoring, writing) is that event's alone, and the others go on. Two events of
one batch about the same contact are scored one after the other, in the order they arrived, so the later
one's history sees the earlier one's score, as it would had they been processed one by one.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from connectors import registry
from integration import defaults
from integration.pipeline import processing
from integration.pipeline.interactions import ToScore
from integration.pipeline.processing import ConnectorFor, Outcome
from integration.store.claims import Claimed
from integration.store.db import Database
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
    waiting: dict[int, tuple[Outcome, list[ToScore]]] = {}  # event -> (its outcome so far, what it needs scored)
    for item in claimed:
        try:
            prepared = processing.prepare(db, item.row_id, item.source, item.event, analyzer.scorer.name,
                                          connector_for)
        except Exception as exc:
            result.errors[item.row_id] = exc
            continue
        if isinstance(prepared, Outcome):
            result.outcomes[item.row_id] = prepared
        else:
            waiting[item.row_id] = prepared
    scorings = dict.fromkeys(waiting, 0)
    while waiting:
        now, later = _this_round(waiting)
        analyses = _analyse(analyzer, {row_id: waiting[row_id][1] for row_id in now}, result)
        for row_id in now:
            if row_id in result.errors:
                del waiting[row_id]
                continue
            outcome, work = waiting.pop(row_id)
            try:
                again = processing.write_scores(db, row_id, analyzer.scorer.name, work, analyses[row_id], outcome)
            except Exception as exc:
                result.errors[row_id] = exc
                continue
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
                waiting[row_id] = (outcome, processing.refreshed(db, analyzer.scorer.name, work))
            except Exception as exc:
                del waiting[row_id]
                result.errors[row_id] = exc
    return result


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
