"""The fault suite: scripted faults against real processes, one row per scenario.

Starts, for every scenario, gunicorn, `undertone worker` and `undertone scheduler` against a fresh
PostgreSQL database (through a TCP proxy this script controls), a Redis server of its own and, for
the HubSpot scenarios, the local HubSpot server; sends signed webhooks like a provider (retrying
anything but a 2xx), injects the fault, and waits for the service to recover on its own. Nothing is
restarted for it. Prints per scenario:

    scenario | sent | stored | processed | written | lost | duplicated | recovery time

sent: signed deliveries sent, redeliveries included; stored: inbox rows; processed: events processed;
written: deliveries whose note reached the CRM; lost: accepted deliveries whose note never did;
duplicated: notes or tasks written twice. A scenario passes with lost 0, duplicated 0, recovery within
its limit (seconds after the fault ended), no service process exiting, and its own checks.

    .venv/bin/python bench/faults.py [--quick] [--only NAME[,NAME...]] [--budget SECONDS] [--list]
"""
from __future__ import annotations

import argparse
import sys
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.faultlib.census import CensusTaker  # noqa: E402
from bench.faultlib.scenarios import Durations, Run, Scenario, scenarios  # noqa: E402
from bench.faultlib.stack import Stack  # noqa: E402
from bench.faultlib.traffic import Traffic  # noqa: E402

POLL_S = 0.5
SET_UP_S = 45  # a scenario is not started with less budget left than this plus its recovery limit
TRAFFIC_DRAIN_S = 120  # senders still retrying after the fault get this long at most


@dataclass
class Row:
    name: str
    sent: int = 0
    stored: int = 0
    processed: int = 0
    written: int = 0
    lost: int = 0
    duplicated: int = 0
    recovery: str = "-"
    limit_s: float = 0
    result: str = "SKIP"
    notes: list[str] = field(default_factory=list)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="short outages, small batches and a faster sweep (about 5 minutes)")
    parser.add_argument("--only", default="", help="comma-separated scenario names (see --list)")
    parser.add_argument("--budget", type=float, default=None,
                        help="total seconds for the run (default 1800; quick 480); scenarios that no longer fit are skipped")
    parser.add_argument("--patience", type=float, default=0,
                        help="extra seconds to wait past a scenario's limit before counting (to see a late recovery)")
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql",
                        help="sqlite skips the database scenarios")
    parser.add_argument("--scorer", default="lexicon", help="SCORER for the worker (lexicon keeps start-up short)")
    parser.add_argument("--logs", type=Path, default=None, help="where process logs go (default var/faults/<time>)")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    args = parser.parse_args()

    chosen = _choose([s for s in scenarios() if not (args.quick and s.long and not args.only)], args.only)
    if args.list:
        for scenario in chosen:
            print(f"{scenario.name:<22}{scenario.what}")
        return 0
    durations = Durations.for_mode(args.quick)
    budget = args.budget or (480 if args.quick else 1800)
    logs = args.logs or ROOT / "var" / "faults" / datetime.now().strftime("%Y%m%d-%H%M%S")
    _header(args, durations, budget, logs)
    ends = time.monotonic() + budget
    rows = []
    for scenario in chosen:
        rows.append(_run_or_skip(scenario, durations, args, ends, logs))
        _print_row(rows[-1])
    _print_table(rows)
    return 0 if all(r.result in ("PASS", "SKIP") for r in rows) and any(r.result == "PASS" for r in rows) else 1


def _choose(every: list[Scenario], only: str) -> list[Scenario]:
    if not only:
        return every
    names = [n.strip() for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n not in {s.name for s in every}]
    if unknown:
        raise SystemExit(f"unknown scenario(s): {', '.join(unknown)}; see --list")
    return [s for s in every if s.name in names]


def _header(args, durations: Durations, budget: float, logs: Path) -> None:
    print(f"fault suite ({'quick' if args.quick else 'full'}), {args.database}, SCORER={args.scorer}, "
          f"budget {budget:.0f} s, logs in {logs}")
    print(f"outages: Redis {durations.redis_short:g} s and {durations.redis_long:g} s, database {durations.database:g} s, "
          f"HubSpot storms {durations.storm:g} s; fake clock for the hour-long HubSpot faults: 1 h = "
          f"{3600 * durations.time_scale:.0f} s, retry delays scaled alike {durations.compressed()}"
)
    if durations.overrides:
        print(f"defaults changed for every process of this run: {durations.overrides}")
    print()


def _run_or_skip(scenario: Scenario, durations: Durations, args, ends: float, logs: Path) -> Row:
    row = Row(scenario.name, limit_s=scenario.limit_s(durations))
    if scenario.needs_postgres and args.database != "postgresql":
        row.notes.append("needs PostgreSQL (the proxy sits in front of it)")
        return row
    if ends - time.monotonic() < SET_UP_S + row.limit_s:
        row.notes.append("skipped: not enough of the time budget left")
        return row
    began = time.monotonic()
    try:
        _run(scenario, durations, args, ends, logs / scenario.name, row)
    except Exception as exc:  # a harness or set-up failure is reported as such, and the run goes on
        row.result = "ERROR"
        row.notes.append(f"{type(exc).__name__}: {exc}")
        row.notes.append(traceback.format_exc(limit=3).strip().splitlines()[-2].strip())
    row.notes.append(f"scenario took {time.monotonic() - began:.0f} s")
    return row


