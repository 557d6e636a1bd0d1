"""What the web process spends per webhook, beside the bare endpoint and the durable floor, in one process.

`bench/webhook_ack.py` measures throughput through gunicorn, which on a shared 2-core machine moves by +-0.08
between runs of the same code. This measures only what our code can change: the web process's own work per
request, calling the same app (`webhook_ack.bench_app`: the real app plus the bare and durable endpoints) through
Flask's test client, on a fresh database and Redis, one request at a time, in alternating rounds. PostgreSQL's and
Redis's own work is not counted; the test client's is, alike for every endpoint, so compare the differences:
"over bare" is what an endpoint costs beyond Flask's own dispatch.

Two meters:
- CPU time (`time.process_time`, the default). On this shared machine the same code's CPU time moves by up to 2x
  between rounds (a busy neighbour on the same physical core), so the least of many rounds is printed first.
- `--instructions`: instructions executed, counted by valgrind's callgrind (the script runs itself under it and
  switches counting on only around the measured requests). The same code gives the same count whatever else the
  machine is doing, so one round tells a change of a few percent; about 50 times slower.

    .venv/bin/python bench/webhook_cpu.py [--databases sqlite,postgresql] [--requests 100] [--rounds 15]
        [--instructions]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import harness, webhook_ack  # noqa: E402

UNDER_CALLGRIND = "UNDERTONE_BENCH_UNDER_CALLGRIND"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--requests", type=int, default=100, help="requests per endpoint and round")
    parser.add_argument("--rounds", type=int, default=None, help="default: 15, or 2 with --instructions")
    parser.add_argument("--instructions", action="store_true", help="count instructions under callgrind")
    args = parser.parse_args()
    if args.instructions and not os.environ.get(UNDER_CALLGRIND):
        _rerun_under_callgrind()
        return
    args.rounds = args.rounds or (2 if args.instructions else 15)
    meter = Instructions() if args.instructions else CPUTime()
    print(f"{args.requests} requests per endpoint and round, {args.rounds} alternating rounds, one at a time, "
          f"in process; {meter.unit} per request: the least of the rounds, then the median and the range\n")
    print(f"{'database':<12}{'endpoint':<16}{'least':>10}{'over bare':>11}{'median':>10}{'range':>22}")
    for database in args.databases.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            rows = measure(database, args, meter, tmp)
        bare = min(rows["bare flask"])
        for name, values in rows.items():
            spread = f"{meter.show(min(values))}-{meter.show(max(values))}"
            over = "" if name == "bare flask" else "+" + meter.show(min(values) - bare)
            print(f"{database:<12}{name:<16}{meter.show(min(values)):>10}{over:>11}"
                  f"{meter.show(statistics.median(values)):>10}{spread:>22}")


def measure(database: str, args, meter, tmp: str) -> dict[str, list[float]]:
    from integration.cli.embedded_redis import EmbeddedRedis

    with harness.fresh_database(database, tmp) as url, EmbeddedRedis() as redis:
        os.environ.update(DATABASE_URL=url, REDIS_URL=redis.url, QUO_WEBHOOK_SECRET=webhook_ack.SECRET)
        client = webhook_ack.bench_app().test_client()
        results: dict[str, list[float]] = {name: [] for name in webhook_ack.ENDPOINTS}
        counter = iter(range(10**9))
        for number in range(args.rounds + 1):  # round 0 warms every path up and is not counted
            for name, path in webhook_ack.ENDPOINTS.items():
                if path == "/webhooks/quo":
                    payloads = [webhook_ack.signed_request(next(counter)) for _ in range(args.requests)]
                else:
                    payloads = [(webhook_ack._fixture(), {"content-type": "application/json"})] * args.requests
                if number:
                    meter.start()
                for body, headers in payloads:
                    status = client.post(path, data=body, headers=headers).status_code
                    if status != 200:
                        raise SystemExit(f"{path} answered {status}")
                if number:
                    results[name].append(meter.stop() / args.requests)
        return results


class CPUTime:
    unit = "CPU ms"

    def start(self) -> None:
        self._started = time.process_time()

    def stop(self) -> float:
        return (time.process_time() - self._started) * 1000

    @staticmethod
    def show(value: float) -> str:
        return f"{value:.3f}"


class Instructions:
    """Instructions counted by callgrind between start and stop (the process runs under valgrind, counting off)."""

    unit = "thousand instructions"

    def __init__(self):
        self._dumps = 0

    def start(self) -> None:
        self._control("--instr=on")

    def stop(self) -> float:
        self._dumps += 1
        self._control("--dump")  # writes what was counted since the last dump, and starts counting from zero
        self._control("--instr=off")
        dump = Path(f"{os.environ[UNDER_CALLGRIND]}.{os.getpid()}.{self._dumps}")
        totals = next(line for line in dump.read_text().splitlines() if line.startswith("totals:"))
        return int(totals.split()[1]) / 1000

    @staticmethod
    def _control(what: str) -> None:
        # the counting includes this wait for callgrind_control (a fixed cost, the same for every endpoint)
        subprocess.run(["callgrind_control", what, str(os.getpid())], check=True, capture_output=True)

    @staticmethod
    def show(value: float) -> str:
        return f"{value:,.0f}"


def _rerun_under_callgrind() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = f"{tmp}/callgrind.out"
        command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}.%p",
                   sys.executable, *sys.argv]
        env = {**os.environ, UNDER_CALLGRIND: out, "PYTHONHASHSEED": "0"}
        result = subprocess.run(command, env=env, stderr=subprocess.DEVNULL)
        raise SystemExit(result.returncode)


if __name__ == "__main__":
    main()
