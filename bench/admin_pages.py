"""Admin console page times with a large store: 100,000 deliveries, 100,000 CRM writes, 20,000 contacts.

With 100,000 interactions (--interactions) for the interaction list (several filters, a deep page) and one
interaction's page. Fills a fresh database (SQLite by default, or --database-url for PostgreSQL), signs in through the real
app (test client, embedded Redis) and renders each page R times; prints the median and the slowest per
page, beside GET /healthz (a page that does two small queries) as the floor on this machine.

    .venv/bin/python bench/admin_pages.py [--events 100000] [--repeats 20] [--database-url URL]
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAGES = ["/admin/", "/admin/connectors/", "/admin/connectors/quo", "/admin/crm/", "/admin/jobs/", "/admin/users/"]
SOURCES = ["quo", "twilio", "aircall", "dialpad", "zendesk", "intercom", "freshdesk", "hubspot", "generic"]
PASSWORD = "bench password 1234"


def fill(url: str, events: int) -> None:
    """Deliveries over 30 days (2% failed), contacts with every CRM status, one CRM write per delivery."""
    from sqlalchemy import create_engine, insert

    from integration.store.models import Contact, CrmWrite, WebhookEvent

    rng, now = random.Random(7), datetime.now(timezone.utc)
    engine = create_engine(url)
    contacts = max(1, events // 5)
    with engine.begin() as conn:
        statuses = ["matched"] * 8 + ["unmatched", "error"]
        conn.execute(insert(Contact), [
            {"id": i + 1, "name": f"Contact {i}", "created_at": now, "crm_status": rng.choice(statuses),
             "crm_error": "PROPERTY_DOESNT_EXIST" if i % 10 == 9 else None} for i in range(contacts)])
        for start in range(0, events, 10_000):
            rows = []
            for n in range(start, min(events, start + 10_000)):
                failed = rng.random() < 0.02
                rows.append({"source": rng.choice(SOURCES), "event_id": f"ev-{n}", "event_type": "call.completed",
                             "received_at": now - timedelta(seconds=rng.uniform(0, 30 * 86400)), "body": b"{}",
                             "headers": {}, "status": "failed" if failed else "processed", "attempts": 1,
                             "last_error": "HubSpot 400: bad property" if failed else None})
            conn.execute(insert(WebhookEvent), rows)
            conn.execute(insert(CrmWrite), [
                {"contact_id": rng.randint(1, contacts), "crm": "hubspot", "operation": "update_contact",
                 "idempotency_key": f"k-{n}-{uuid.uuid4().hex[:6]}", "payload": {}, "status": "done",
                 "created_at": r["received_at"]} for n, r in enumerate(rows, start)])
    engine.dispose()


INTERACTION_PAGES = ["/admin/interactions/", "/admin/interactions/?sentiment=negative&channel=call",
                     "/admin/interactions/?flag=any", "/admin/interactions/?flag=refund&source=quo",
                     "/admin/interactions/?theme=billing", "/admin/interactions/?text=refund",
                     "/admin/interactions/?text=nowhere+to+be+found",
                     "/admin/interactions/?since=2026-10-01&until=2026-10-07",
                     "/admin/interactions/?line=%2B15550003&sentiment=positive"]
WORDS = ("the plumber came late again and the sink still leaks I want a refund thank you great service bill was wrong "
         "nobody called me back wonderful work appointment moved twice price too high friendly staff").split()


def fill_interactions(url: str, count: int, contacts: int, events: int) -> int:
    """`count` scored interactions over 120 days (5% flagged, 30% themed), each linked to one delivery; returns
    the id of one with a contact, a flag and themes (the detail page measured)."""
    from sqlalchemy import create_engine, insert

    from integration.store.models import Interaction, InteractionEvent, InteractionScore

    rng, now = random.Random(11), datetime.now(timezone.utc)
    engine = create_engine(url)
    with engine.begin() as conn:
        for start in range(0, count, 10_000):
            rows, scores, links = [], [], []
            for n in range(start, min(count, start + 10_000)):
                score = round(rng.uniform(-1, 1), 3)
                label = "negative" if score <= -0.05 else "positive" if score >= 0.05 else "neutral"
                flagged, text = n % 20 == 0, " ".join(rng.choice(WORDS) for _ in range(30))
                turns = [{"speaker": "customer", "text": text, "at": None},
                         {"speaker": "agent", "text": "Sorry to hear that, let me check.", "at": None}]
                at = now - timedelta(seconds=rng.uniform(600, 120 * 86400))  # scored when it happened
                rows.append({"id": n + 1, "source": rng.choice(SOURCES[:5]), "thread_key": f"t{n}",
                             "channel": rng.choice(["call", "sms", "ticket"]), "source_ids": {}, "turns": turns,
                             "occurred_at": at,
                             "contact_id": rng.randint(1, contacts), "line": f"+1555000{n % 7}",
                             "agent": f"quo:U{n % 11}", "helpdesk_tags": [], "created_at": at, "updated_at": at})
                scores.append({"interaction_id": n + 1, "scorer": "lexicon", "basis": "customer_turns",
                               "label": label, "score": score, "intensity": label, "confidence": 0.8,
                               "signals": [], "turn_scores": [{"turn": 0, "label": label, "score": score}],
                               "flags": [{"rule": "refund", "reason": "asked for a refund", "evidence": "a refund"}]
                               if flagged else [], "escalation_reason": "asked for a refund" if flagged else None,
                               "themes": [{"theme": "billing", "how": "keyword", "evidence": "bill was wrong"}]
                               if n % 3 == 0 else [], "trajectory": "single", "content_hash": f"h{n}",
                               "scored_at": at})
                if n < events:
                    links.append({"interaction_id": n + 1, "event_id": n + 1})
            conn.execute(insert(Interaction), rows)
            conn.execute(insert(InteractionScore), scores)
            if links:
                conn.execute(insert(InteractionEvent), links)
    engine.dispose()
    return 1  # interaction 1: flagged (n % 20 == 0), themed (n % 3 == 0), with a contact and a delivery


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--interactions", type=int, default=100_000)
    args = parser.parse_args()

    from integration.cli.embedded_redis import EmbeddedRedis
    from integration.settings import Settings
    from integration.store import users
    from integration.store.migrate import upgrade
    from integration.web.app import create_app

    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis() as redis:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        started = time.perf_counter()
        fill(url, args.events)
        detail = fill_interactions(url, args.interactions, max(1, args.events // 5), args.events)
        if url.startswith("postgresql"):
            from sqlalchemy import create_engine, text

            with create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
                conn.execute(text("VACUUM ANALYZE"))
        print(f"filled {args.events} deliveries and {args.interactions} interactions"
              f" in {time.perf_counter() - started:.1f} s ({url.split(':')[0]})")
        app = create_app(Settings(database_url=url, redis_url=redis.url, secret_key="bench " * 8, _env_file=None))
        users.create(app.extensions["undertone"].db, "bench@example.com", PASSWORD, "admin")
        client = app.test_client()
        token = client.get("/admin/login").get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
        client.post("/admin/login", data={"email": "bench@example.com", "password": PASSWORD, "csrf_token": token})
        floor = _times(client, "/healthz", args.repeats)
        print(f"{'page':<26}{'median ms':>10}{'max ms':>10}{'x healthz':>11}")
        print(f"{'/healthz (floor)':<26}{statistics.median(floor):>10.1f}{max(floor):>10.1f}{1:>11.1f}")
        for path in PAGES:
            times = _times(client, path, args.repeats)
            print(f"{path:<26}{statistics.median(times):>10.1f}{max(times):>10.1f}"
                  f"{statistics.median(times) / statistics.median(floor):>11.1f}")
        interaction_rows(client, args.repeats, floor, detail)


def interaction_rows(client, repeats: int, floor: list[float], detail: int) -> None:
    """The interaction list with filters, a deep page and one interaction's page, timed like the others."""
    older, one = _older_link(client, "/admin/interactions/?channel=call"), f"/admin/interactions/{detail}"
    db = client.application.extensions["undertone"].db
    if not db.is_sqlite:  # the insights' tables were filled by the first page: analyse them, as autovacuum would
        from sqlalchemy import create_engine, text

        engine = create_engine(db.url, isolation_level="AUTOCOMMIT")  # no statement timeout
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
        engine.dispose()
    for shown, path in [(p, p) for p in INTERACTION_PAGES] + [("/admin/interactions/?channel=call (page 11)", older),
                                                               (one, one)]:
        times = _times(client, path, repeats)
        print(f"{shown:<60}{statistics.median(times):>10.1f}{max(times):>10.1f}"
              f"{statistics.median(times) / statistics.median(floor):>11.1f}")


def _older_link(client, path: str) -> str:
    """The list's "Older" page after ten pages, so a deep page is timed too."""
    for _ in range(10):
        page = client.get(path).get_data(as_text=True)
        path = page.split('" rel="next"')[0].rsplit('href="', 1)[1].replace("&amp;", "&")
    return path


def _times(client, path: str, repeats: int) -> list[float]:
    assert client.get(path).status_code == 200, path  # warm
    out = []
    for _ in range(repeats):
        started = time.perf_counter()
        answer = client.get(path)
        out.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, path
    return out


if __name__ == "__main__":
    main()
