"""What a worker's database work costs per event in a burst, in-process and deterministic (issue 9).

Builds a fresh migrated database, stores N generic events across M contacts the way the webhook does
(`inbox.accept`, one request per event, as `bench/crm_replay.py` sends them), then does what a worker does with
them, in this process and in order: claims PROCESS_BATCH pending events, runs `batch.process_batch` on them with
the lexicon analyzer (the generic connector needs no network), and every --flush-every batches a CRM flush round
into the built-in sink (`flush.sync_round`, `SinkWriter`). No Redis, no RQ, no web: only the code whose database
work is measured.

Prints, per event: SQL statements (SQLAlchemy's before_cursor_execute; nothing on these paths goes to the driver
past SQLAlchemy, but on SQLite the driver's own trace is counted too, BEGIN/COMMIT/SAVEPOINT included), write
transactions (commits and rollbacks on the engine; a read_session's rollback is counted apart), and CPU ms of this
process (time.process_time: on PostgreSQL the server's CPU is not in it). Statements are split by phase: claim,
store+score (`process_batch`), flush (our side of `sync_round`) and sink (the built-in CRM's own tables, which a
real CRM would not cost us). Statement and transaction counts repeat exactly run to run with the default
`--transaction-s` (a batch's shared transactions are then bounded by events, not time); CPU is noisy on a shared
machine, so the median of --repeat runs is printed.

    PYTHONPATH=$PWD python bench/burst_cost.py [--events 1000] [--contacts 200] [--database sqlite|postgresql]
        [--repeat 3] [--batch 16] [--flush-every 4] [--transaction-s 60]
"""
from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import harness  # noqa: E402
from bench.crm_replay import TEXTS  # noqa: E402

PHASES = ("claim", "store", "flush", "sink")


class Meter:
    """Counts statements (by phase), driver statements, commits and rollbacks on one engine."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.engine, self.phase = engine, "setup"
        self.statements: Counter = Counter()
        self.driver: Counter = Counter()
        self.commits: Counter = Counter()
        self.rollbacks: Counter = Counter()
        self.kinds: Counter = Counter()  # (phase, first words of the statement) -> count
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", lambda _conn: self.commits.update([self.phase]))
        event.listen(engine, "rollback", lambda _conn: self.rollbacks.update([self.phase]))
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", self._trace)

    def _statement(self, _conn, _cursor, statement, *_):
        self.statements[self.phase] += 1
        self.kinds[(self.phase, _kind(statement))] += 1

    def _trace(self, dbapi_conn, _record):
        dbapi_conn.set_trace_callback(lambda _sql: self.driver.update([self.phase]))

    @contextmanager
    def counting(self, phase: str):
        before, self.phase = self.phase, phase
        try:
            yield
        finally:
            self.phase = before


def _kind(statement: str) -> str:
    """A statement's kind: its first words, or for a SELECT what it reads (savepoint names left out)."""
    words = re.sub(r"sa_savepoint_[0-9]+", "", statement).split()
    if words[0] == "SELECT" and "FROM" in words:
        at = words.index("FROM")
        return "SELECT ... FROM " + " ".join(words[at + 1:at + 2])
    return " ".join(words[:3])


class Phased:
    """A CRM writer whose calls count as `sink`, not as the flush's own work."""

    def __init__(self, writer, meter: Meter):
        self._writer, self._meter, self.name = writer, meter, writer.name

    def __getattr__(self, name):
        method = getattr(self._writer, name)
        if not callable(method):
            return method

        def called(*args, **kwargs):
            with self._meter.counting("sink"):
                return method(*args, **kwargs)
        return called


def events(count: int, contacts: int, seed: int) -> list:
    """The bench's generic events: the i-th to contact i % contacts, a text chosen at random (seeded)."""
    from connectors.base import InboundEvent

    rng = random.Random(seed)
    phones = [f"+1415555{i:04d}" for i in range(contacts)]
    made = []
    for i in range(count):
        document = {"id": uuid.UUID(int=rng.getrandbits(128)).hex, "channel": "sms", "text": rng.choice(TEXTS),
                    "occurred_at": datetime(2026, 12, 1, 9, tzinfo=timezone.utc).isoformat(),
                    "contact": {"phone": phones[i % contacts]}}
        made.append(InboundEvent(document["id"], "interaction", json.dumps(document).encode()))
    return made


def analyzer():
    from scoring.analysis import Analyzer
    from scoring.escalation import EscalationRules
    from scoring.lexicon import LexiconScorer
    from scoring.themes import ThemeMatcher

    return Analyzer(LexiconScorer().load(), EscalationRules.load(), ThemeMatcher.load(), None)


