"""GET /healthz: is the web process up, can it reach the database and Redis, how much work is waiting.

Anyone gets the bare answer (`{"status": ...}` with 200 or 503); the details (each check, queue
depths, error types) only with `Authorization: Bearer <HEALTHZ_TOKEN>`.
"""
from __future__ import annotations

import hmac

from flask import Blueprint, current_app, jsonify, request
from rq.registry import FailedJobRegistry
from sqlalchemy import func, select

from integration import defaults, queues
from integration.runtime import Runtime
from integration.store.models import WebhookEvent
from integration.web.db_deadline import bound_database_waits

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@bound_database_waits(defaults.DB_REQUEST_DEADLINE_S)  # a hung database: 503 JSON within 5 s
def healthz():
    """200 when the database answers (Redis down is 'degraded': webhooks are still stored), else 503."""
    runtime: Runtime = current_app.extensions["undertone"]
    report: dict = {"web": "ok"}
    db_ok = _check_database(runtime, report)
    redis_ok = _check_redis(runtime, report)
    report["status"] = "ok" if db_ok and redis_ok else ("degraded" if db_ok else "down")
    if not _may_see_details(runtime):
        report = {"status": report["status"]}
    return jsonify(report), 200 if db_ok else 503


def _may_see_details(runtime: Runtime) -> bool:
    """Whether the request carries the configured HEALTHZ_TOKEN as a bearer token (none set: nobody)."""
    token = runtime.settings.healthz_token
    offered = request.headers.get("Authorization", "")
    if token is None or not offered.startswith("Bearer "):
        return False
    offered_bytes = offered.removeprefix("Bearer ").strip().encode()
    matched = False
    for value in token.get_secret_value().split(","):
        if value.strip():
            matched |= hmac.compare_digest(offered_bytes, value.strip().encode())
    return matched


def _check_database(runtime: Runtime, report: dict) -> bool:
    try:
        with runtime.db.session() as session:
            report["pending_events"] = session.scalar(
                select(func.count()).select_from(WebhookEvent).where(WebhookEvent.status == "pending")
            )
        report["database"] = "ok"
        return True
    except Exception as exc:  # any failure to reach it is the answer, not an error of ours
        report["database"] = f"error: {type(exc).__name__}"
        return False


def _check_redis(runtime: Runtime, report: dict) -> bool:
    try:
        runtime.redis.ping()
        report["queues"] = {
            name: {
                "queued": queues.queue(runtime.redis, name).count,
                "failed": FailedJobRegistry(name, connection=runtime.redis).count,
            }
            for name in (defaults.EVENTS_QUEUE, defaults.CRM_QUEUE)
        }
        report["redis"] = "ok"
        return True
    except Exception as exc:
        report["redis"] = f"error: {type(exc).__name__}"
        return False
