"""/admin/jobs: queue depths, pending and failed events, failed jobs with their error; requeue or delete them."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from redis.exceptions import RedisError
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from sqlalchemy import func, select

from integration import defaults, queues
from integration.store.models import WebhookEvent
from integration.web.admin.auth import admin_required, login_required, runtime

bp = Blueprint("admin_jobs", __name__, url_prefix="/admin/jobs")
QUEUES = (defaults.EVENTS_QUEUE, defaults.CRM_QUEUE)


@bp.get("/")
@login_required
def index():
    rt = runtime()
    page = max(1, request.args.get("page", 1, type=int))
    size = defaults.ADMIN_PAGE_SIZE
    with rt.db.session() as session:
        events = dict(session.execute(select(WebhookEvent.status, func.count()).group_by(WebhookEvent.status))
                      .all())
        failed_events = list(session.execute(
            select(WebhookEvent.id, WebhookEvent.source, WebhookEvent.event_type, WebhookEvent.received_at,
                   WebhookEvent.attempts, WebhookEvent.last_error)
            .where(WebhookEvent.status == "failed").order_by(WebhookEvent.received_at.desc()).limit(size)))
    try:
        depths, failed = _queues(rt.redis), _failed_jobs(rt.redis, page, size)
        redis_error = None
    except RedisError as exc:
        depths, failed, redis_error = [], [], f"Redis is unavailable ({type(exc).__name__})."
    return render_template("admin/jobs.html", depths=depths, events=events, failed_events=failed_events,
                           failed=failed, page=page, size=size, redis_error=redis_error)


@bp.post("/<queue_name>/<job_id>/requeue")
@admin_required
def requeue(queue_name: str, job_id: str):
    registry = _registry(queue_name)
    try:
        registry.requeue(job_id)
    except (NoSuchJobError, InvalidJobOperation, ValueError):
        abort(404, "That job is no longer in the failed list.")
    flash(f"Job {job_id} is queued again.")
    return redirect(url_for(".index"))


@bp.post("/<queue_name>/<job_id>/delete")
@admin_required
def delete(queue_name: str, job_id: str):
    registry = _registry(queue_name)
    if job_id not in registry.get_job_ids():
        abort(404, "That job is no longer in the failed list.")
    registry.remove(job_id, delete_job=True)
    flash(f"Job {job_id} is deleted.")
    return redirect(url_for(".index"))


def _registry(queue_name: str) -> FailedJobRegistry:
    if queue_name not in QUEUES:
        abort(404, f"No queue is called {queue_name!r}.")
    return FailedJobRegistry(queue_name, connection=runtime().redis)


def _queues(redis) -> list[dict]:
    return [{
        "name": name, "queued": queues.queue(redis, name).count,
        "started": StartedJobRegistry(name, connection=redis).count,
        "scheduled": ScheduledJobRegistry(name, connection=redis).count,
        "failed": FailedJobRegistry(name, connection=redis).count,
    } for name in QUEUES]


def _failed_jobs(redis, page: int, size: int) -> list[dict]:
    """Failed jobs of both queues, newest first; the error is the last line of the traceback."""
    rows = []
    for name in QUEUES:
        registry = FailedJobRegistry(name, connection=redis)
        ids = registry.get_job_ids(desc=True)
        for job in Job.fetch_many(ids, connection=redis):
            if job is None:
                continue
            result = job.latest_result()
            traceback = (result.exc_string if result is not None else None) or ""
            error = traceback.strip().splitlines()
            rows.append({"queue": name, "id": job.id, "description": job.description or job.func_name,
                         "ended_at": job.ended_at, "error": error[-1] if error else "", "traceback": traceback})
    rows.sort(key=lambda row: row["ended_at"] or 0, reverse=True)
    start = (page - 1) * size
    return rows[start:start + size]
