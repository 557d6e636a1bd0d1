"""The daily callback-pair counts: kept by deltas, equal to a rebuild, and the callbacks answer equal to
counting every pair's themes from scratch (the answer before the counts existed), on SQLite and PostgreSQL."""
from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select

from integration.insights import callback_pairs, rollup
from integration.insights.params import CallbacksQuery
from integration.insights.registry import answer
from integration.insights.tables import InsightCallback, InsightDailyCallback, InsightDailyCallbackTheme
from integration.insights.window import resolve
from integration.store.models import Contact, Interaction, InteractionScore, utcnow
from tests.integration.insights.dataset import L1, L2, U1, theme

THEMES = ("billing", "scheduling", "wait time", "staff")


def add(s, contact_id, at, label=None, *, line=L1, agent=U1, direction="inbound", themes=(), escalation=None,
        source="quo", channel="call"):
    """One interaction (scored when `label` is given); returns its id."""
    row = Interaction(source=source, thread_key=f"t{random.random()}", contact_id=contact_id, channel=channel,
                      direction=direction, occurred_at=at, line=line, agent=agent, source_ids={})
    s.add(row)
    s.flush()
    if label is not None:
        s.add(InteractionScore(interaction_id=row.id, scorer="lexicon", basis="customer_turns", label=label,
                               score={"negative": -0.5, "neutral": 0.0, "positive": 0.5}[label],
                               intensity="moderate", confidence=0.9, themes=[theme(t, t) for t in themes],
                               escalation_reason=escalation, content_hash="h"))
    return row.id


def contact(s, name="Cal Back"):
    row = Contact(name=name)
    s.add(row)
    s.flush()
    return row.id


def from_scratch(db, tz, query: CallbacksQuery, now=None) -> dict:
    """The callbacks answer computed the old way: every pair from every history, every pair's themes counted."""
    window = resolve(query, tz, now)
    with db.session() as s:
        ids = list(s.scalars(select(Contact.id)))
        found = [p for h in callback_pairs._histories(s, ids).values() for p in callback_pairs.pairs(h, tz)]
        themes_of = {iid: {t["theme"][:64] for t in themes or [] if t.get("theme")} for iid, themes in
                     s.execute(select(InteractionScore.interaction_id, InteractionScore.themes))}
    found = [p for p in found if window.first_day <= p["day"] <= window.last_day and all(
        getattr(query, name) is None or p[name] == getattr(query, name) for name in ("source", "channel", "line",
                                                                                     "agent"))]
    found.sort(key=lambda p: (p["at"], p["interaction_id"]))
    issues = Counter()
    for p in found:
        issues.update(themes_of.get(p["interaction_id"], set()) | themes_of.get(p["callback_id"], set()))
    return {"total": len(found), "recurring_themes": [{"theme": t, "pairs": n} for t, n in
                                                      sorted(issues.items(), key=lambda i: (-i[1], i[0]))],
            "pairs": [(p["interaction_id"], p["callback_id"], round(p["hours"], 1)) for p in found[: query.rows]]}


def told(got: dict) -> dict:
    return {"total": got["total"], "recurring_themes": got["recurring_themes"],
            "pairs": [(c["interaction"]["interaction_id"], c["callback"]["interaction_id"],
                       c["callback"]["hours_after"]) for c in got["callbacks"]]}


def counts(db) -> tuple[dict, dict]:
    """The non-zero daily pair counts, as stored."""
    with db.session() as s:
        daily = {(r.day, r.source, r.channel, r.line, r.agent): r.n for r in s.scalars(select(InsightDailyCallback))
                 if r.n}
        themes = {(r.day, r.theme, r.source, r.channel, r.line, r.agent): r.n
                  for r in s.scalars(select(InsightDailyCallbackTheme)) if r.n}
    return daily, themes


def random_histories(db, rng: random.Random, now, people_count=30, interactions=200):
    """Contacts with random histories; returns (contact ids, a function adding one interaction, unscored ids)."""
    with db.session() as s:
        people = [contact(s, f"R{n}") for n in range(people_count)]

    def new_interaction(s, scored=True):
        label = rng.choice(("negative", "negative", "neutral", "positive")) if scored else None
        return add(s, rng.choice(people), now - timedelta(hours=rng.uniform(1, 24 * 16)), label,
                   line=rng.choice((L1, L2, None)), agent=rng.choice((U1, None)),
                   direction=rng.choice(("inbound", "inbound", "outbound", None)),
                   themes=rng.sample(THEMES, rng.choice((0, 1, 1, 2))),
                   escalation="asked for a refund" if rng.random() < 0.1 else None)

    with db.session() as s:
        unscored = [new_interaction(s, scored=rng.random() < 0.85) for _ in range(interactions)]
    return people, new_interaction, unscored


