"""RQ job functions: load, call the library code, store. They raise on failure so RQ records it."""
from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta

from redis.exceptions import RedisError
from rq import get_current_job

from connectors.common.http import ProviderError
from connectors.crm import CRMError
from connectors.notify import DeliveryError
from integration import defaults, queues
from integration.alerts import delivery as alert_delivery
from integration.alerts.spikes import check_spikes
from integration.pipeline import batch, processing
from integration.store import claims, inbox
from integration.store.models import utcnow
from integration.sync import flush, helpdesk_tags
from integration.sync.cache import ContactCache
from workers import context
from workers.claim_lease import LeaseRenewal
from workers.errors import is_permanent
from workers.flush_lock import FlushLock

log = logging.getLogger(__name__)


def process_event(event_row_id: int) -> dict:
    """Parse, score and store this event and up to PROCESS_BATCH - 1 other pending ones (claimed in the inbox,
    so their own jobs find them done or claimed), then ask for a CRM flush and help-desk tags.

    This event's error fails this job as before (retried by RQ unless permanent); another event's error is
    recorded on that event and its claim given up: a permanent one fails it now, another leaves it pending
    for its own job or the sweep. An event in another job's batch: see `_while_claimed`."""
    rt = context.runtime()
    job = get_current_job()
    token = job.id if job is not None else uuid.uuid4().hex  # this job's retry takes back what a killed try claimed
    try:
        # settings_now, not settings: a due check runs here and is waited for, so the analyzer below gets the rules
        # the console saved (`settings` would start the check in the background and the analyzer keep the old ones)
        claimed = claims.claim(rt.db, event_row_id, token, rt.settings_now().process_batch, defaults.CLAIM_LEASE_S)
        if claimed == "claimed":
            claimed = _while_claimed(rt, event_row_id, token)
        if isinstance(claimed, str):  # done (by another job's batch), or missing
            return {"status": claimed, "interactions": [], "contacts": []}
        result = _process(rt, claimed, token)
    except Exception as exc:
        _failed(rt, event_row_id, exc)
        _no_retry_if_permanent(exc)
        claims.release(rt.db, [event_row_id], token)  # RQ's retry of this job finds the event free
        raise
    _after_batch(rt, result, token, own=event_row_id)
    if event_row_id in result.errors:
        _no_retry_if_permanent(result.errors[event_row_id])
        raise result.errors[event_row_id]
    own = result.outcomes[event_row_id]
    return {"status": own.status, "interactions": own.interactions, "contacts": sorted(own.contacts),
            "batch": len(claimed)}


def _while_claimed(rt, event_row_id: int, token: str) -> list[claims.Claimed] | str:
    """The event is in another job's batch: process batches of other pending events meanwhile (the queue behind
    it keeps moving, and this worker does not sit idle while there is work), asking after each whether the event
    is done; with nothing else pending, wait until the event is done, or until that batch's lease ends (its worker
    was killed) and claim it then, asking every CLAIM_POLL_S. Other batches stop after half the job's timeout, so
    the wait itself always has time. What `claims.claim` returns."""
    working_until = time.monotonic() + defaults.PROCESS_JOB_TIMEOUT_S / 2
    claimed: list[claims.Claimed] | str = "claimed"
    while claimed == "claimed":
        others = []
        if time.monotonic() < working_until:
            others = claims.claim_pending(rt.db, token, rt.settings_now().process_batch, defaults.CLAIM_LEASE_S)
        if others:
            _after_batch(rt, _process(rt, others, token), token)
        else:
            time.sleep(defaults.CLAIM_POLL_S)
        # the own event first once its holder's lease has ended (a later claim_pending would take it as another's)
        claimed = claims.claim(rt.db, event_row_id, token, rt.settings_now().process_batch, defaults.CLAIM_LEASE_S)
    return claimed


def _process(rt, claimed: list[claims.Claimed], token: str) -> batch.BatchResult:
    """The batch, with its claims renewed while it runs (a killed worker's lapse one short lease later)."""
    with LeaseRenewal(rt.db, [item.row_id for item in claimed], token):
        return batch.process_batch(rt.db, claimed, context.analyzer(), context.connector_for(rt))


def _after_batch(rt, result: batch.BatchResult, token: str, own: int | None = None) -> None:
    """Record each failed event's error and give up its claim; take the queued jobs of the events it finished
    out of the queue (they would only find them done); then one flush request, the alerts and the help-desk
    tags for everything the batch stored."""
    for row_id, exc in result.errors.items():
        _failed(rt, row_id, exc)
    claims.release(rt.db, list(result.errors), token)  # a retry (the job's, or the sweep's) takes them at once
    done = [row_id for row_id, outcome in result.outcomes.items() if row_id != own and outcome.status in claims.DONE]
    _quietly(lambda: queues.drop_event_jobs(rt.worker_redis, done))
    outcomes = list(result.outcomes.values())
    interactions = [i for outcome in outcomes for i in outcome.interactions]
    if set().union(*(outcome.contacts for outcome in outcomes)):
        _request_flush(rt)
    _quietly(lambda: _dispatch_alerts(rt, interactions))
    for interaction_id in helpdesk_tags.taggable(rt.db, interactions, rt.settings):
        _quietly(lambda i=interaction_id: queues.enqueue_tagging(rt.worker_redis, i))


