"""No one left waiting: customers whose latest interaction was negative and who have had no touch from the
business (outbound call, text, e-mail or agent reply) since, for at least FOLLOW_UP_AFTER_DAYS.

Used by the daily follow-up job (which opens a CRM task for each) and by the weekly digest (which lists them),
so the two agree. Interactions older than WAITING_MAX_AGE_DAYS are not looked at: a first run on a long
history must not open a task for every complaint of last year.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from integration.insights import definitions as d
from integration.insights.base import AT, aware, contacts, evidence, interactions, iso
from integration.store.models import FollowUpTask, Interaction, InteractionScore, Touch

WAITING_MAX_AGE_DAYS = 30  # a negative interaction older than this no longer opens a follow-up task
WAITING_REASON = "not_heard_back"  # the follow-up task's reason (one open task per contact and reason)
CHUNK = 500


def waiting_contacts(session: Session, after_days: int, now: datetime,
                     max_age_days: int = WAITING_MAX_AGE_DAYS) -> list[tuple[int, int, datetime]]:
    """(contact id, its latest interaction id, when) for every customer left waiting, longest-waiting first."""
    newest, oldest = now - timedelta(days=after_days), now - timedelta(days=max_age_days)
    stmt = (select(Interaction.contact_id, Interaction.id, AT).join(InteractionScore)
            .where(InteractionScore.label == d.NEGATIVE, Interaction.contact_id.is_not(None), AT >= oldest,
                   AT <= newest))
    candidates: dict[int, tuple[int, datetime]] = {}
    for contact_id, interaction_id, at in session.execute(stmt):
        at = aware(at)
        if contact_id not in candidates or (at, interaction_id) > (candidates[contact_id][1], candidates[contact_id][0]):
            candidates[contact_id] = (interaction_id, at)
    found = []
    ids = sorted(candidates)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        later = _latest_scored(session, chunk)
        touched = _last_touch(session, chunk)
        for contact_id in chunk:
            interaction_id, at = candidates[contact_id]
            if later.get(contact_id, (at, interaction_id)) > (at, interaction_id):
                continue  # a later interaction (of any sentiment) is the latest: not this rule's case
            if contact_id in touched and touched[contact_id] > at:
                continue  # heard back from us since
            found.append((contact_id, interaction_id, at))
    found.sort(key=lambda row: (row[2], row[0]))
    return found


def waiting(session: Session, after_days: int, now: datetime, settings, limit: int | None = None) -> dict:
    """The customers left waiting, described (contact, CRM link, the interaction's evidence, hours waited, and
    the follow-up task opened for it, if any)."""
    rows = waiting_contacts(session, after_days, now)
    page = rows[:limit] if limit else rows
    people = contacts(session, [c for c, _, _ in page], settings)
    found = interactions(session, [i for _, i, _ in page])
    tasks = _open_tasks(session, [c for c, _, _ in page])
    listed = [{**people.get(contact_id, {"contact_id": contact_id}), "interaction": evidence(found[interaction_id]),
               "negative_at": iso(at), "waiting_days": round((now - at).total_seconds() / 86400, 1),
               "follow_up_task": tasks.get(contact_id)}
              for contact_id, interaction_id, at in page]
    return {"after_days": after_days, "total": len(rows), "more": len(rows) > len(page), "customers": listed}


def _latest_scored(session: Session, ids: list[int]) -> dict[int, tuple[datetime, int]]:
    stmt = (select(Interaction.contact_id, Interaction.id, AT).join(InteractionScore)
            .where(Interaction.contact_id.in_(ids)))
    latest: dict[int, tuple[datetime, int]] = {}
    for contact_id, interaction_id, at in session.execute(stmt):
        key = (aware(at), interaction_id)
        if contact_id not in latest or key > latest[contact_id]:
            latest[contact_id] = key
    return latest


def _last_touch(session: Session, ids: list[int]) -> dict[int, datetime]:
    stmt = (select(Touch.contact_id, func.max(Touch.occurred_at))
            .where(Touch.contact_id.in_(ids), Touch.kind.in_(d.HEARD_BACK_KINDS)).group_by(Touch.contact_id))
    return {contact_id: aware(at) for contact_id, at in session.execute(stmt) if at is not None}


def _open_tasks(session: Session, ids: list[int]) -> dict[int, dict]:
    if not ids:
        return {}
    stmt = select(FollowUpTask).where(FollowUpTask.contact_id.in_(ids), FollowUpTask.reason == WAITING_REASON,
                                      FollowUpTask.status == "open")
    return {t.contact_id: {"task_id": t.id, "crm_task_id": t.crm_task_id, "opened_at": iso(t.created_at),
                           "due_at": iso(t.due_at)} for t in session.scalars(stmt)}
