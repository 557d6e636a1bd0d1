"""Insights at scale: p50/p95 of every /api/v1/insights endpoint at 100,000 and 1,000,000 interactions.

Creates one fresh PostgreSQL database per size, loads synthetic interactions into each (8 lines over 5 sources,
16 agents, the taxonomy's themes, touches, 90 days) with COPY and brings its rollups up to date as
`undertone insights refresh` does after a bulk import (`rollup.refresh`, timed). Loading and the catch-up run in
a child process each, as an import would beside the web: the process that times the answers, like a web worker,
never held the bulk load. It then times each endpoint through the Flask app with a bearer token and a real Redis
rate limit, in alternating rounds over the sizes (a few requests per endpoint and size, then the next size), so a
change in the shared machine's load falls on every size alike. The ratio column is each endpoint's p95 at the
largest size over its p95 at the first size (goal: at most 2, and p95 under 500 ms).

    .venv/bin/python bench/insights.py [--sizes 100000,1000000] [--requests 30] [--rounds 5] [--admin-url URL]
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

LINES = [  # (line, name, source, channel, agents)
    ("+13125550100", "Main line", "quo", "call", ["quo:U1", "quo:U2", "quo:U3"]),
    ("+13125550101", "Texts", "quo", "sms", ["quo:U1", "quo:U4"]),
    ("+13125550102", "Service", "quo", "call", ["quo:U5", "quo:U6"]),
    ("+13125550200", "After hours", "twilio", "call", [None]),
    ("+13125550300", "Sales", "aircall", "call", ["aircall:7", "aircall:8"]),
    ("zendesk:brand:1", "Support", "zendesk", "ticket", ["zendesk:21", "zendesk:22", "zendesk:23"]),
    ("intercom:inbox:5", "Chat", "intercom", "chat", ["intercom:31", "intercom:32"]),
    (None, None, "generic", "survey", [None]),
]
LINE_WEIGHTS = [30, 15, 15, 5, 10, 12, 10, 3]
THEMES = ["billing", "pricing", "scheduling", "wait time", "staff", "quality of work", "communication",
          "cancellation"]
THEME_WEIGHTS = [20, 8, 18, 15, 14, 10, 10, 5]
QUOTES = {"negative": "I was charged twice and nobody has called me back, this is ridiculous",
          "neutral": "I wanted to check when the technician is coming", "positive": "Thank you, great job today"}
DAYS = 90


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--requests", type=int, default=30, help="Timed requests per endpoint and size.")
    parser.add_argument("--rounds", type=int, default=5, help="Rounds the requests are spread over.")
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--keep", action="store_true", help="Keep the databases afterwards.")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    from integration.cli.embedded_redis import EmbeddedRedis

    shorten_refresh_margin()
    databases, now = {}, datetime.now(timezone.utc)
    spawn = multiprocessing.get_context("spawn")
    try:
        for size in sizes:
            databases[size] = create_database(args.admin_url)
            child = spawn.Process(target=prepare, args=(databases[size][0], size, now))
            child.start()
            child.join()
            if child.exitcode != 0:
                raise SystemExit(f"loading {size:,} interactions failed (exit code {child.exitcode})")
        with EmbeddedRedis() as redis_server:
            results = measure({size: url for size, (url, _) in databases.items()}, redis_server.url,
                              args.requests, args.rounds)
        report(sizes, results)
    finally:
        if not args.keep:
            for _, drop in databases.values():
                drop()
    return 0


def prepare(url: str, size: int, now: datetime) -> None:
    """Load `size` interactions and catch the rollups up, as an operator would (`undertone insights refresh`).

    After a COPY of this size the catch-up runs statements longer than a request's bound (DB_STATEMENT_TIMEOUT_S),
    so it runs without one; the timed requests afterwards each refresh only what changed since, under the bound."""
    from integration.insights import rollup
    from integration.settings import Settings
    from integration.store.db import Database

    margin = shorten_refresh_margin()
    started = time.perf_counter()
    load(url, size, now, random.Random(size))
    print(f"{size:,}: loaded in {time.perf_counter() - started:.1f} s", flush=True)
    settings = Settings(database_url=url, _env_file=None)
    db = Database(url)
    started = time.perf_counter()
    count = rollup.refresh(db, settings.tzinfo, statement_timeout_s=0)
    print(f"{size:,}: rollup refresh of {count:,} interactions in {time.perf_counter() - started:.1f} s", flush=True)
    db.dispose()
    vacuum = create_engine(url, isolation_level="AUTOCOMMIT")  # no statement bound (VACUUM takes minutes)
    with vacuum.connect() as conn:
        conn.execute(text("VACUUM ANALYZE"))  # what autovacuum does after a bulk load: index-only scans
    vacuum.dispose()
    time.sleep(margin + 1)


def shorten_refresh_margin() -> float:
    """The refresh re-reads changes a margin behind its watermark (late commits, 300 s): for that long after a
    bulk load every answer would re-scan the whole load. The bench shortens it (in each process) and waits it out,
    so its answers are timed as they would be a few minutes after an import."""
    from integration import defaults

    defaults.INSIGHTS_REFRESH_MARGIN_S = 2
    return defaults.INSIGHTS_REFRESH_MARGIN_S


def create_database(admin_url: str):
    from integration.store.migrate import upgrade

    admin = create_engine(make_url(admin_url), isolation_level="AUTOCOMMIT")
    name = f"undertone_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    upgrade(url)

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def load(url: str, count: int, now: datetime, rng: random.Random) -> None:
    """COPY `count` interactions, their scores, contacts (one per 4) and touches into an empty database."""
    import psycopg

    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    contacts = max(1, count // 4)
    naive_now = now.replace(tzinfo=None)
    stamp = datetime.now(timezone.utc).replace(tzinfo=None)  # when these rows were stored and scored
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        with cur.copy("COPY contacts (id, name, created_at) FROM STDIN") as copy:
            for c in range(1, contacts + 1):
                copy.write_row((c, f"Customer {c}", naive_now))
        with cur.copy("COPY contact_identities (contact_id, kind, value) FROM STDIN") as copy:
            for c in range(1, contacts + 1):
                copy.write_row((c, "phone", f"+1555{c:07d}"))
        interaction_cols = ("id, source, thread_key, contact_id, channel, direction, occurred_at, turns, source_ids, "
                            "helpdesk_tags, line, line_name, agent, agent_name, created_at, updated_at")
        score_cols = ("interaction_id, scorer, basis, label, score, intensity, confidence, signals, turn_scores, "
                      "escalation_reason, flags, themes, trajectory, content_hash, scored_at")
        rows, scores, touches = [], [], []
        for i in range(1, count + 1):
            line, line_name, source, channel, agents = rng.choices(LINES, LINE_WEIGHTS)[0]
            agent = rng.choice(agents)
            at = naive_now - timedelta(seconds=rng.uniform(0, DAYS * 86400))
            # repeat customers: 30% of interactions come from 2% of the contacts
            contact = 1 + (rng.randrange(max(1, contacts // 50)) if rng.random() < 0.3
                                           else rng.randrange(contacts))
            label = rng.choices(("negative", "neutral", "positive"), (30, 35, 35))[0]
            score = {"negative": -rng.uniform(0.2, 1), "neutral": rng.uniform(-0.1, 0.1),
                     "positive": rng.uniform(0.2, 1)}[label]
            picked = sorted(set(rng.choices(THEMES, THEME_WEIGHTS, k=rng.choice((0, 1, 1, 2)))))
            themes = [{"theme": t, "how": "keyword", "evidence": f"{t} again"} for t in picked]
            flags = [{"rule": "refund", "reason": "asked for a refund", "evidence": "my money back"}] \
                if label == "negative" and rng.random() < 0.15 else []
            quote = QUOTES[label]
            rows.append((i, source, f"b{i}", contact, channel, None if source == "zendesk" else "inbound", at,
                         json.dumps([{"speaker": "customer", "text": quote, "at": None}]), "{}", "[]", line,
                         line_name, agent, agent and f"Agent {agent}", at, stamp))
            scores.append((i, "lexicon", "customer_turns", label, score, "moderate", 0.9, "[]",
                           json.dumps([{"turn": 0, "label": label, "score": score}]),
                           "asked for a refund" if flags else None, json.dumps(flags), json.dumps(themes),
                           rng.choice(("single", "steady", "recovered", "soured")), f"h{i}", stamp))
            if rng.random() < 0.35:
                touches.append((contact, source, rng.choice(("outbound_call", "outbound_text", "agent_reply")),
                                at + timedelta(hours=rng.uniform(0.5, 72)), f"t{i}", i, line, agent))
        with cur.copy(f"COPY interactions ({interaction_cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        with cur.copy(f"COPY interaction_scores ({score_cols}) FROM STDIN") as copy:
            for row in scores:
                copy.write_row(row)
        with cur.copy("COPY touches (contact_id, source, kind, occurred_at, external_id, interaction_id, line, "
                      "agent) FROM STDIN") as copy:
            for row in touches:
                copy.write_row(row)
        for table in ("contacts", "interactions"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        conn.commit()
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE")


def measure(urls: dict, redis_url: str, requests: int, rounds: int) -> dict:
    """p50/p95 per size and endpoint through the app, the sizes taken in turn within each round."""
    from integration.settings import Settings
    from integration.store import api_tokens
    from integration.web.app import create_app

    clients = {}
    for size, url in urls.items():
        settings = Settings(database_url=url, redis_url=redis_url, api_rate_limit_per_minute=10 ** 6, _env_file=None)
        app = create_app(settings)
        token = api_tokens.create(app.extensions["undertone"].db, f"bench-{uuid.uuid4().hex[:6]}")
        clients[size] = (app, app.test_client(), {"Authorization": f"Bearer {token}"})
    samples = {size: {label(name, query): [] for name, query in ENDPOINTS} for size in urls}
    per_round = [requests // rounds + (r < requests % rounds) for r in range(rounds)]
    for r, count in enumerate(per_round):
        for size, (_, client, headers) in clients.items():
            for name, query in ENDPOINTS:
                for n in range(count + (r == 0) * 2):  # two warm-up requests in the first round
                    started = time.perf_counter()
                    response = client.get(f"/api/v1/insights/{name}", query_string=query, headers=headers)
                    elapsed = time.perf_counter() - started
                    assert response.status_code == 200, (name, response.status_code,
                                                         response.get_data(as_text=True)[:300])
                    if r or n >= 2:
                        samples[size][label(name, query)].append(elapsed * 1000)
        print(f"round {r + 1} of {rounds} done", flush=True)
    for app, _, _ in clients.values():
        app.extensions["undertone"].db.dispose()
    return {size: {key: (statistics.median(values), percentile(values, 0.95)) for key, values in by_key.items()}
            for size, by_key in samples.items()}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


ENDPOINTS = [
    ("customers", {}), ("lines", {}), ("themes", {"sentiment": "negative", "limit": 3}),
    ("callbacks", {"line": "+13125550100"}), ("mix", {}), ("trend", {}), ("unanswered", {}),
    ("change", {"theme": "billing", "days": 14}), ("agents", {}), ("spikes", {}),
]


def label(name: str, query: dict) -> str:
    return name + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def report(sizes: list[int], results: dict) -> None:
    first = sizes[0]
    print()
    print("| endpoint | " + " | ".join(f"p50 / p95 at {s:,}" for s in sizes) + " | p95 ratio |")
    print("|---|" + "---|" * len(sizes) + "---|")
    for key in results[first]:
        cells = [f"{results[s][key][0]:.0f} / {results[s][key][1]:.0f} ms" for s in sizes]
        ratio = results[sizes[-1]][key][1] / results[first][key][1]
        print(f"| {key} | " + " | ".join(cells) + f" | {ratio:.2f} |")


if __name__ == "__main__":
    raise SystemExit(main())
