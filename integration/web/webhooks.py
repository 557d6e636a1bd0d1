"""POST /webhooks/<source>: verify on the raw bytes, store once, enqueue, answer fast."""
from __future__ import annotations

import logging
from functools import lru_cache

from flask import Blueprint, Response, current_app, jsonify, request
from redis.exceptions import RedisError
from sqlalchemy.exc import DataError, SQLAlchemyError

from connectors import registry
from connectors.base import InboundConnector, InboundEvent, MalformedPayload, SignatureInvalid, WebhookRequest
from connectors.common import body_checks
from integration import defaults, queues
from integration.runtime import Runtime
from integration.store import inbox
from integration.web import refusals
from integration.web.db_deadline import bound_database_waits

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__)


@bp.post("/webhooks/<source>")
@bound_database_waits(defaults.DB_REQUEST_DEADLINE_S)  # a hung database: 503 JSON within 5 s
def receive(source: str):
    """Answer 404 unknown source, 401 bad signature, 400 malformed, 413 too large, 503 not stored, else 200."""
    runtime: Runtime = current_app.extensions["undertone"]
    try:
        connector_class = registry.inbound_class(source)
    except registry.UnknownSource:
        return _error(404, f"unknown source {source!r}")
    settings = runtime.settings
    secrets = settings.source_secrets(source)
    if not secrets:
        refusals.record(runtime.redis, source, "no secret configured")
        return _error(401, f"source {source!r} has no secret configured; its webhooks are refused")
    connector = _connector(connector_class, secrets, settings.signature_tolerance_s)
    body = _read_body(settings.max_webhook_bytes)
    if body is None:
        return _error(413, f"body larger than {settings.max_webhook_bytes} bytes")
    incoming = WebhookRequest(body=body, headers=request.headers, url=lambda: _public_url(runtime),
                              method=request.method)
    try:
        connector.verify(incoming)
    except SignatureInvalid as exc:
        refusals.record(runtime.redis, source, f"signature check failed: {exc}")
        return _error(401, f"signature check failed: {exc}")
    try:
        body_checks.check_depth(body, source, defaults.MAX_JSON_DEPTH)
        body_checks.check_storable(body, source)
        events = connector.events(incoming)
        _check_events(events, source)
    except MalformedPayload as exc:
        return _error(400, f"malformed payload: {exc}")
    except (ValueError, RecursionError) as exc:  # a parser's own error (UnicodeError is a ValueError)
        return _error(400, f"malformed payload: {source}: body cannot be read ({type(exc).__name__})")
    try:
        result = inbox.accept(runtime.db, source, events, connector.handles, _request_headers(request.environ))
    except DataError as exc:  # a value the database refuses: permanent, so the sender must not retry
        log.warning("%s webhook refused by the database: %s", source, type(exc.orig).__name__)
        return _error(400, f"malformed payload: {source}: the event cannot be stored")
    except SQLAlchemyError:  # the engine hides bound values, so this log carries no body or token
        log.exception("could not store %s webhook", source)
        return _error(503, "the event could not be stored; please retry")
    return _accepted(result, queued=_enqueue(runtime, result.new))


@lru_cache(maxsize=64)
def _connector(connector_class: type[InboundConnector], secrets: tuple[str, ...], tolerance_s: int) -> InboundConnector:
    """The connector checking a source's webhooks with these secrets, built once for them (building one decodes
    its keys): a connector keeps nothing of one request for the next, verify() and events() only read what it was
    built with. A secret changed in the console makes other secrets, so another connector."""
    return connector_class(secrets, tolerance_s=tolerance_s)


def _read_body(limit: int) -> bytes | None:
    """The raw body, or None when it is longer than `limit`, checked before anything parses or verifies.

    A declared Content-Length over the limit is refused by werkzeug (413) unread. A chunked body has
    none, so at most limit + 1 bytes are read from the server's stream to tell.
    """
    if request.content_length is not None or "wsgi.input_terminated" not in request.environ:
        return request.get_data(cache=True)
    stream = request.environ["wsgi.input"]
    chunks, size = [], 0
    while size <= limit:
        chunk = stream.read(limit + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return None if size > limit else b"".join(chunks)


def _request_headers(environ: dict) -> dict[str, str]:
    """The request's headers, names lower-cased, in the order werkzeug's `request.headers` lists them and read the
    same way (HTTP_* keys, and CONTENT_TYPE and CONTENT_LENGTH when not empty), straight from the WSGI environ:
    iterating `request.headers` title-cases every name through a generator, and inbox.accept lower-cases them."""
    return {(key[5:] if key.startswith("HTTP_") else key).replace("_", "-").lower(): value for key, value in environ.items()
            if (key.startswith("HTTP_") and key not in _ENTITY_HEADERS) or (key in _ENTITY_HEADERS_CGI and value)}


_ENTITY_HEADERS = ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH")  # WSGI servers put these two in CGI's keys instead
_ENTITY_HEADERS_CGI = ("CONTENT_TYPE", "CONTENT_LENGTH")


def _check_events(events: list[InboundEvent], source: str) -> None:
    """MalformedPayload when an event id or type cannot be stored as text (a NUL, a lone surrogate)."""
    for event in events:
        for value in (event.event_id, event.event_type):
            if "\x00" in value:
                raise MalformedPayload(f"{source}: an event id or type contains a NUL character")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise MalformedPayload(f"{source}: an event id or type contains a lone surrogate") from None


def _enqueue(runtime: Runtime, row_ids: list[int]) -> int:
    """Enqueue stored events in one round trip; on a Redis failure they stay pending for the sweep."""
    try:
        queues.enqueue_events(runtime.redis, row_ids)
    except RedisError as exc:
        log.warning("redis unavailable, events %s left pending for the sweep: %s", row_ids, exc)
        return 0
    return len(row_ids)


def _accepted(result: inbox.AcceptResult, queued: int) -> Response:
    """`jsonify(accepted=..., duplicates=..., ignored=..., queued=...)`, byte for byte (keys sorted, compact, a
    newline), written out: four counts need no JSON encoder, and json.dumps with jsonify's options makes a new one
    per call."""
    body = (f'{{"accepted":{len(result.new)},"duplicates":{result.duplicates},"ignored":{result.ignored},'
            f'"queued":{queued}}}\n')
    return current_app.response_class(body, content_type="application/json")


def _public_url(runtime: Runtime) -> str:
    """The URL the sender signed: PUBLIC_BASE_URL (behind a proxy the host differs) or the request's own."""
    base = runtime.settings.public_base_url
    if not base:
        return request.url
    query = request.query_string.decode("latin-1")
    return base.rstrip("/") + request.path + (f"?{query}" if query else "")


def _error(status: int, detail: str):
    return jsonify(error=detail), status
