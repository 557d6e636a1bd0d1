"""Spikes from the spike days: kept by deltas, equal to a rebuild, and the answer equal to counting the window's
negative theme rows from scratch (the answer before the spike days existed), on SQLite and PostgreSQL, including
rows dated after `now`, contacts changed and a time zone whose clock goes back across midnight."""
from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select

from integration.insights import rollup
from integration.insights.params import SpikesQuery
from integration.insights.registry import answer
from integration.insights.spike_days import day_of
from integration.insights.tables import InsightSpikeDay
from integration.insights.window import local_midnight, resolve
from integration.store.models import Interaction, InteractionScore, utcnow
from tests.integration.insights.dataset import L1, L2, U1, theme
from tests.integration.insights.test_callback_rollup import add, contact

THEMES = ("billing", "scheduling", "wait time", "staff", "x" * 70)  # a long name is cut to 64, as stored
# Newfoundland ended DST at 00:01 until 2011: the clock went from 00:01 back to 23:01 the day before, so for an
# hour after midnight the local date is the previous day's (2010-11-07 02:31 UTC to 03:30 UTC).
ST_JOHNS = ZoneInfo("America/St_Johns")
BACK = datetime(2010, 11, 7, 2, 31, tzinfo=timezone.utc)


def in_zone(settings, tz: ZoneInfo):
    return settings.model_copy(update={"timezone": tz.key})


def from_scratch(db, tz, query: SpikesQuery, now) -> dict:
    """The spikes answer computed from every interaction: distinct contacts and interactions per theme among
    the negative ones in [since, until), first and last moments; sorted and split as the answer is."""
    window = resolve(query, tz, now)
    threshold = query.min_customers or 5
    people, count, moments = defaultdict(set), defaultdict(int), defaultdict(list)
    with db.session() as s:
        stmt = select(Interaction.contact_id, Interaction.occurred_at, Interaction.line, Interaction.agent,
                      InteractionScore.label, InteractionScore.themes).join(InteractionScore)
        for contact_id, at, line, agent, label, themes in s.execute(stmt):
            at = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
            if label != "negative" or not window.since <= at < window.until:
                continue
            if (query.line is not None and line != query.line) or (query.agent is not None and agent != query.agent):
                continue
            for name in {t["theme"][:64] for t in themes or [] if t.get("theme")}:
                count[name] += 1
                moments[name].append(at)
                if contact_id is not None:
                    people[name].add(contact_id)
    rows = sorted(((name, len(people[name]), count[name]) for name in count), key=lambda r: (-r[1], -r[2], r[0]))
    listed = [(name, customers, n, _iso(min(moments[name])), _iso(max(moments[name]))) for name, customers, n in rows]
    return {"spikes": [r for r in listed if r[1] >= threshold][: query.rows],
            "below_threshold": [r for r in listed if r[1] < threshold][: query.rows]}


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def told(got: dict) -> dict:
    return {part: [(r["theme"], r["customers"], r["interactions"], r["first_at"], r["last_at"]) for r in got[part]]
            for part in ("spikes", "below_threshold")}


def stored(db) -> dict:
    with db.session() as s:
        return {(r.theme, r.day): (r.customers, r.interactions) for r in s.scalars(select(InsightSpikeDay))
                if r.customers or r.interactions}


def test_day_of_is_exactly_the_window_bound_where_the_clock_goes_back_across_midnight():
    moments = [BACK + timedelta(minutes=7 * n) for n in range(-400, 400)]
    days = [date(2010, 11, 5) + timedelta(days=n) for n in range(5)]
    for at in moments:
        for day in days:
            assert (day_of(at, ST_JOHNS) >= day) == (at >= local_midnight(day, ST_JOHNS)), (at, day)
    # the edge is real: there the local date is the day before the window's day
    assert any(day_of(at, ST_JOHNS) != at.astimezone(ST_JOHNS).date() for at in moments)
    assert all(day_of(at, ZoneInfo("UTC")) == at.date() for at in moments)


