"""Open escalations (flagged, not followed up) and answer_many, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

from integration.insights import escalations, params
from integration.insights.registry import answer, answer_many
from integration.store.models import Contact, Interaction, InteractionScore, Touch, utcnow

FLAG = {"rule": "cancel", "reason": "threatened to cancel", "evidence": "I will cancel"}


def store(db, rows):
    """rows: (key, contact key or None, days ago, label, flagged); touches: ("touch", contact key, days ago)."""
    now, ids = utcnow(), {}
    with db.session() as s:
        def person(key):
            if key is not None and key not in ids:
                row = Contact(name=f"Person {key}")
                s.add(row)
                s.flush()
                ids[key] = row.id

        for row in rows:
            person(row[1])
            if row[0] == "touch":
                s.add(Touch(contact_id=ids[row[1]], source="quo", kind="outbound_call",
                            occurred_at=now - timedelta(days=row[2]), external_id=f"t-{row[1]}-{row[2]}"))
                continue
            key, contact, ago, label, flagged = row
            it = Interaction(source="quo", thread_key=key, contact_id=ids.get(contact), channel="call",
                             direction="inbound", occurred_at=now - timedelta(days=ago), source_ids={},
                             turns=[{"speaker": "customer", "text": f"words of {key}", "at": None}])
            s.add(it)
            s.flush()
            s.add(InteractionScore(interaction_id=it.id, scorer="lexicon", basis="customer_turns", label=label,
                                   score={"negative": -0.7, "neutral": 0.0, "positive": 0.7}[label],
                                   intensity="moderate", confidence=0.9, signals=[], turn_scores=[],
                                   flags=[FLAG] if flagged else [], themes=[], trajectory="single",
                                   escalation_reason=FLAG["reason"] if flagged else None, content_hash=key))
            ids[key] = it.id
    return ids


def listed(got):
    return [e["interaction_id"] for e in got["escalations"]]


def test_open_means_no_touch_and_no_positive_interaction_since(db, settings):
    ids = store(db, [
        ("open", "A", 1, "negative", True),  # never followed up
        ("touched", "B", 3, "negative", True), ("touch", "B", 2),  # called back after: closed
        ("praised", "C", 4, "neutral", True), ("later happy", "C", 2, "positive", False),  # happy later: closed
        ("touch", "D", 6), ("touched before", "D", 5, "negative", True),  # touched only before: open
        ("nobody", None, 2, "negative", True),  # no contact: cannot be followed up, open
        ("unflagged", "E", 1, "negative", False),  # not an escalation
        ("old", "F", 20, "negative", True),  # outside the 14 days
    ])
    got = answer("escalations", params.EscalationsQuery(), db, settings)
    assert listed(got) == [ids["open"], ids["nobody"], ids["touched before"]]  # newest first
    first = got["escalations"][0]
    assert first["reason"] == "threatened to cancel" and first["contact"]["name"] == "Person A"
    assert first["evidence"]["flags"][0]["rule"] == "cancel" and 23 < first["waiting_hours"] < 25
    assert got["escalations"][1]["contact"] is None
    assert got["more"] is False and got["window"]["days"] == 14
    assert listed(answer("escalations", params.EscalationsQuery(days=30), db, settings))[-1] == ids["old"]


def test_the_walk_crosses_chunks_and_stops_when_the_page_is_full(db, settings, monkeypatch):
    monkeypatch.setattr(escalations, "WALK_CHUNK", 2)
    rows = []
    for n in range(7):
        rows.append((f"e{n}", f"P{n}", 1 + n, "negative", True))
        if n % 2 == 0:
            rows.append(("touch", f"P{n}", 0.5 + n))  # every other one followed up
    ids = store(db, rows)
    everything = answer("escalations", params.EscalationsQuery(), db, settings)
    assert listed(everything) == [ids["e1"], ids["e3"], ids["e5"]]
    two = answer("escalations", params.EscalationsQuery(limit=2), db, settings)
    assert listed(two) == [ids["e1"], ids["e3"]] and two["more"] is True


def test_answer_many_agrees_with_answer(db, settings):
    store(db, [("a", "A", 1, "negative", True), ("b", "B", 2, "positive", False)])
    asks = {"mix": ("mix", params.MixQuery(days=7)), "open": ("escalations", params.EscalationsQuery())}
    many = answer_many(asks, db, settings)
    assert many["mix"]["counts"] == answer("mix", params.MixQuery(days=7), db, settings)["counts"]
    assert many["mix"]["counts"] == {"positive": 1, "neutral": 0, "negative": 1}
    assert listed(many["open"]) == listed(answer("escalations", params.EscalationsQuery(), db, settings))


def test_the_cli_table_lists_them(db, settings):
    from integration.insights.render import render

    ids = store(db, [("open", "A", 1, "negative", True)])
    table = render("escalations", answer("escalations", params.EscalationsQuery(), db, settings))
    assert "threatened to cancel" in table and "Person A" in table and str(ids["open"]) in table
