"""`undertone demo`: signed sample Quo webhooks sent to a running service, then what it made of them.

Every run uses fresh ids and the current time, so it can be repeated. The samples follow Quo's
documented payloads (see connectors/quo/inbound.py); the secrets are the service's own (QUO_WEBHOOK_SECRET,
or the development secrets `make run` generated under var/).
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
from sqlalchemy import select

from integration.cli.devserver import dev_secrets
from integration.settings import Settings
from integration.store.db import Database
from integration.store.models import Contact, FollowUpTask, Interaction

BUSINESS_LINE = "+16175550100"
AGENT = "USdemoAgent1"


def run_demo(settings: Settings, base_url: str, wait_s: float) -> int:
    """Send the samples, wait for them to be scored, print a table. Returns an exit status."""
    secrets = settings.source_secrets("quo") or tuple(dev_secrets(settings.var_dir)["QUO_WEBHOOK_SECRET"].split(","))
    classic = next((s for s in secrets if not s.startswith("whsec_")), None)
    standard = next((s for s in secrets if s.startswith("whsec_")), None)
    if classic is None:
        print("QUO_WEBHOOK_SECRET holds no classic signing key; the demo needs one")
        return 2
    thread_keys = []
    for payload, scheme in samples():
        body = json.dumps(payload).encode()
        headers = _standard_headers(body, standard) if scheme == "standard" and standard else _classic_headers(body, classic)
        answer = requests.post(f"{base_url.rstrip('/')}/webhooks/quo", data=body, headers=headers, timeout=10)
        print(f"POST /webhooks/quo {payload['type']:<28} -> {answer.status_code} {answer.text.strip()}")
        if payload["type"] != "call.ringing":
            thread_keys.append(_thread_key(payload))
    return _show_results(Database(settings.effective_database_url), sorted(set(thread_keys)), wait_s)


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
            "callId": call_id, "object": "callTranscript", "createdAt": _iso(now), "status": "completed",
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
    return {"id": f"EV{uuid.uuid4().hex}", "object": "event", "apiVersion": "v4", "createdAt": _iso(now),
            "type": kind, "data": {"object": obj}}


def _call(call_id: str, customer: str, now: datetime, status: str = "completed") -> dict:
    return {"id": call_id, "object": "call", "direction": "incoming", "status": status, "createdAt": _iso(now),
            "answeredAt": _iso(now), "completedAt": _iso(now), "duration": 312, "participants": [customer],
            "phoneNumberId": "PNdemoLine01", "userId": AGENT}


def _message(customer: str, text: str, now: datetime) -> dict:
    return {"id": f"AC{uuid.uuid4().hex}", "object": "message", "from": customer, "to": [BUSINESS_LINE],
            "direction": "incoming", "text": text, "status": "received", "createdAt": _iso(now),
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


def _show_results(db: Database, thread_keys: list[str], wait_s: float) -> int:
    """Poll until every interaction is scored and its contact synced to the CRM, then print them."""
    deadline = time.monotonic() + wait_s
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


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