def test_incremental_counts_equal_a_rebuild_and_the_answer_equals_counting_every_pair(db, settings):
    """Random histories changed over rounds (new calls, re-scores, moves, lines set later, callbacks scored
    late); after each round the answer is the one computed from scratch; at the end the counts equal a rebuild."""
    rng, tz, now = random.Random(11), settings.tzinfo, utcnow()
    _, new_interaction, unscored = random_histories(db, rng, now)
    queries = [CallbacksQuery(), CallbacksQuery(line=L1, limit=3), CallbacksQuery(agent=U1, days=7),
               CallbacksQuery(channel="call", since=(now - timedelta(days=12)).date(),
                              until=(now - timedelta(days=3)).date())]
    for round_ in range(4):
        for query in queries:
            assert told(answer("callbacks", query, db, settings)) == from_scratch(db, tz, query), (round_, query)
        with db.session() as s:
            ids = list(s.scalars(select(Interaction.id)))
            for iid in rng.sample(ids, 12):  # re-scored: another label and other themes
                score = s.scalar(select(InteractionScore).where(InteractionScore.interaction_id == iid))
                if score is not None:
                    score.label = rng.choice(("negative", "neutral", "positive"))
                    score.themes = [theme(t, t) for t in rng.sample(THEMES, rng.choice((0, 1, 2)))]
                    score.scored_at = utcnow()
            for iid in rng.sample(ids, 6):  # moved in time, or given a line later
                row = s.get(Interaction, iid)
                if rng.random() < 0.5:
                    row.occurred_at = row.occurred_at + timedelta(hours=rng.uniform(-30, 30))
                else:
                    row.line = rng.choice((L1, L2))
                row.updated_at = utcnow()
            scored_late = [i for i in unscored if s.scalar(select(InteractionScore.id).where(
                InteractionScore.interaction_id == i)) is None][:5]
            for iid in scored_late:
                s.add(InteractionScore(interaction_id=iid, scorer="lexicon", basis="customer_turns",
                                       label="neutral", score=0.0, intensity="moderate", confidence=0.9,
                                       themes=[theme("wait time", "waited")], content_hash="late"))
            for _ in range(15):
                new_interaction(s)
    for query in queries:
        assert told(answer("callbacks", query, db, settings)) == from_scratch(db, tz, query)
    incremental = counts(db)
    assert incremental[0] and incremental[1]  # the data make pairs with themes
    rollup.rebuild(db, tz)
    assert counts(db) == incremental


def test_a_callback_arriving_after_the_unresolved_interaction_makes_a_pair(db, settings):
    start = utcnow() - timedelta(days=3)
    with db.session() as s:
        cid = contact(s)
        first = add(s, cid, start, "negative", themes=["billing"])
    before = answer("callbacks", CallbacksQuery(line=L1), db, settings)
    assert (before["total"], before["recurring_themes"], before["top_issue"]) == (0, [], None)
    with db.session() as s:
        back = add(s, cid, start + timedelta(hours=5), "neutral", themes=["wait time"])
    got = answer("callbacks", CallbacksQuery(line=L1), db, settings)
    assert got["total"] == 1 and got["top_issue"] == "billing"
    assert got["recurring_themes"] == [{"theme": "billing", "pairs": 1}, {"theme": "wait time", "pairs": 1}]
    assert (got["callbacks"][0]["interaction"]["interaction_id"], got["callbacks"][0]["callback"]["interaction_id"],
            got["callbacks"][0]["callback"]["hours_after"]) == (first, back, 5.0)
    with db.session() as s:  # the callback is re-scored: its theme changes, the pair's themes follow
        score = s.scalar(select(InteractionScore).where(InteractionScore.interaction_id == back))
        score.themes, score.scored_at = [theme("staff", "rude")], utcnow()
    got = answer("callbacks", CallbacksQuery(line=L1), db, settings)
    assert got["recurring_themes"] == [{"theme": "billing", "pairs": 1}, {"theme": "staff", "pairs": 1}]
    with db.session() as s:  # a later positive call resolves it: the pair and its counts go
        add(s, cid, start + timedelta(days=1), "positive")
    got = answer("callbacks", CallbacksQuery(line=L1), db, settings)
    assert (got["total"], got["recurring_themes"], got["callbacks"]) == (0, [], [])
    assert counts(db) == ({}, {})


