"""POST /webhooks/<source>: verify on the raw bytes, store once, enqueue, answer fast."""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, request
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from connectors import registry
from connectors.base import MalformedPayload, SignatureInvalid, WebhookRequest
from integration import queues
from integration.runtime import Runtime
from integration.store import inbox
from integration.web import refusals

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__)


@bp.post("/webhooks/<source>")
def receive(source: str):
    """Answer 404 unknown source, 401 bad signature, 400 malformed, 413 too large, 503 not stored, else 200."""
    runtime: Runtime = current_app.extensions["undertone"]
    try:
        connector_class = registry.inbound_class(source)
    except registry.UnknownSource:
        return _error(404, f"unknown source {source!r}")
    secrets = runtime.settings.source_secrets(source)
    if not secrets:
        refusals.record(runtime.redis, source, "no secret configured")
        return _error(401, f"source {source!r} has no secret configured; its webhooks are refused")
    connector = connector_class(secrets, tolerance_s=runtime.settings.signature_tolerance_s)
    body = request.get_data(cache=True)  # raises 413 past MAX_CONTENT_LENGTH, before anything parses
    incoming = WebhookRequest(body=body, headers=request.headers, url=_public_url(runtime), method=request.method)
    try:
        connector.verify(incoming)
    except SignatureInvalid as exc:
        refusals.record(runtime.redis, source, f"signature check failed: {exc}")
        return _error(401, f"signature check failed: {exc}")
    try:
        events = connector.events(incoming)
    except MalformedPayload as exc:
        return _error(400, f"malformed payload: {exc}")
    try:
        result = inbox.accept(runtime.db, source, events, connector.handles, request.headers)
    except SQLAlchemyError:
        log.exception("could not store %s webhook", source)
        return _error(503, "the event could not be stored; please retry")
    queued = _enqueue(runtime, result.new)
    return jsonify(accepted=len(result.new), queued=queued, duplicates=result.duplicates, ignored=result.ignored)


def _enqueue(runtime: Runtime, row_ids: list[int]) -> int:
    """Enqueue stored events; on a Redis failure they stay pending for the sweep. Returns how many queued."""
    queued = 0
    for row_id in row_ids:
        try:
            queues.enqueue_event(runtime.redis, row_id)
            queued += 1
        except RedisError as exc:
            log.warning("redis unavailable, event %s left pending for the sweep: %s", row_id, exc)
            break
    return queued


def _public_url(runtime: Runtime) -> str:
    """The URL the sender signed: PUBLIC_BASE_URL (behind a proxy the host differs) or the request's own."""
    base = runtime.settings.public_base_url
    if not base:
        return request.url
    query = request.query_string.decode("latin-1")
    return base.rstrip("/") + request.path + (f"?{query}" if query else "")


def _error(status: int, detail: str):
    return jsonify(error=detail), status