def _run(scenario: Scenario, durations: Durations, args, ends: float, workdir: Path, row: Row) -> None:
    overrides = {**durations.overrides, **(durations.compressed() if scenario.compressed else {})}
    with Stack(workdir, crm=scenario.crm, database=args.database, overrides=overrides, scorer=args.scorer) as stack:
        if not stack.wait_worker_ready():
            raise RuntimeError(f"the worker did not register; see {workdir / 'worker.log'}")
        traffic = Traffic(stack.base_url, uuid.uuid4().hex[:6])
        census = CensusTaker(stack.direct_url, stack.hubspot)
        run = Run(stack, traffic, census, durations)
        try:
            scenario.script(run)
            fault_end = time.monotonic()
            deadline = min(fault_end + row.limit_s + args.patience, ends)
            recovered_at = _wait_recovered(run, deadline)
            traffic.wait(max(0.0, min(TRAFFIC_DRAIN_S, ends - time.monotonic())))
            _fill(row, run, fault_end, recovered_at, scenario)
        finally:
            traffic.close()
            census.close()
    if row.result != "PASS":
        row.notes.append(f"logs: {workdir}")


def _wait_recovered(run: Run, deadline: float) -> float | None:
    """The moment every accepted delivery is in the CRM, no event pending and no contact behind; None if never."""
    while time.monotonic() < deadline:
        if run.traffic.done():
            census = run.census.take()
            accepted = [d.id for d in run.traffic.accepted]
            if not census.lost(accepted) and census.pending == 0 and census.contacts_behind == 0:
                return time.monotonic()
        time.sleep(POLL_S)
    return None


def _fill(row: Row, run: Run, fault_end: float, recovered_at: float | None, scenario: Scenario) -> None:
    census, stats = run.census.take(), run.traffic.stats
    lost = census.lost([d.id for d in run.traffic.accepted])
    row.sent, row.stored, row.processed, row.written = stats.sent, census.stored, census.processed, census.written
    row.lost, row.duplicated = len(lost), census.duplicated
    row.recovery = f"{recovered_at - fault_end:.1f} s" if recovered_at else f"> {row.limit_s:.0f} s"
    failures = []
    if recovered_at is None or recovered_at - fault_end > row.limit_s:
        failures.append("not recovered within the limit")
    if row.lost or row.duplicated:
        failures.append("lost or duplicated")
    for name, exits in run.stack.exits().items():
        failures.append(f"{name} exited (code {', '.join(str(c) for _, c in exits)}) "
                        f"{', '.join(f'{t - fault_end:+.0f} s' for t, _ in exits)} from the fault's end: "
                        f"{_last_error(run.stack.services[name].log_path)}")
    if run.traffic.abandoned:
        failures.append(f"{len(run.traffic.abandoned)} deliveries never accepted")
    if stats.statuses.get("500"):
        failures.append(f"{stats.statuses['500']} answers 500")
    for name, check in scenario.checks:
        if not check(run):
            failures.append(f"check failed: {name}")
    row.result = "FAIL" if failures else "PASS"
    row.notes = run.notes + failures + row.notes
    row.notes.append("answers: " + ", ".join(f"{k}×{v}" for k, v in sorted(stats.statuses.items()))
                     + f"; slowest {stats.slowest_s:.1f} s" + (f"; /healthz during the fault: {run.facts['healthz'][0]} "
                                                               f"in {run.facts['healthz'][1]:.1f} s"
                                                               if "healthz" in run.facts else ""))
    if census.pending or census.failed or census.contacts_behind:
        row.notes.append(f"at the end: {census.pending} events pending, {census.failed} failed, "
                         f"{census.contacts_behind} contacts behind the CRM"
                         + (f"; e.g. {census.failed_errors[0][:120]}" if census.failed_errors else ""))


def _last_error(log_path: Path) -> str:
    """The last line of a process's log that names an error (what it died of)."""
    lines = [line.strip() for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
    named = [line for line in lines if "Error" in line or "Exception" in line or "quitting" in line]
    return (named or lines or ["(empty log)"])[-1][:160]


COLUMNS = ("scenario", "sent", "stored", "processed", "written", "lost", "duplicated", "recovery time", "limit", "result")


def _cells(row: Row) -> list[str]:
    return [row.name, str(row.sent), str(row.stored), str(row.processed), str(row.written), str(row.lost),
            str(row.duplicated), row.recovery, f"{row.limit_s:.0f} s", row.result]


def _print_row(row: Row) -> None:
    print(" | ".join(_cells(row)), flush=True)
    for note in row.notes:
        print(f"    {note}", flush=True)


def _print_table(rows: list[Row]) -> None:
    table = [list(COLUMNS)] + [_cells(r) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    print()
    for number, line in enumerate(table):
        print(" | ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths))))
        if number == 0:
            print("-+-".join("-" * w for w in widths))
    passed = sum(r.result == "PASS" for r in rows)
    print(f"\n{passed} of {len(rows)} scenarios passed" + (f"; {sum(r.result == 'SKIP' for r in rows)} skipped"
                                                        if any(r.result == "SKIP" for r in rows) else ""))


if __name__ == "__main__":
    raise SystemExit(main())