def _failed(rt, row_id: int, exc: Exception) -> None:
    """Record an attempt's error on the event (a permanent one fails it now, with its real error)."""
    error = f"{type(exc).__name__}: {exc}"
    permanent = is_permanent(exc)
    if permanent:  # retrying cannot help: failed now, with its real error, and not retried
        log.warning("event %s failed permanently: %s", row_id, error[:500])
    processing.record_failure(rt.db, row_id, error, permanent=permanent)


def _no_retry_if_permanent(exc: Exception) -> None:
    if is_permanent(exc):
        _no_retry()


def flush_crm() -> dict:
    """Write every pending contact change to the CRM in batches; one flush at a time across workers."""
    rt = context.runtime()
    redis = rt.worker_redis
    redis.delete(queues.FLUSH_MARKER)  # changes from now on ask for another flush
    lock = FlushLock(redis)  # short TTL, renewed while the flush runs: a dead worker's lock expires soon
    if not lock.acquire():
        _request_flush(rt)  # the running flush may have looked already: make sure one follows it
        return {"status": "busy"}
    try:
        return _flush(rt, redis, lock)
    except CRMError as exc:
        _apply_retry_policy(exc)
        raise
    finally:
        lock.release()


def tag_ticket(interaction_id: int) -> dict:
    """Set sentiment and escalation tags on the help-desk ticket this interaction came from."""
    rt = context.runtime()
    try:
        return helpdesk_tags.tag_interaction(rt.db, rt.settings, interaction_id)
    except ProviderError as exc:
        _apply_retry_policy(exc)
        raise
    except Exception as exc:
        if is_permanent(exc):  # e.g. source ids the writer refuses: no retry can fix them
            _no_retry()
        raise


def send_alert(alert_id: int) -> dict:
    """Deliver one alert row to every configured destination (429/5xx retried; 403/404/410 recorded, not retried)."""
    rt = context.runtime()
    try:
        return alert_delivery.deliver(rt.db, rt.settings, alert_id)
    except DeliveryError as exc:
        _apply_retry_policy(exc)
        raise


def send_held_alerts() -> dict:
    """Deliver every alert held through quiet hours, in one message."""
    rt = context.runtime()
    try:
        return alert_delivery.deliver_held(rt.db, rt.settings)
    except DeliveryError as exc:
        _apply_retry_policy(exc)
        raise


def send_digest_if_due() -> dict:
    """The weekly digest to each configured destination that has not had the due week (DIGEST_SCHEDULE)."""
    from integration.digest import sending

    rt = context.runtime()
    return sending.scheduled(rt.db, rt.settings)


def follow_up_waiting() -> dict:
    """No one left waiting: a follow-up task for each customer left FOLLOW_UP_AFTER_DAYS without a reply
    after a negative interaction. Runs under the flush lock, so it never races a flush on a contact."""
    from integration.digest.waiting import open_waiting_tasks

    rt = context.runtime()
    redis = rt.worker_redis
    lock = FlushLock(redis)
    deadline = time.monotonic() + defaults.FOLLOW_UP_LOCK_WAIT_S
    while not lock.acquire():
        if time.monotonic() > deadline:
            return {"status": "busy"}  # a long flush: the next run opens them (the job is idempotent)
        time.sleep(1)
    try:
        writer = context.crm_writer(rt)
        result = open_waiting_tasks(rt.db, writer, ContactCache(redis, writer.name), context.sync_options(),
                                    rt.settings.follow_up_after_days)
    except CRMError as exc:
        _apply_retry_policy(exc)
        raise
    finally:
        lock.release()
    return {"status": "done", **result}


def _dispatch_alerts(rt, interaction_ids: list[int]) -> None:
    """Spike alerts for these interactions' themes, then a job (or a quiet-hours hold) for each pending alert."""
    if not interaction_ids:
        return
    from sqlalchemy import select

    from integration.store.models import Alert

    spikes = check_spikes(rt.db, interaction_ids, rt.settings.spike_min_customers, rt.settings.spike_window_days)
    with rt.db.session() as session:
        ids = list(session.scalars(select(Alert.id).where(Alert.interaction_id.in_(interaction_ids),
                                                          Alert.status == "pending")))
    alert_delivery.dispatch(rt.db, rt.worker_redis, rt.settings, ids + spikes)