def test_the_48_hour_boundary_is_inclusive(db, settings):
    start = utcnow() - timedelta(days=5)
    with db.session() as s:
        on_time, late = contact(s, "On Time"), contact(s, "Late")
        first = add(s, on_time, start, "negative", themes=["billing"])
        add(s, on_time, start + timedelta(hours=48), "neutral")
        add(s, late, start, "negative", themes=["scheduling"])
        add(s, late, start + timedelta(hours=48, seconds=1), "neutral")
    got = answer("callbacks", CallbacksQuery(), db, settings)
    assert got["total"] == 1 and got["recurring_themes"] == [{"theme": "billing", "pairs": 1}]
    assert got["callbacks"][0]["interaction"]["interaction_id"] == first
    assert got["callbacks"][0]["callback"]["hours_after"] == 48.0


def test_an_outbound_call_is_no_callback_but_the_next_inbound_one_is(db, settings):
    start = utcnow() - timedelta(days=4)
    with db.session() as s:
        cid = contact(s)
        add(s, cid, start, "negative", themes=["billing"])
        add(s, cid, start + timedelta(hours=2), "neutral", direction="outbound", themes=["staff"])
        back = add(s, cid, start + timedelta(hours=6), None, direction=None)  # no direction: inbound; not scored
    got = answer("callbacks", CallbacksQuery(), db, settings)
    assert got["total"] == 1 and got["callbacks"][0]["callback"]["interaction_id"] == back
    assert got["recurring_themes"] == [{"theme": "billing", "pairs": 1}]  # the outbound call's theme is not in it


def test_pairs_without_a_line_count_in_the_whole_and_under_no_line_filter(db, settings):
    start = utcnow() - timedelta(days=2)
    with db.session() as s:
        cid, other = contact(s), contact(s, "On L1")
        first = add(s, cid, start, "negative", line=None, agent=None, source="generic", channel="survey",
                    themes=["quality"])
        add(s, cid, start + timedelta(hours=1), "neutral", line=None, agent=None, source="generic",
            channel="survey")
        add(s, other, start, "negative", themes=["billing"])
        add(s, other, start + timedelta(hours=3), "negative")
    everything = answer("callbacks", CallbacksQuery(), db, settings)
    assert everything["total"] == 2
    assert everything["recurring_themes"] == [{"theme": "billing", "pairs": 1}, {"theme": "quality", "pairs": 1}]
    assert everything["callbacks"][0]["interaction"]["interaction_id"] == first  # same time: lower id first
    assert everything["callbacks"][0]["interaction"]["line"] is None
    on_l1 = answer("callbacks", CallbacksQuery(line=L1), db, settings)
    assert on_l1["total"] == 1 and on_l1["recurring_themes"] == [{"theme": "billing", "pairs": 1}]
    surveys = answer("callbacks", CallbacksQuery(channel="survey"), db, settings)
    assert surveys["total"] == 1 and surveys["top_issue"] == "quality"
    for empty in (CallbacksQuery(line=""), CallbacksQuery(agent="")):  # as before: "" is no stored line or agent
        got = answer("callbacks", empty, db, settings)
        assert (got["total"], got["recurring_themes"], got["callbacks"]) == (0, [], [])