def one_run(kind: str, args) -> dict:
    from connectors import registry
    from integration import defaults
    from integration.pipeline import batch
    from integration.store import claims, inbox
    from integration.store.db import Database
    from integration.sync import flush
    from integration.sync.cache import ContactCache
    from integration.sync.sink import SinkWriter

    defaults.BATCH_TRANSACTION_S = args.transaction_s
    with tempfile.TemporaryDirectory() as tmp, harness.fresh_database(kind, tmp) as url:
        db = Database(url)
        try:
            meter = Meter(db.engine)
            for event in events(args.events, args.contacts, args.seed):  # one request per event, as the web does
                inbox.accept(db, "generic", [event], lambda _type: True)
            scoring = analyzer()
            writer, cache, options = Phased(SinkWriter(db), meter), ContactCache(None, "sink"), flush.SyncOptions()
            token, batches, errors = uuid.uuid4().hex, 0, 0
            started = time.process_time()
            while True:
                with meter.counting("claim"):
                    claimed = claims.claim_pending(db, token, args.batch, defaults.CLAIM_LEASE_S)
                if not claimed:
                    break
                with meter.counting("store"):
                    result = batch.process_batch(db, claimed, scoring, registry.inbound)
                errors += len(result.errors)
                batches += 1
                if batches % args.flush_every == 0:
                    _flush(db, writer, cache, options, meter)
            _flush(db, writer, cache, options, meter)
            cpu = time.process_time() - started
        finally:
            db.dispose()
    if errors:
        raise SystemExit(f"{errors} events failed")
    return {"cpu_s": cpu, "statements": dict(meter.statements), "driver": dict(meter.driver),
            "commits": dict(meter.commits), "rollbacks": dict(meter.rollbacks), "kinds": meter.kinds}


def _flush(db, writer, cache, options, meter: Meter) -> None:
    from integration.sync import flush

    with meter.counting("flush"):
        while due := flush.due_contacts(db):
            flush.sync_round(db, writer, cache, options, due)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--contacts", type=int, default=200)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, default=None, help="events a batch claims (default PROCESS_BATCH)")
    parser.add_argument("--flush-every", type=int, default=4, help="a flush after every this many batches")
    parser.add_argument("--transaction-s", type=float, default=60.0,
                        help="BATCH_TRANSACTION_S for the run (default 60: counts independent of speed)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--kinds", action="store_true", help="also print statements per event by kind")
    args = parser.parse_args()
    from integration import defaults

    args.batch = args.batch or defaults.PROCESS_BATCH
    runs = [one_run(args.database, args) for _ in range(args.repeat)]
    n = args.events
    last = runs[-1]
    print(f"{args.database}: {n} events, {args.contacts} contacts, batch {args.batch}, flush every "
          f"{args.flush_every} batches, transaction bound {args.transaction_s} s, {args.repeat} runs")
    for phase in PHASES:
        counts = {r["statements"].get(phase, 0) for r in runs}
        commits = {r["commits"].get(phase, 0) for r in runs}
        line = (f"  {phase:6} statements/event {last['statements'].get(phase, 0) / n:7.2f}"
                f"{'' if len(counts) == 1 else ' (varied: ' + str(sorted(counts)) + ')'}"
                f"  commits/event {last['commits'].get(phase, 0) / n:5.3f}"
                f"{'' if len(commits) == 1 else ' (varied)'}"
                f"  rollbacks/event {last['rollbacks'].get(phase, 0) / n:5.3f}")
        if last["driver"]:
            line += f"  driver statements/event {last['driver'].get(phase, 0) / n:7.2f}"
        print(line)
    ours = ("claim", "store", "flush")
    print(f"  worker (claim+store+flush): statements/event {sum(last['statements'].get(p, 0) for p in ours) / n:.2f}"
          f"  write transactions/event {sum(last['commits'].get(p, 0) for p in ours) / n:.3f}")
    cpus = sorted(r["cpu_s"] * 1000 / n for r in runs)
    print(f"  CPU ms/event (this process, sink included): median {statistics.median(cpus):.2f} "
          f"(runs: {', '.join(f'{c:.2f}' for c in cpus)})")
    if args.kinds:
        for (phase, kind), count in sorted(last["kinds"].items(), key=lambda kv: (kv[0][0], -kv[1])):
            if phase in ours:
                print(f"    {phase:6} {count / n:6.2f}  {kind}")


if __name__ == "__main__":
    main()
