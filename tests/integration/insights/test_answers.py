"""Every insight on the constructed data set (answers known by construction), on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from integration.insights import params
from integration.insights.registry import answer
from tests.integration.insights.dataset import L1, L2, L3, U1, U2, U3, Z9


def ask(name, db, settings, **kwargs):
    from integration.insights.registry import INSIGHTS

    return answer(name, INSIGHTS[name].model(**kwargs), db, settings)


def test_customers_worst_first_with_ties_broken_by_contact(db, settings, data):
    got = ask("customers", db, settings)
    assert got["more"] is False
    assert [c["contact_id"] for c in got["customers"]] == [data["C1"], data["C2"], data["C3"]]
    ann = got["customers"][0]
    assert (ann["name"], ann["phone"], ann["email"]) == ("Ann Angry", "+13125550001", "ann@example.com")
    assert ann["crm_url"] is None  # the built-in sink has no record pages
    assert ann["evidence"]["quote"].startswith("I was charged twice")
    assert [f["rule"] for f in ann["evidence"]["flags"]] == ["refund"]
    assert got["window"]["days"] == 7


def test_customers_link_to_the_hubspot_record_when_a_portal_is_set(db, settings, data):
    hubspot = settings.model_copy(update={"hubspot_access_token": "x", "hubspot_portal_id": "4242"})
    ann = ask("customers", db, hubspot)["customers"][0]
    assert ann["crm_url"] == "https://app.hubspot.com/contacts/4242/record/0-1/101"


def test_unanswered_keeps_a_customer_touched_only_before_the_complaint(db, settings, data):
    got = ask("unanswered", db, settings)
    assert [c["contact_id"] for c in got["customers"]] == [data["C1"], data["C3"]]  # C2 was called back
    assert got["customers"][0]["last_touch_at"] is None
    assert got["customers"][1]["last_touch_at"] is not None  # C3: a text before, nothing after
    assert 95 < got["customers"][1]["waiting_hours"] < 97


def test_lines_rank_ties_together_and_count_interactions_without_a_line(db, settings, data):
    got = ask("lines", db, settings)["lines"]
    assert [(r["line"], r["rank"], r["negative"], r["interactions"]) for r in got] == [
        (L3, 1, 5, 5), (L1, 1, 5, 8), (L2, 3, 1, 2), (None, 4, 0, 1)]
    assert got[1]["line_name"] == "Main line"


def test_mix_counts_percentages_and_complaints_to_compliments(db, settings, data):
    got = ask("mix", db, settings)
    assert got["total"] == 16
    assert got["counts"] == {"positive": 2, "neutral": 3, "negative": 11}
    assert got["percent"] == {"positive": 12.5, "neutral": 18.8, "negative": 68.8}
    assert (got["complaints"], got["compliments"], got["complaint_to_compliment"]) == (11, 2, 5.5)
    calls = ask("mix", db, settings, channel="call")
    assert calls["total"] == 9 and calls["complaint_to_compliment"] == 2.5


def test_mix_of_one_interaction_and_of_an_empty_window(db, settings, data):
    one = ask("mix", db, settings, agent=U3)
    assert (one["total"], one["percent"]["positive"], one["complaint_to_compliment"]) == (1, 100.0, 0.0)
    empty = ask("mix", db, settings, since="2020-01-01", until="2020-01-31")
    assert empty["total"] == 0 and empty["complaint_to_compliment"] is None
    assert empty["percent"]["negative"] is None


def test_themes_by_sentiment_with_examples_and_shared_ranks(db, settings, data):
    negative = ask("themes", db, settings, sentiment="negative", limit=3)
    assert [(t["theme"], t["interactions"]) for t in negative["themes"]] == [
        ("wait time", 6), ("billing", 4), ("scheduling", 2)]
    assert negative["interactions_considered"] == 11
    assert len(negative["themes"][0]["examples"]) == 2
    praise = ask("themes", db, settings, sentiment="positive")
    assert [(t["theme"], t["interactions"]) for t in praise["themes"]] == [("staff", 2)]
    topics = ask("themes", db, settings, limit=5)["themes"]
    assert [(t["theme"], t["interactions"], t["rank"]) for t in topics] == [
        ("wait time", 6, 1), ("billing", 5, 2), ("scheduling", 2, 3), ("staff", 2, 3)]


def test_callbacks_on_a_line(db, settings, data):
    got = ask("callbacks", db, settings, line=L1)
    assert got["total"] == 1  # C7 was resolved by a positive call; C8 came back after 50 hours
    pair = got["callbacks"][0]
    assert pair["interaction"]["interaction_id"] == data["I-C6"]
    assert pair["callback"]["interaction_id"] == data["I-C6b"] and pair["callback"]["hours_after"] == 10.0
    assert got["top_issue"] == "billing"
    assert ask("callbacks", db, settings, line=L2)["total"] == 0


def test_a_line_may_be_given_by_its_name_as_well_as_its_key(db, settings, data):
    by_name = ask("callbacks", db, settings, line="Main line")
    assert by_name["total"] == 1 and by_name["line"] == L1
    assert ask("mix", db, settings, line="Main line")["total"] == ask("mix", db, settings, line=L1)["total"] == 8
    assert ask("mix", db, settings, line="Nowhere line")["total"] == 0


def test_agents_side_by_side_including_no_agent(db, settings, data):
    got = {a["agent"]: a for a in ask("agents", db, settings)["agents"]}
    assert list(got) == [U1, U2, U3, Z9, None]
    assert (got[U2]["interactions"], got[U2]["negative"], got[U2]["positive"]) == (5, 3, 1)
    assert got[U2]["top_complaint_theme"] == "billing"
    assert got[U1]["escalations"] == 1 and got[U1]["agent_name"] == "Uma"
    assert got[None]["interactions"] == 2


def test_spikes_count_different_customers(db, settings, data):
    got = ask("spikes", db, settings)
    assert [(s["theme"], s["customers"]) for s in got["spikes"]] == [("wait time", 6)]
    assert [(s["theme"], s["customers"]) for s in got["below_threshold"]] == [("billing", 2), ("scheduling", 1)]
    assert ask("spikes", db, settings, min_customers=2)["spikes"][1]["theme"] == "billing"


def test_change_since_a_date_against_the_same_length_before(db, settings, data):
    waits = ask("change", db, settings, theme="wait time", days=14)
    assert (waits["before"]["complaints"], waits["after"]["complaints"], waits["verdict"]) == (0, 6, "increased")
    billing = ask("change", db, settings, theme="billing", days=14)
    assert (billing["before"]["complaints"], billing["after"]["complaints"], billing["verdict"]) == (
        2, 2, "unchanged")


def test_a_theme_re_scored_away_leaves_the_answers(db, settings, data):
    from integration.store.models import InteractionScore, utcnow

    assert ask("themes", db, settings, sentiment="positive")["themes"][0]["interactions"] == 2
    with db.session() as session:
        score = session.query(InteractionScore).filter_by(interaction_id=data["I-C4"]).one()
        score.themes, score.scored_at = [], utcnow()
    assert ask("themes", db, settings, sentiment="positive")["themes"][0]["interactions"] == 1


def test_bad_window_parameters_are_refused_naming_the_parameter():
    with pytest.raises(ValueError, match="days"):
        params.MixQuery(days=7, since="2026-01-01")
    with pytest.raises(ValueError, match="until"):
        params.MixQuery(since="2026-02-01", until="2026-01-01")


def test_customers_page_says_when_there_are_more(db, settings, data):
    got = ask("customers", db, settings, limit=2)
    assert [c["contact_id"] for c in got["customers"]] == [data["C1"], data["C2"]] and got["more"] is True
    got = ask("unanswered", db, settings, limit=1)
    assert [c["contact_id"] for c in got["customers"]] == [data["C1"]] and got["more"] is True
