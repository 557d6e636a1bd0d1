"""Admin console page times with a large store: 100,000 deliveries, 100,000 CRM writes, 20,000 contacts and
100,000 scored interactions (90 days, themes, flags, touches; 30% of them from 2% of the contacts).

Fills a fresh database (SQLite by default, or --database-url for PostgreSQL), signs in through the real
app (test client, embedded Redis), brings the insights' rollups up to date once (timed: the first overview
after a bulk load pays it), then renders each page R times; prints the median and the slowest per page,
beside GET /healthz (a page that does two small queries) as the floor on this machine; then the interaction
list with several filters, a deep page and one interaction's page. Target: every page under 300 ms.

    .venv/bin/python bench/admin_pages.py [--events 100000] [--interactions 100000] [--repeats 20]
                                          [--database-url URL]
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

PAGES = ["/admin/", "/admin/contacts/", "/admin/contacts/?q=contact%201234", "/admin/contacts/?q=%2B15550001234",
         "/admin/contacts/1", "/admin/contacts/{last}", "/admin/connectors/", "/admin/connectors/quo", "/admin/crm/",
         "/admin/jobs/", "/admin/users/", "/admin/rules/", "/admin/tokens/"]
INTERACTION_PAGES = ["/admin/interactions/", "/admin/interactions/?sentiment=negative&channel=call",
                     "/admin/interactions/?flag=any", "/admin/interactions/?flag=refund&source=quo",
                     "/admin/interactions/?theme=billing", "/admin/interactions/?text=charged",
                     "/admin/interactions/?text=nowhere+to+be+found",
                     "/admin/interactions/?since={week_ago}&until={today}",
                     "/admin/interactions/?line=%2B13125550100&sentiment=positive"]
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


def fill_interactions(url: str, count: int, contacts: int, events: int) -> None:
    """Scored interactions over 90 days (stored an hour ago, as a live system's are), phones, touches."""
    from sqlalchemy import create_engine, insert

    from bench.insights import LINE_WEIGHTS, LINES, QUOTES, THEME_WEIGHTS, THEMES
    from integration.store.models import ContactIdentity, Interaction, InteractionEvent, InteractionScore, Touch

    rng, now = random.Random(11), datetime.now(timezone.utc)
    stored = now - timedelta(hours=1)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(ContactIdentity), [{"contact_id": c, "kind": "phone", "value": f"+1555{c:07d}"}
                                               for c in range(1, contacts + 1)])
        for start in range(0, count, 10_000):
            rows, scores, touches, links = [], [], [], []
            for i in range(start + 1, min(count, start + 10_000) + 1):
                line, line_name, source, channel, agents = rng.choices(LINES, LINE_WEIGHTS)[0]
                agent = rng.choice(agents)
                at = now - timedelta(seconds=rng.uniform(0, 90 * 86400))
                contact = 1 + (rng.randrange(max(1, contacts // 50)) if rng.random() < 0.3 else rng.randrange(contacts))
                label = rng.choices(("negative", "neutral", "positive"), (30, 35, 35))[0]
                score = {"negative": -rng.uniform(0.2, 1), "neutral": rng.uniform(-0.1, 0.1),
                         "positive": rng.uniform(0.2, 1)}[label]
                themes = [{"theme": t, "how": "keyword", "evidence": f"{t} again"}
                          for t in sorted(set(rng.choices(THEMES, THEME_WEIGHTS, k=rng.choice((0, 1, 1, 2)))))]
                flags = [{"rule": "refund", "reason": "asked for a refund", "evidence": "my money back"}] \
                    if label == "negative" and rng.random() < 0.15 else []
                rows.append({"id": i, "source": source, "thread_key": f"b{i}", "contact_id": contact,
                             "channel": channel, "direction": "inbound", "occurred_at": at,
                             "turns": [{"speaker": "customer", "text": QUOTES[label], "at": None}], "source_ids": {},
                             "helpdesk_tags": [], "line": line, "line_name": line_name, "agent": agent,
                             "agent_name": agent and f"Agent {agent}", "created_at": stored, "updated_at": stored})
                scores.append({"interaction_id": i, "scorer": "lexicon", "basis": "customer_turns", "label": label,
                               "score": score, "intensity": "moderate", "confidence": 0.9, "signals": [],
                               "turn_scores": [{"turn": 0, "label": label, "score": score}],
                               "escalation_reason": "asked for a refund" if flags else None, "flags": flags,
                               "themes": themes, "trajectory": "single", "content_hash": f"h{i}",
                               "scored_at": stored})
                if i <= events:
                    links.append({"interaction_id": i, "event_id": i})
                if rng.random() < 0.35:
                    touches.append({"contact_id": contact, "source": source, "kind": "outbound_call",
                                    "occurred_at": at + timedelta(hours=rng.uniform(0.5, 72)), "external_id": f"t{i}",
                                    "interaction_id": i, "line": line, "agent": agent})
            conn.execute(insert(Interaction), rows)
            conn.execute(insert(InteractionScore), scores)
            if touches:
                conn.execute(insert(Touch), touches)
            if links:
                conn.execute(insert(InteractionEvent), links)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--interactions", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--database-url", default=None)
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
        contacts = max(1, args.events // 5)
        fill_interactions(url, args.interactions, contacts, args.events)
        if url.startswith("postgresql"):
            from sqlalchemy import create_engine, text

            with create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
                conn.execute(text("VACUUM ANALYZE"))
        print(f"filled {args.events} deliveries and {args.interactions} interactions in "
              f"{time.perf_counter() - started:.1f} s ({url.split(':')[0]})")
        app = create_app(Settings(database_url=url, redis_url=redis.url, secret_key="bench " * 8, _env_file=None))
        users.create(app.extensions["undertone"].db, "bench@example.com", PASSWORD, "admin")
        client = app.test_client()
        token = client.get("/admin/login").get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
        client.post("/admin/login", data={"email": "bench@example.com", "password": PASSWORD, "csrf_token": token})
        from integration.insights import rollup

        started = time.perf_counter()
        refreshed = rollup.refresh(app.extensions["undertone"].db, app.extensions["undertone"].settings.tzinfo)
        print(f"insights rollup refresh after the load: {refreshed} interactions in "
              f"{time.perf_counter() - started:.1f} s (once; later pages read the rollups)")
        if url.startswith("postgresql"):  # what autovacuum does after a bulk load (the insight tables were empty)
            with create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
                conn.execute(text("VACUUM ANALYZE"))
        floor = _times(client, "/healthz", args.repeats)
        print(f"{'page':<36}{'median ms':>10}{'max ms':>10}{'x healthz':>11}")
        print(f"{'/healthz (floor)':<36}{statistics.median(floor):>10.1f}{max(floor):>10.1f}{1:>11.1f}")
        for path in (p.format(last=contacts) for p in PAGES):
            times = _times(client, path, args.repeats)
            print(f"{path:<36}{statistics.median(times):>10.1f}{max(times):>10.1f}"
                  f"{statistics.median(times) / statistics.median(floor):>11.1f}")
        interaction_rows(client, args.repeats, floor, 1)


def interaction_rows(client, repeats: int, floor: list[float], detail: int) -> None:
    """The interaction list with filters, a deep page and one interaction's page, timed like the others."""
    today = datetime.now(timezone.utc).date()
    pages = [p.format(week_ago=today - timedelta(days=7), today=today) for p in INTERACTION_PAGES]
    older, one = _older_link(client, "/admin/interactions/?channel=call"), f"/admin/interactions/{detail}"
    db = client.application.extensions["undertone"].db
    if not db.is_sqlite:  # the insights' tables were filled by the first page: analyse them, as autovacuum would
        from sqlalchemy import create_engine, text

        engine = create_engine(db.url, isolation_level="AUTOCOMMIT")  # no statement timeout
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
        engine.dispose()
    for shown, path in [(p, p) for p in pages] + [("/admin/interactions/?channel=call (page 11)", older),
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
