"""A constructed data set whose answers are known by construction (see the comments per contact).

Times are relative to NOW (real time, as the API, CLI and MCP read it). L1/L2 are Quo lines, L3 a Zendesk
inbox; U1, U2, U3 Quo users and Z9 a Zendesk agent; C5 has no line and no agent.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import integration.insights.tables  # noqa: F401  (their tables are cleared between tests)
from integration.store.api_tokens import ApiToken  # noqa: F401
from integration.store.db import Database
from integration.store.models import Contact, ContactIdentity, Interaction, InteractionScore, Touch, utcnow

L1, L2, L3 = "+13125550100", "+13125550200", "zendesk:brand:7"
U1, U2, U3, Z9 = "quo:U1", "quo:U2", "quo:U3", "zendesk:9"


def theme(name: str, evidence: str) -> dict:
    return {"theme": name, "how": "keyword", "evidence": evidence}


def build(db: Database, now: datetime | None = None) -> dict[str, int]:
    """Store the data set; returns name -> id for contacts (C1..) and interactions (I-C1, ...)."""
    now = now or utcnow()
    ago = lambda **kw: now - timedelta(**kw)  # noqa: E731
    ids: dict[str, int] = {}
    with db.session() as s:
        def contact(key, name, phone=None, email=None, crm_id=None):
            row = Contact(name=name, crm_id=crm_id)
            s.add(row)
            s.flush()
            for kind, value in (("phone", phone), ("email", email)):
                if value:
                    s.add(ContactIdentity(contact_id=row.id, kind=kind, value=value))
            ids[key] = row.id
            return row.id

        def interaction(key, contact_key, at, label, score, *, line=None, agent=None, source="quo",
                        channel="call", direction="inbound", themes=(), flags=(), text="", escalation=None):
            row = Interaction(source=source, thread_key=key, contact_id=ids[contact_key], channel=channel,
                              direction=direction, occurred_at=at, line=line, agent=agent,
                              line_name={L1: "Main line", L2: "Service line", L3: "Support"}.get(line),
                              agent_name={U1: "Uma", U2: "Vic", U3: "Wes", Z9: "Zed"}.get(agent),
                              turns=[{"speaker": "agent", "text": "How can I help?", "at": None},
                                     {"speaker": "customer", "text": text, "at": None}], source_ids={})
            s.add(row)
            s.flush()
            s.add(InteractionScore(interaction_id=row.id, scorer="lexicon", basis="customer_turns", label=label,
                                   score=score, intensity="moderate", confidence=0.9, signals=[],
                                   turn_scores=[{"turn": 1, "label": label, "score": score}],
                                   flags=list(flags), themes=list(themes), trajectory="single",
                                   escalation_reason=escalation, content_hash=key))
            ids[f"I-{key}"] = row.id

        refund = {"rule": "refund", "reason": "asked for a refund", "evidence": "I want my money back"}
        # C1: negative 2 days ago on L1 (U1), worst of all, a refund flag; never touched -> unanswered.
        contact("C1", "Ann Angry", "+13125550001", "ann@example.com", crm_id="101")
        interaction("C1", "C1", ago(days=2), "negative", -0.8, line=L1, agent=U1, flags=[refund],
                    escalation="asked for a refund", themes=[theme("billing", "charged twice")],
                    text="I was charged twice and I want my money back, this is ridiculous")
        # C2: negative 3 days ago by text on L1 (U2), called back by us yesterday -> answered.
        contact("C2", "Bob Bitter", "+13125550002")
        interaction("C2", "C2", ago(days=3), "negative", -0.5, line=L1, agent=U2, channel="sms",
                    themes=[theme("billing", "the bill is wrong"), theme("wait time", "waited an hour")],
                    text="The bill is wrong and I waited an hour on hold")
        s.add(Touch(contact_id=ids["C2"], source="quo", kind="outbound_call", occurred_at=ago(days=1),
                    external_id="T-C2", line=L1, agent=U2))
        # C3: touched 5 days ago, negative 4 days ago on L2 (same score as C2: a tie) -> unanswered.
        contact("C3", "Cid Calm", email="cid@example.com")
        s.add(Touch(contact_id=ids["C3"], source="quo", kind="outbound_text", occurred_at=ago(days=5),
                    external_id="T-C3", line=L2))
        interaction("C3", "C3", ago(days=4), "negative", -0.5, line=L2,
                    themes=[theme("scheduling", "moved my appointment")], text="You moved my appointment again")
        # C4: the only interaction of agent U3: positive, yesterday, L2.
        contact("C4", "Dee Delighted", "+13125550004")
        interaction("C4", "C4", ago(days=1), "positive", 0.9, line=L2, agent=U3,
                    themes=[theme("staff", "the technician was lovely")], text="The technician was lovely")
        # C5: neutral, no line and no agent.
        contact("C5", "Eve Even")
        interaction("C5", "C5", ago(days=2), "neutral", 0.0, source="generic", channel="survey",
                    text="It was fine")
        # C6: unresolved on L1 20 days ago, called back (neutral, inbound) 10 hours later: a callback pair.
        contact("C6", "Fay First", "+13125550006")
        interaction("C6", "C6", ago(days=20), "negative", -0.6, line=L1, agent=U1,
                    themes=[theme("billing", "late fee")], text="Why is there a late fee")
        interaction("C6b", "C6", ago(days=20) + timedelta(hours=10), "neutral", -0.05, line=L1, agent=U1,
                    themes=[theme("billing", "the fee again")], text="Calling about the fee again")
        # C7: negative on L1 25 days ago, back 30 hours later and happy: resolved, not a callback pair.
        contact("C7", "Gus Glad")
        interaction("C7", "C7", ago(days=25), "negative", -0.4, line=L1, agent=U2,
                    themes=[theme("scheduling", "nobody came")], text="Nobody came")
        interaction("C7b", "C7", ago(days=25) + timedelta(hours=30), "positive", 0.6, line=L1, agent=U2,
                    themes=[theme("staff", "great job")], text="Great job today")
        # C8: negative on L1 15 days ago, back after 50 hours: outside the callback window.
        contact("C8", "Hal Late")
        interaction("C8", "C8", ago(days=15), "negative", -0.3, line=L1, agent=U2,
                    themes=[theme("billing", "overcharged")], text="I was overcharged")
        interaction("C8b", "C8", ago(days=15) + timedelta(hours=50), "neutral", 0.0, line=L1, agent=U2,
                    text="Just checking in")
        # S1..S5: negative about wait time on the Zendesk inbox L3, 8 to 12 days ago (with C2: a spike of 6).
        for n in range(1, 6):
            contact(f"S{n}", f"Spike {n}")
            interaction(f"S{n}", f"S{n}", ago(days=7 + n), "negative", -0.3 - n / 100, line=L3, agent=Z9,
                        source="zendesk", channel="ticket", direction=None,
                        themes=[theme("wait time", f"waited {n} days for a reply")],
                        text=f"I have waited {n} days for a reply")
    return ids