def test_days_are_local_across_daylight_saving_changes(db, settings):
    """New York: 1 Nov 2026 has 25 hours (00:30 EDT and 23:30 EST are both on it); 8 Mar 2026 has 23."""
    local = settings.model_copy(update={"timezone": "America/New_York"})
    tz = ZoneInfo("America/New_York")
    moments = {
        "nov1_early": datetime(2026, 11, 1, 0, 30, tzinfo=tz),
        "nov1_late": datetime(2026, 11, 1, 23, 30, tzinfo=tz),  # 04:30 UTC on 2 Nov
        "nov2": datetime(2026, 11, 2, 0, 30, tzinfo=tz),
        "mar8_late": datetime(2026, 3, 8, 23, 30, tzinfo=tz),
        "mar7_late": datetime(2026, 3, 7, 23, 30, tzinfo=tz),  # 04:30 UTC on 8 Mar
    }
    firsts = {}
    with db.session() as s:
        for name, at in moments.items():
            cid = contact(s, name)
            at = at.astimezone(timezone.utc)
            firsts[name] = add(s, cid, at, "negative", themes=[name])
            add(s, cid, at + timedelta(hours=2), "neutral")

    def on(day: date) -> dict:
        return answer("callbacks", CallbacksQuery(since=day, until=day), db, local)

    nov1 = on(date(2026, 11, 1))
    assert [c["interaction"]["interaction_id"] for c in nov1["callbacks"]] == [firsts["nov1_early"],
                                                                             firsts["nov1_late"]]
    assert nov1["total"] == 2 and {t["theme"] for t in nov1["recurring_themes"]} == {"nov1_early", "nov1_late"}
    assert [c["interaction"]["interaction_id"] for c in on(date(2026, 11, 2))["callbacks"]] == [firsts["nov2"]]
    assert [t["theme"] for t in on(date(2026, 3, 8))["recurring_themes"]] == ["mar8_late"]
    assert [t["theme"] for t in on(date(2026, 3, 7))["recurring_themes"]] == ["mar7_late"]
    with db.session() as s:  # the day is the local day of the unresolved interaction, as stored
        days = {row.interaction_id: row.day for row in s.scalars(select(InsightCallback))}
    assert days[firsts["nov1_late"]] == date(2026, 11, 1) and days[firsts["mar7_late"]] == date(2026, 3, 7)
    for day in (date(2026, 11, 1), date(2026, 3, 8)):
        query = CallbacksQuery(since=day, until=day)
        assert told(on(day)) == from_scratch(db, tz, query)


def test_the_migration_fills_the_pair_themes_and_counts_as_a_refresh_would(db, settings, database_url):
    """Pairs stored before 0008 get their themes and daily counts from the migration itself (no rebuild)."""
    from alembic import command

    from integration.store.migrate import alembic_config, upgrade

    random_histories(db, random.Random(5), utcnow())
    rollup.refresh(db, settings.tzinfo)
    with db.session() as s:
        themes = {row.interaction_id: set(filter(None, row.themes.split("|")))
                  for row in s.scalars(select(InsightCallback))}
    kept = counts(db)
    assert kept[0] and kept[1] and any(themes.values())
    db.dispose()
    command.downgrade(alembic_config(database_url), "0007")
    upgrade(database_url)
    with db.session() as s:
        assert {row.interaction_id: set(filter(None, row.themes.split("|")))
                for row in s.scalars(select(InsightCallback))} == themes
    assert counts(db) == kept
    assert rollup.refresh(db, settings.tzinfo) == 0  # nothing to catch up: no rebuild was asked for


def test_pairs_follow_a_contact_merge_without_being_stored_twice(db, settings):
    """A merge moves interactions to the survivor without touching them; when the survivor's pairs are next
    recomputed, the pair stored under the merged-away contact is replaced, not inserted a second time."""
    from integration.pipeline.contact_merge import merge_into

    start = utcnow() - timedelta(days=3)
    with db.session() as s:
        survivor, other = contact(s, "Phone Only"), contact(s, "E-mail Only")
        first = add(s, other, start, "negative", themes=["billing"])
        back = add(s, other, start + timedelta(hours=3), "neutral")
    assert answer("callbacks", CallbacksQuery(), db, settings)["total"] == 1
    with db.session() as s:
        merge_into(s, s.get(Contact, survivor), [s.get(Contact, other)])
    with db.session() as s:  # the survivor calls again (later than 48 h): its pairs are recomputed
        add(s, survivor, start + timedelta(days=2, hours=12), "neutral")
    got = answer("callbacks", CallbacksQuery(), db, settings)
    assert got["total"] == 1 and got["recurring_themes"] == [{"theme": "billing", "pairs": 1}]
    pair = got["callbacks"][0]
    assert (pair["interaction"]["interaction_id"], pair["callback"]["interaction_id"]) == (first, back)
    assert pair["contact"]["contact_id"] == survivor
    assert told(got) == from_scratch(db, settings.tzinfo, CallbacksQuery())
    incremental = counts(db)
    rollup.rebuild(db, settings.tzinfo)
    assert counts(db) == incremental
