"""Write a contact's sentiment into the CRM: properties, and a follow-up task when the rules say so.

Every step is idempotent. Property writes are keyed by a hash of the values (the same values are
never sent twice); tasks are recorded before the CRM call, and a partial unique index allows one
open task per (contact, reason), so a job that runs twice never opens a second task.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from connectors.crm import CRMWriter, TaskSpec
from integration import defaults
from integration.contact_merge import merge_into
from integration.contacts import contact_keys
from integration.db import Database, add_unless_exists
from integration.models import Contact, CrmWrite, FollowUpTask, Interaction, InteractionScore, utcnow

log = logging.getLogger(__name__)


@dataclass
class SyncOutcome:
    status: str  # synced | unmatched | nothing | missing
    properties_written: bool = False
    tasks_opened: list[str] = field(default_factory=list)


def sync_contact(db: Database, writer: CRMWriter, contact_id: int, now: datetime | None = None) -> SyncOutcome:
    """Bring the CRM in line with what we know of this contact now."""
    now = now or utcnow()
    with db.session() as session:
        contact = session.get(Contact, contact_id)
        if contact is None:
            return SyncOutcome("missing")
        keys, crm_id = contact_keys(contact), _known_crm_id(contact, writer.name)
        has_scores = _latest_and_negatives(session, contact_id, now)[0] is not None
    if not has_scores:
        return SyncOutcome("nothing")
    crm_id = crm_id or writer.find_contact(keys)
    if crm_id is None:
        _log_once(db, contact_id, writer.name, "find_contact", f"unmatched:{_digest(keys.__dict__)}", {"keys": keys.__dict__}, "unmatched")
        return SyncOutcome("unmatched")
    _remember_crm_id(db, contact_id, writer.name, crm_id)  # may fold in local duplicates of this person
    with db.session() as session:  # read after any merge, so every interaction of the person counts
        covered = session.get(Contact, contact_id).needs_sync_at
        latest, negatives = _latest_and_negatives(session, contact_id, now)
    outcome = SyncOutcome("synced")
    properties = contact_properties(latest, negatives)
    outcome.properties_written = _write_properties(db, writer, contact_id, crm_id, properties)
    task = follow_up(latest, keys.name or (keys.phones or keys.emails or ("customer",))[0], now)
    if task is not None:
        opened = _open_task_once(db, writer, contact_id, crm_id, latest.id, *task)
        if opened:
            outcome.tasks_opened.append(opened)
    _mark_synced(db, contact_id, covered)
    return outcome


def contact_properties(latest: Interaction, negative_count: int) -> dict[str, str]:
    """The HubSpot property contract (names fixed; see the README)."""
    score: InteractionScore = latest.score
    return {
        "undertone_sentiment": score.intensity,
        "undertone_sentiment_score": f"{score.score:.3f}",
        "undertone_last_interaction_at": _iso(latest.occurred_at or latest.created_at),
        "undertone_escalation": "true" if score.escalation_reason else "false",
        "undertone_escalation_reason": score.escalation_reason or "",
        "undertone_negative_count_30d": str(negative_count),
    }


def follow_up(latest: Interaction, who: str, now: datetime) -> tuple[str, TaskSpec] | None:
    """(reason, task) when the latest interaction is negative enough and recent enough, else None."""
    score = latest.score
    occurred = latest.occurred_at or latest.created_at
    if score.score > defaults.NEGATIVE_TASK_THRESHOLD or occurred < now - timedelta(days=defaults.TASK_MAX_AGE_DAYS):
        return None
    escalated = score.escalation_reason is not None
    reason = "escalation" if escalated else "negative_sentiment"
    hours = defaults.TASK_DUE_HOURS_ESCALATION if escalated else defaults.TASK_DUE_HOURS
    task = TaskSpec(
        subject=f"Follow up with {who}: {score.escalation_reason or 'negative ' + latest.channel}"[:255],
        body=_task_body(latest),
        due_at=now + timedelta(hours=hours),
        priority="HIGH" if escalated or score.intensity == "very_negative" else "MEDIUM",
        task_type="EMAIL" if latest.channel in ("email", "ticket", "chat", "review", "survey") else "CALL",
    )
    return reason, task


def _task_body(latest: Interaction) -> str:
    score = latest.score
    worst = min(score.turn_scores, key=lambda t: t["score"], default=None)
    lines = [
        f"{latest.channel.capitalize()} on {_iso(latest.occurred_at or latest.created_at)}: "
        f"{score.intensity.replace('_', ' ')} (score {score.score:.2f}, confidence {score.confidence:.2f}).",
    ]
    if score.escalation_reason:
        lines.append(f"Escalation: {score.escalation_reason}.")
    if worst is not None and latest.turns:
        lines.append(f"Customer said: \"{latest.turns[worst['turn']]['text'][:500]}\"")
    elif latest.summary:
        lines.append(f"Summary: {latest.summary[:500]}")
    if latest.url:
        lines.append(f"Source: {latest.url}")
    return "\n".join(lines)


def _latest_and_negatives(session, contact_id: int, now: datetime) -> tuple[Interaction | None, int]:
    scored = select(Interaction).join(InteractionScore).where(Interaction.contact_id == contact_id)
    when = func.coalesce(Interaction.occurred_at, Interaction.created_at)
    latest = session.scalar(scored.order_by(when.desc(), Interaction.id.desc()).limit(1))
    negatives = session.scalar(
        select(func.count()).select_from(Interaction).join(InteractionScore).where(
            Interaction.contact_id == contact_id,
            InteractionScore.label == "negative",
            when >= now - timedelta(days=defaults.NEGATIVE_WINDOW_DAYS),
        )
    )
    return latest, negatives or 0


def _write_properties(db: Database, writer: CRMWriter, contact_id: int, crm_id: str, properties: dict) -> bool:
    key = f"{writer.name}:props:{contact_id}:{crm_id}:{_digest(properties)}"
    with db.session() as session:
        if session.scalar(select(CrmWrite.id).where(CrmWrite.idempotency_key == key)) is not None:
            return False
    writer.update_contact(crm_id, properties)
    return _log_once(db, contact_id, writer.name, "update_contact", key, properties, "done")


def _open_task_once(db: Database, writer: CRMWriter, contact_id: int, crm_id: str, interaction_id: int,
                    reason: str, task: TaskSpec) -> str | None:
    """Record the task first (one open per contact and reason), then create it in the CRM."""
    with db.session() as session:
        row = session.scalar(select(FollowUpTask).where(
            FollowUpTask.contact_id == contact_id, FollowUpTask.reason == reason, FollowUpTask.status == "open"))
        if row is not None and row.crm_task_id is not None:
            return None  # already open: never a second task for the same reason
        if row is None:
            row = FollowUpTask(contact_id=contact_id, interaction_id=interaction_id, reason=reason,
                               crm=writer.name, subject=task.subject, due_at=task.due_at)
            if not add_unless_exists(session, row):
                return None  # a concurrent sync recorded it first
        task_row_id = row.id
    # A crash between the CRM's answer and the commit below leaves crm_task_id empty; the next run
    # creates the task again. Known narrow window; the HubSpot issue adds a search-before-create.
    crm_task_id = writer.create_task(crm_id, task)
    with db.session() as session:
        session.get(FollowUpTask, task_row_id).crm_task_id = crm_task_id
    _log_once(db, contact_id, writer.name, "create_task", f"{writer.name}:task:{task_row_id}",
              {"reason": reason, "subject": task.subject, "crm_task_id": crm_task_id}, "done")
    return crm_task_id


def _log_once(db: Database, contact_id: int, crm: str, operation: str, key: str, payload: dict, status: str) -> bool:
    """Append to the CRM write log unless this exact write is there already; True when added."""
    try:
        with db.session() as session:
            if session.scalar(select(CrmWrite.id).where(CrmWrite.idempotency_key == key)) is not None:
                return False
            session.add(CrmWrite(contact_id=contact_id, crm=crm, operation=operation, idempotency_key=key[:255],
                                 payload=json.loads(json.dumps(payload, default=str)), status=status))
    except IntegrityError:
        return False
    return True


def _remember_crm_id(db: Database, contact_id: int, crm: str, crm_id: str) -> None:
    """Store the CRM id; local contacts already linked to the same CRM record are this person too."""
    link = f"{crm}:{crm_id}"
    with db.session() as session:
        contact = session.get(Contact, contact_id)
        twins = list(session.scalars(select(Contact).where(Contact.crm_id == link, Contact.id != contact_id)))
        merge_into(session, contact, twins)
        if contact.crm_id != link:
            contact.crm_id = link


def _known_crm_id(contact: Contact, crm: str) -> str | None:
    """The CRM id remembered for this contact in this CRM (stored as '<crm>:<id>')."""
    prefix = f"{crm}:"
    return contact.crm_id[len(prefix):] if contact.crm_id and contact.crm_id.startswith(prefix) else None


def _mark_synced(db: Database, contact_id: int, covered: datetime | None) -> None:
    with db.session() as session:
        contact = session.get(Contact, contact_id)
        if covered is not None and (contact.synced_at is None or contact.synced_at < covered):
            contact.synced_at = covered


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