def test_incremental_spike_days_equal_a_rebuild_and_the_answer_equals_counting_every_row(db, settings):
    """Random histories around the Newfoundland clock change, changed over rounds (new interactions, re-scores,
    moves in time, another contact, rows after `now`); after each round every answer, for windows ending at
    several moments, is the one counted from scratch; at the end the kept rows equal a rebuild."""
    rng, tz = random.Random(14), ST_JOHNS
    settings = in_zone(settings, tz)
    with db.session() as s:
        people = [contact(s, f"S{n}") for n in range(25)]

    def moment():
        if rng.random() < 0.3:  # inside the hour whose local date is the day before
            return BACK + timedelta(minutes=rng.uniform(0, 60))
        return BACK + timedelta(hours=rng.uniform(-24 * 15, 24 * 4))

    def new_interaction(s):
        return add(s, rng.choice(people + [None]), moment(),
                   rng.choice(("negative", "negative", "negative", "neutral", "positive")),
                   line=rng.choice((L1, L2, None)), agent=rng.choice((U1, None)),
                   themes=rng.sample(THEMES, rng.choice((0, 1, 1, 2))))

    with db.session() as s:
        for _ in range(160):
            new_interaction(s)
    nows = [BACK + timedelta(minutes=30), BACK + timedelta(hours=1), BACK + timedelta(days=2), BACK - timedelta(days=3),
            BACK + timedelta(days=6)]
    queries = [SpikesQuery(), SpikesQuery(days=1, min_customers=2), SpikesQuery(days=2, min_customers=3, limit=2),
               SpikesQuery(since=date(2010, 11, 7)), SpikesQuery(since=date(2010, 11, 1), min_customers=1),
               SpikesQuery(line=L1), SpikesQuery(since=date(2010, 10, 30), until=date(2010, 11, 6))]
    for round_ in range(4):
        for now in nows:
            for query in queries:
                got = answer("spikes", query, db, settings, now=now)
                assert told(got) == from_scratch(db, tz, query, now), (round_, now, query)
        with db.session() as s:
            ids = list(s.scalars(select(Interaction.id)))
            for iid in rng.sample(ids, 15):  # re-scored: another label and other themes
                score = s.scalar(select(InteractionScore).where(InteractionScore.interaction_id == iid))
                score.label = rng.choice(("negative", "neutral", "positive"))
                score.themes = [theme(t, t) for t in rng.sample(THEMES, rng.choice((0, 1, 2)))]
                score.scored_at = utcnow()
            for iid in rng.sample(ids, 10):  # moved in time, or to another contact
                row = s.get(Interaction, iid)
                if rng.random() < 0.6:
                    row.occurred_at = moment()
                else:
                    row.contact_id = rng.choice(people + [None])
                row.updated_at = utcnow()
            for _ in range(15):
                new_interaction(s)
    for now in nows:
        for query in queries:
            assert told(answer("spikes", query, db, settings, now=now)) == from_scratch(db, tz, query, now)
    incremental = stored(db)
    assert any(customers > 1 for customers, _ in incremental.values())
    rollup.rebuild(db, tz)
    assert stored(db) == incremental


def test_a_contact_counts_once_on_its_latest_day_and_moves_when_that_one_goes(db, settings):
    start = utcnow() - timedelta(days=5)
    with db.session() as s:
        cid = contact(s)
        add(s, cid, start, "negative", themes=["billing"])
        latest = add(s, cid, start + timedelta(days=2), "negative", themes=["billing"])
    got = answer("spikes", SpikesQuery(min_customers=1), db, settings)
    assert [(r["theme"], r["customers"], r["interactions"]) for r in got["spikes"]] == [("billing", 1, 2)]
    tz = settings.tzinfo
    assert stored(db) == {("billing", start.astimezone(tz).date()): (0, 1),
                          ("billing", (start + timedelta(days=2)).astimezone(tz).date()): (1, 1)}
    with db.session() as s:  # the latest one is re-scored positive: the contact moves to the earlier day
        score = s.scalar(select(InteractionScore).where(InteractionScore.interaction_id == latest))
        score.label, score.scored_at = "positive", utcnow()
    got = answer("spikes", SpikesQuery(min_customers=1, days=2), db, settings)
    assert got["spikes"] == [] and got["below_threshold"] == []
    assert stored(db) == {("billing", start.astimezone(tz).date()): (1, 1)}


def test_the_migration_fills_the_spike_days_as_a_refresh_would(db, settings, database_url):
    """Theme rows stored before 0011 get their spike days from the migration itself (no rebuild), in the
    time zone the last refresh used, the clock going back across midnight included."""
    from alembic import command

    from integration.store.migrate import alembic_config, upgrade

    rng, settings = random.Random(3), in_zone(settings, ST_JOHNS)
    with db.session() as s:
        people = [contact(s, f"M{n}") for n in range(8)]
        for _ in range(80):
            add(s, rng.choice(people + [None]), BACK + timedelta(minutes=rng.uniform(-3000, 600)),
                rng.choice(("negative", "negative", "positive")), themes=rng.sample(THEMES, rng.choice((1, 2))))
    rollup.refresh(db, ST_JOHNS)
    kept = stored(db)
    assert any(customers > 1 for customers, _ in kept.values())
    assert any(day == date(2010, 11, 7) for _, day in kept)
    db.dispose()
    command.downgrade(alembic_config(database_url), "0010")
    upgrade(database_url)
    assert stored(db) == kept
    assert rollup.refresh(db, ST_JOHNS) == 0  # nothing to catch up: no rebuild was asked for
    query, now = SpikesQuery(days=2, min_customers=1), BACK + timedelta(hours=5)
    assert told(answer("spikes", query, db, settings, now=now)) == from_scratch(db, ST_JOHNS, query, now)
