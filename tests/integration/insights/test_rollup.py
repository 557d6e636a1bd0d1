"""The rollups follow re-scores, late changes and a TIMEZONE change exactly (incremental, not rebuilt)."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text

from integration.insights import rollup
from integration.insights.params import LinesQuery, MixQuery
from integration.insights.registry import answer
from integration.insights.tables import InsightDaily, InsightFact
from integration.store.models import Interaction, InteractionScore, utcnow
from tests.integration.insights.dataset import L2


def test_a_re_score_moves_the_interaction_between_labels(db, settings, data):
    assert answer("mix", MixQuery(days=30), db, settings)["counts"]["negative"] == 11
    with db.session() as s:
        score = s.scalar(select(InteractionScore).where(InteractionScore.interaction_id == data["I-C1"]))
        score.label, score.score, score.scored_at = "positive", 0.7, utcnow()
    mix = answer("mix", MixQuery(days=30), db, settings)
    assert mix["counts"] == {"positive": 3, "neutral": 3, "negative": 10}


def test_a_line_set_later_and_an_earlier_start_move_the_counts(db, settings, data):
    answer("lines", LinesQuery(), db, settings)
    with db.session() as s:
        row = s.get(Interaction, data["I-C5"])
        row.line, row.updated_at = L2, utcnow()
        moved = s.get(Interaction, data["I-C4"])
        moved.occurred_at, moved.updated_at = utcnow() - timedelta(days=40), utcnow()
    lines = {r["line"]: r["interactions"] for r in answer("lines", LinesQuery(), db, settings)["lines"]}
    assert lines[L2] == 2 and None not in lines  # C5 joined L2; C4 left the 30 days
    assert answer("mix", MixQuery(days=60), db, settings)["total"] == 16


def test_refresh_reads_nothing_when_nothing_changed_and_the_sums_match_the_facts(db, settings, data):
    utc = ZoneInfo("UTC")
    assert rollup.refresh(db, utc) > 0
    with db.session() as s:
        for row in s.scalars(select(Interaction)):
            row.updated_at = utcnow() - timedelta(hours=1)
        for score in s.scalars(select(InteractionScore)):
            score.scored_at = utcnow() - timedelta(hours=1)
    rollup.rebuild(db, utc)
    assert rollup.refresh(db, utc) == 0
    with db.session() as s:
        assert s.scalar(select(func.sum(InsightDaily.n))) == s.scalar(select(func.count(InsightFact.interaction_id)))


def test_a_timezone_change_rebuilds_the_days(db, settings, data):
    rollup.refresh(db, ZoneInfo("UTC"))
    rollup.refresh(db, ZoneInfo("Pacific/Kiritimati"))  # UTC+14: most local days move
    with db.session() as s:
        facts = {f.interaction_id: f.day for f in s.scalars(select(InsightFact))}
        at = s.get(Interaction, data["I-C1"]).occurred_at
    assert facts[data["I-C1"]] == at.astimezone(ZoneInfo("Pacific/Kiritimati")).date()


def test_callback_pairs_follow_a_later_positive_interaction(db, settings, data):
    from integration.insights.params import CallbacksQuery
    from tests.integration.insights.dataset import L1

    assert answer("callbacks", CallbacksQuery(line=L1), db, settings)["total"] == 1
    with db.session() as s:
        row = Interaction(source="quo", thread_key="C6-happy", contact_id=data["C6"], channel="call",
                          direction="inbound", occurred_at=utcnow() - timedelta(days=1), line=L1, source_ids={})
        s.add(row)
        s.flush()
        s.add(InteractionScore(interaction_id=row.id, scorer="lexicon", basis="customer_turns", label="positive",
                               score=0.8, intensity="moderate", confidence=1.0, content_hash="h"))
    assert answer("callbacks", CallbacksQuery(line=L1), db, settings)["total"] == 0  # C6 is resolved now


def test_a_refresh_can_lift_the_statement_timeout_for_a_long_catch_up(db, settings, data, monkeypatch):
    """On PostgreSQL every statement is bounded (DB_STATEMENT_TIMEOUT_S); `undertone insights refresh` lifts the
    bound for its own transaction only."""
    import pytest

    from integration import defaults

    if db.is_sqlite:
        pytest.skip("SQLite has no statement timeout")
    seen, changed_since = [], rollup._changed_since

    def spy(session, since):
        seen.append(session.scalar(text("SHOW statement_timeout")))
        return changed_since(session, since)

    monkeypatch.setattr(rollup, "_changed_since", spy)
    assert rollup.refresh(db, ZoneInfo("UTC"), statement_timeout_s=0) == 16
    assert rollup.rebuild(db, ZoneInfo("UTC"), statement_timeout_s=600) == 16
    rollup.refresh(db, ZoneInfo("UTC"))
    with db.session() as s:
        after = s.scalar(text("SHOW statement_timeout"))
    bound = f"{defaults.DB_STATEMENT_TIMEOUT_S}s"  # as PostgreSQL shows it (4s)
    assert seen == ["0", "10min", bound] and after == bound
