"""What each interaction costs to keep: PostgreSQL bytes per row of each table, and Redis bytes per queued job.

Imports N short SMS interactions across M contacts into a fresh PostgreSQL database with
`undertone import --inline` (the lexicon scorer, the built-in CRM sink), then prints each table's rows
and total size (with indexes and TOAST) per row. Then queues N event jobs on a fresh Redis and prints
the memory they take per job. These are inputs of docs/scaling.md.

    .venv/bin/python bench/storage_size.py [--interactions 2000] [--contacts 400]
"""
from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import harness  # noqa: E402
from bench.crm_replay import TEXTS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=2000)
    parser.add_argument("--contacts", type=int, default=400)
    args = parser.parse_args()
    harness.cleanup_on_terminate()
    random.seed(7)
    database_sizes(args.interactions, args.contacts)
    redis_sizes(args.interactions)


def database_sizes(interactions: int, contacts: int) -> None:
    from sqlalchemy import create_engine, text

    with tempfile.TemporaryDirectory() as tmp, harness.fresh_database("postgresql", tmp) as url:
        path = Path(tmp) / "history.jsonl"
        with path.open("w") as out:
            for i in range(interactions):
                out.write(json.dumps({"id": uuid.uuid4().hex, "channel": "sms",
                                      "occurred_at": "2026-11-20T10:00:00+00:00",
                                      "text": f"{random.choice(TEXTS)} {random.choice(TEXTS)}",
                                      "contact": {"phone": f"+1415556{i % contacts:04d}"}}) + "\n")
        env = harness.process_env(DATABASE_URL=url, SCORER="lexicon")
        subprocess.run([str(harness.BIN / "undertone"), "--log-level", "WARNING", "import", str(path), "--inline"],
                       env=env, cwd=harness.ROOT, check=True, stdout=subprocess.DEVNULL)
        engine = create_engine(url)
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            rows = conn.execute(text("SELECT relname, n_live_tup, pg_total_relation_size(relid)"
                                     " FROM pg_stat_user_tables"
                                     " WHERE n_live_tup > 0 AND relname != 'alembic_version' ORDER BY 3 DESC")).all()
        engine.dispose()
    print(f"PostgreSQL, {interactions} SMS interactions across {contacts} contacts (tables with indexes and TOAST)\n")
    print(f"{'table':<22}{'rows':>8}{'KB':>9}{'bytes/row':>11}")
    for name, count, size in rows:
        print(f"{name:<22}{count:>8}{size / 1024:>9.0f}{size / count:>11.0f}")
    print(f"{'per interaction':<22}{'':>8}{'':>9}{sum(size for _, _, size in rows) / interactions:>11.0f}\n")


def redis_sizes(jobs: int) -> None:
    from redis import Redis

    from integration import queues
    from integration.cli.embedded_redis import EmbeddedRedis

    with EmbeddedRedis() as server:
        redis = Redis.from_url(server.url)
        before = redis.info("memory")["used_memory"]
        for start in range(0, jobs, 100):
            queues.enqueue_events(redis, list(range(start, min(jobs, start + 100))))
        used = redis.info("memory")["used_memory"] - before
    print(f"Redis: {jobs} queued event jobs take {used / jobs:.0f} bytes each (job hash and queue entry)")


if __name__ == "__main__":
    main()
