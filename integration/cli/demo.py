"""`undertone demo`: signed sample Quo webhooks sent to a running service, then what it made of them.

First sixty days of history (`demo_history`: fixed ids, sent once; a second run's copies are duplicates), so the
insights have something to answer, then three live conversations. The live ones use fresh ids and the current
time on every run, so it can be repeated. The samples follow Quo's documented payloads (see
connectors/quo/inbound.py); the secrets are the service's own (QUO_WEBHOOK_SECRET, or the development secrets
`make run` generated under var/).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import datetime, timezone

import requests
from sqlalchemy import func, select

from integration.cli import demo_history
from integration.cli.demo_history import iso
from integration.cli.devserver import dev_secrets
from integration.settings import Settings
from integration.store.db import Database
from integration.store.models import Contact, FollowUpTask, Interaction, InteractionScore

BUSINESS_LINE = "+16175550100"
AGENT = "USdemoAgent1"


def run_demo(settings: Settings, base_url: str, wait_s: float, history: bool = True) -> int:
    """Send the history (unless `history` is False) and the samples, wait for them to be scored, print a table.
    Returns an exit status."""
    secrets = settings.source_secrets("quo") or tuple(dev_secrets(settings.var_dir)["QUO_WEBHOOK_SECRET"].split(","))
    classic = next((s for s in secrets if not s.startswith("whsec_")), None)
    standard = next((s for s in secrets if s.startswith("whsec_")), None)
    if classic is None:
        print("QUO_WEBHOOK_SECRET holds no classic signing key; the demo needs one")
        return 2
    url = f"{base_url.rstrip('/')}/webhooks/quo"
    db = Database(settings.effective_database_url)
    deadline = time.monotonic() + wait_s
    if history:
        answers = [_post(url, payload, _classic_headers, classic) for payload in
                   demo_history.events(datetime.now(timezone.utc))]
        accepted = sum(a.json().get("accepted", 0) for a in answers if a.status_code == 200)
        failed = [a for a in answers if a.status_code != 200]
        print(f"history: {len(answers)} Quo events from the last 60 days sent, {accepted} new"
              + (f", {len(failed)} refused (first: {failed[0].status_code} {failed[0].text.strip()})" if failed else ""))
        if failed:
            return 1
    thread_keys = []
    for payload, scheme in samples():
        sign, secret = (_standard_headers, standard) if scheme == "standard" and standard else (_classic_headers,
                                                                                              classic)
        answer = _post(url, payload, sign, secret)
        print(f"POST /webhooks/quo {payload['type']:<28} -> {answer.status_code} {answer.text.strip()}")
        if payload["type"] != "call.ringing":
            thread_keys.append(_thread_key(payload))
    if history:
        _wait_scored(db, demo_history.scored_thread_keys(), deadline)
    return _show_results(db, sorted(set(thread_keys)), deadline)


def _post(url: str, payload: dict, sign, secret: str) -> requests.Response:
    body = json.dumps(payload).encode()
    return requests.post(url, data=body, headers=sign(body, secret), timeout=10)


def _wait_scored(db: Database, thread_keys: list[str], deadline: float) -> None:
    """Poll until the history's conversations are scored (or the deadline); say how many are."""
    scored = _scored(db, thread_keys)
    while scored < len(thread_keys) and time.monotonic() < deadline:
        time.sleep(0.5)
        scored = _scored(db, thread_keys)
    print(f"history: {scored} of {len(thread_keys)} past conversations scored")


def _scored(db: Database, thread_keys: list[str]) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(Interaction).join(InteractionScore).where(
            Interaction.source == "quo", Interaction.thread_key.in_(thread_keys)))


def samples() -> list[tuple[dict, str]]:
    """(payload, signing scheme) for a frustrated caller, a happy texter, a customer about to cancel."""
    call_id = f"AC{uuid.uuid4().hex}"
    now = datetime.now(timezone.utc)
    frustrated, happy, leaving = "+13125550147", "+14155550123", "+12065550188"
    dialogue = [
        (AGENT, "Thanks for calling Brightline Home Services, this is Dana. How can I help?"),
        (None, "This is the third time I'm calling. I've been waiting three weeks and nobody has gotten back to me."),
        (AGENT, "I'm so sorry about that. Let me look at your account right now."),
        (None, "I was promised a refund for the water heater install and I still haven't seen a cent. This is ridiculous."),
        (AGENT, "I understand. I'm escalating the refund to my manager today."),
        (None, "Honestly if I don't hear back by Friday I'm disputing the charge with my bank."),
    ]
    return [
        (_event("call.completed", now, _call(call_id, frustrated, now)), "classic"),
        (_event("call.transcript.completed", now, {
            "callId": call_id, "object": "callTranscript", "createdAt": iso(now), "status": "completed",
            "dialogue": [{"content": text, "identifier": BUSINESS_LINE if user else frustrated, "userId": user,
                          "start": i * 5.0, "end": i * 5.0 + 4} for i, (user, text) in enumerate(dialogue)],
        }), "classic"),
        (_event("call.summary.completed", now, {
            "callId": call_id, "object": "callSummary", "status": "completed",
            "summary": ["Customer is waiting on a refund for a water heater install and has called three times."],
            "nextSteps": ["Manager to call the customer back about the refund by Friday."],
        }), "classic"),
        (_event("message.received", now,
                _message(happy, "Thank you so much! The technician was on time and super friendly.", now)), "classic"),
        (_event("message.received", now, _message(
            leaving, "I want to cancel my service plan. Nobody has called me back about the leak.", now)), "standard"),
        (_event("call.ringing", now, _call(f"AC{uuid.uuid4().hex}", happy, now, status="ringing")), "classic"),
    ]