def sweep() -> dict:
    """Enqueue what Redis lost or never got: pending events, and contact changes never flushed."""
    rt = context.runtime()
    redis = rt.worker_redis
    requeued = failed = 0
    for row_id in inbox.pending_for_sweep(rt.db, defaults.SWEEP_GRACE_S, defaults.SWEEP_BATCH):
        status = queues.event_job_status(redis, row_id)
        if status in queues.ACTIVE_STATUSES:
            continue
        if status == queues.JobStatus.FAILED:
            processing.give_up(rt.db, row_id)  # keeps the real error, says the retries ran out
            failed += 1
            continue
        queues.enqueue_event(redis, row_id)
        requeued += 1
    behind = [cid for cid, at in flush.due_contacts(rt.db) if at <= utcnow() - timedelta(seconds=defaults.SWEEP_GRACE_S)]
    requested = bool(behind) and _request_flush(rt, delay_s=0)
    alert_delivery.release_stale_claims(rt.db, defaults.ALERT_JOB_TIMEOUT_S * 2)
    lost_alerts, held_due = alert_delivery.waiting(rt.db, defaults.ALERT_SWEEP_GRACE_S)
    if lost_alerts:  # raised but never queued (the worker died after the commit): dispatched now
        alert_delivery.dispatch(rt.db, redis, rt.settings, lost_alerts)
    if held_due:
        queues.enqueue_held_alerts(redis, utcnow())
    return {"requeued_events": requeued, "failed_events": failed, "contacts_behind": len(behind),
            "flush_requested": requested, "alerts_requeued": len(lost_alerts)}


def prune_events() -> dict:
    """Delete raw bodies of processed and ignored events older than EVENT_RETENTION_DAYS (0: keep all)."""
    rt = context.runtime()
    days = rt.settings.event_retention_days
    if not days:
        return {"pruned_events": 0, "retention_days": 0}
    pruned = inbox.prune(rt.db, timedelta(days=days), defaults.PRUNE_BATCH)
    if pruned:
        log.info("pruned %d events older than %d days", pruned, days)
    return {"pruned_events": pruned, "retention_days": days}


def _flush(rt, redis, lock: FlushLock) -> dict:
    writer = context.crm_writer(rt)
    cache, options = ContactCache(redis, writer.name), context.sync_options()
    totals = {"rounds": 0, "contacts": 0, "updated": 0, "notes": 0, "tasks": 0, "unmatched": 0}
    started, begun = time.monotonic(), utcnow()
    while due := flush.due_contacts(rt.db):
        if lock.lost or time.monotonic() - started > defaults.CRM_FLUSH_MAX_S:
            _request_flush(rt, delay_s=0)  # hand the rest to a fresh job
            break
        result = flush.sync_round(rt.db, writer, cache, options, due)
        totals["rounds"] += 1
        for name in ("contacts", "updated", "notes", "tasks", "unmatched"):
            totals[name] += getattr(result, name)
        if not flush.another_round_now(rt.db, begun, rt.settings.crm_flush_delay_s):
            break  # what arrived meanwhile has asked for its own, later flush: batch it there
    return {"status": "flushed", **totals}


def _request_flush(rt, delay_s: float | None = None) -> bool:
    try:
        return queues.request_flush(rt.worker_redis, rt.settings.crm_flush_delay_s if delay_s is None else delay_s)
    except RedisError as exc:  # the contacts stay due in the database; the sweep asks again
        log.warning("could not request a CRM flush: %s", exc)
        return False


def _quietly(action) -> None:
    try:
        action()
    except RedisError as exc:
        log.warning("could not queue: %s", exc)


def _no_retry() -> None:
    """The current job goes to the FailedJobRegistry when it raises, without RQ's retries."""
    job = get_current_job()
    if job is not None:
        job.retries_left = 0


def _apply_retry_policy(exc: CRMError | ProviderError | DeliveryError) -> None:
    """A permanent error is not retried; a Retry-After longer than the next interval stretches it."""
    job = get_current_job()
    if job is None or job.retries_left is None:
        return
    if not exc.retryable:
        _no_retry()
        return
    if exc.retry_after_s and job.retry_intervals:
        index = max(len(job.retry_intervals) - job.retries_left, 0)
        intervals = list(job.retry_intervals)
        if index < len(intervals) and intervals[index] < exc.retry_after_s:
            intervals[index] = int(exc.retry_after_s) + 1
            job.retry_intervals = intervals


def try_rules(documents: dict, text: str) -> dict:
    """The console's "try a sentence": score `text` as one customer turn with the rules as edited (given as
    data, not stored) and say which escalation rules fire, with their evidence, the themes and the follow-up
    rule that would open a task. Stores nothing."""
    from scoring.escalation import History, summary_reason

    settings = context.runtime().settings
    analyzer = context.build_analyzer(context.scorer(), documents["escalation"], documents["themes"], settings)
    analysis = analyzer.analyse([{"speaker": "customer", "text": text}], None, History())
    if analysis is None:
        return {"empty": True}
    overall = analysis.scored.overall
    follow_up = None
    escalated = summary_reason(analysis.flags)
    for rule in documents["follow_up"].get("rules", []):
        if (rule["when"] == "escalation" and escalated) or (
                rule["when"] == "score_at_most" and overall.score <= rule["threshold"]):
            follow_up = {"reason": rule["reason"], "priority": rule.get("priority", "MEDIUM"),
                         "due_hours": rule["due_hours"]}
            break
    return {"scorer": analyzer.scorer.name, "score": overall.score, "label": overall.label,
            "intensity": overall.intensity, "confidence": overall.confidence, "signals": list(overall.signals),
            "flags": [f.as_dict() for f in analysis.flags], "themes": [t.as_dict() for t in analysis.themes],
            "follow_up": follow_up}