def _event(kind: str, now: datetime, obj: dict) -> dict:
    return {"id": f"EV{uuid.uuid4().hex}", "object": "event", "apiVersion": "v4", "createdAt": iso(now),
            "type": kind, "data": {"object": obj}}


def _call(call_id: str, customer: str, now: datetime, status: str = "completed") -> dict:
    return {"id": call_id, "object": "call", "direction": "incoming", "status": status, "createdAt": iso(now),
            "answeredAt": iso(now), "completedAt": iso(now), "duration": 312, "participants": [customer],
            "phoneNumberId": "PNdemoLine01", "userId": AGENT}


def _message(customer: str, text: str, now: datetime) -> dict:
    return {"id": f"AC{uuid.uuid4().hex}", "object": "message", "from": customer, "to": [BUSINESS_LINE],
            "direction": "incoming", "text": text, "status": "received", "createdAt": iso(now),
            "phoneNumberId": "PNdemoLine01", "userId": None}


def _thread_key(payload: dict) -> str:
    obj = payload["data"]["object"]
    return f"call:{obj.get('callId') or obj['id']}" if payload["type"].startswith("call.") else f"message:{obj['id']}"


def _classic_headers(body: bytes, secret_b64: str) -> dict:
    stamp = str(int(time.time() * 1000))
    digest = hmac.new(base64.b64decode(secret_b64), stamp.encode() + b"." + body, hashlib.sha256).digest()
    return {"content-type": "application/json", "openphone-signature": f"hmac;1;{stamp};{base64.b64encode(digest).decode()}"}


def _standard_headers(body: bytes, whsec: str) -> dict:
    msg_id, stamp = f"msg_{uuid.uuid4().hex}", str(int(time.time()))
    key = base64.b64decode(whsec.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return {"content-type": "application/json", "webhook-id": msg_id, "webhook-timestamp": stamp,
            "webhook-signature": f"v1,{base64.b64encode(digest).decode()}"}


def _show_results(db: Database, thread_keys: list[str], deadline: float) -> int:
    """Poll until every interaction is scored and its contact synced to the CRM (or the deadline), then print them."""
    rows = _results(db, thread_keys)
    while not (len(rows) == len(thread_keys) and all(r["done"] for r in rows)) and time.monotonic() < deadline:
        time.sleep(0.5)
        rows = _results(db, thread_keys)
    print(f"\n{'customer':<16}{'channel':<9}{'sentiment':<15}{'score':>7}  {'escalation':<34}open follow-up task")
    for r in rows:
        score = "pending" if r["score"] is None else f"{r['score']:.2f}"
        print(f"{r['who']:<16}{r['channel']:<9}{r['intensity']:<15}{score:>7}  {_cut(r['escalation'], 32):<34}"
              f"{_cut(r['task'], 60)}")
    done = sum(r["done"] for r in rows)
    if done < len(thread_keys):
        print(f"\n{done} of {len(thread_keys)} interactions scored and synced. Is the worker running (`make run`)?")
        return 1
    print(f"\nAll {done} interactions scored and synced (to the built-in CRM sink unless HUBSPOT_ACCESS_TOKEN is set).")
    return 0


def _results(db: Database, thread_keys: list[str]) -> list[dict]:
    """One display row per interaction; `done` once it is scored and its contact's sync has run."""
    with db.session() as session:
        stmt = select(Interaction).where(Interaction.source == "quo", Interaction.thread_key.in_(thread_keys))
        return [_row(session, interaction) for interaction in session.scalars(stmt)]


def _row(session, interaction: Interaction) -> dict:
    score = interaction.score
    contact = session.get(Contact, interaction.contact_id) if interaction.contact_id else None
    phones = [i.value for i in contact.identities if i.kind == "phone"] if contact else []
    task = contact and session.scalar(select(FollowUpTask.subject).where(  # one open task per contact and reason
        FollowUpTask.contact_id == contact.id, FollowUpTask.status == "open").order_by(FollowUpTask.id.desc()))
    synced = contact is not None and contact.synced_at is not None and contact.synced_at >= contact.needs_sync_at
    return {
        "who": phones[0] if phones else "?",
        "channel": interaction.channel,
        "score": score.score if score else None,
        "intensity": score.intensity if score else "-",
        "escalation": (score.escalation_reason if score else None) or "-",
        "task": task or "-",
        "done": score is not None and synced,
    }


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
