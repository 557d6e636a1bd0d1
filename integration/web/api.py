"""The insights HTTP API: GET /api/v1/insights/<name>, bearer tokens, a per-token rate limit in Redis,
and the OpenAPI document at /api/v1/openapi.json generated (by spectree) from the parameter models."""
from __future__ import annotations

import logging
import time

from flask import Blueprint, Flask, abort, current_app, g, jsonify, make_response, request
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from integration.runtime import Runtime
from integration.store import api_tokens

log = logging.getLogger(__name__)
PREFIX = "/api/v1/insights"
RATE_WINDOW_S = 60


def init_app(app: Flask) -> None:
    """Register the insights blueprint and its OpenAPI document on the app."""
    from spectree import SecurityScheme, SpecTree
    from spectree.models import SecuritySchemeData

    from integration.insights.registry import INSIGHTS

    spec = SpecTree("flask", path="api/v1/docs", filename="openapi.json", title="Undertone insights API",
                    version="1", validation_error_status=400, annotations=False, mode="strict",
                    description="Answers to the owner's questions from Undertone's data. Every call needs "
                                "`Authorization: Bearer <token>` (`undertone api-token create NAME`).",
                    security_schemes=[SecurityScheme(name="bearer", data=SecuritySchemeData(
                        type="http", scheme="bearer"))], security={"bearer": []})
    bp = Blueprint("insights_api", __name__)
    bp.before_request(_authenticate)
    for insight in INSIGHTS.values():
        view = spec.validate(query=insight.model, tags=["insights"], before=_bad_parameter)(_view(insight))
        bp.add_url_rule(f"{PREFIX}/{insight.name}", endpoint=insight.name, view_func=view, methods=["GET"])
    # spectree serves its pages under path=; the document is also served at the stable address.
    bp.add_url_rule("/api/v1/openapi.json", endpoint="openapi", view_func=lambda: jsonify(spec.spec))
    app.register_blueprint(bp)
    spec.register(app)


def _view(insight):
    def view():
        runtime: Runtime = current_app.extensions["undertone"]
        from integration.insights.registry import answer

        try:
            return jsonify(answer(insight.name, request.context.query, runtime.db, runtime.settings))
        except SQLAlchemyError:
            log.exception("insight %s failed on the database", insight.name)
            return _error(503, "the database is unavailable; try again")

    view.__name__ = f"insight_{insight.name}"
    view.__doc__ = insight.summary + "\n\n" + "\n".join(f"- {q}" for q in insight.questions)
    return view


def _bad_parameter(req, resp, error, instance, *_) -> None:
    """400 naming the parameter, instead of spectree's list of pydantic errors."""
    if error is None:
        return
    first = error.errors()[0]
    loc = [str(part) for part in first.get("loc", ()) if part not in ("query", "__root__")]
    message = first.get("msg", "invalid")
    name = loc[0] if loc else message.split(":", 1)[0].removeprefix("Value error, ")
    detail = message.removeprefix("Value error, ")
    abort(make_response(jsonify(error="Bad Request", parameter=name, detail=f"{name}: {detail}"
                                 if not detail.startswith(name) else detail), 400))


def _authenticate():
    """401 without a valid bearer token; 429 (with Retry-After) past the token's rate limit."""
    if request.endpoint == "insights_api.openapi":
        return None
    runtime: Runtime = current_app.extensions["undertone"]
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _error(401, "send Authorization: Bearer <token> (undertone api-token create NAME)")
    try:
        token_id = api_tokens.verify(runtime.db, token.strip())
    except SQLAlchemyError:
        return _error(503, "the database is unavailable; try again")
    if token_id is None:
        return _error(401, "unknown or revoked token")
    g.api_token_id = token_id
    wait = _rate_limited(runtime, token_id)
    if wait:
        response = _error(429, f"more than {runtime.settings.api_rate_limit_per_minute} requests a minute")
        response.headers["Retry-After"] = str(wait)
        return response
    return None


def _rate_limited(runtime: Runtime, token_id: int) -> int:
    """Seconds to wait when this token is over its limit in the current minute, else 0 (fixed windows in
    Redis, shared by every web process). With Redis down the API answers without a limit."""
    now = time.time()
    window = int(now // RATE_WINDOW_S)
    key = f"undertone:api-rate:{token_id}:{window}"
    try:
        pipe = runtime.redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, RATE_WINDOW_S + 5)
        count = pipe.execute()[0]
    except RedisError:
        log.warning("rate limit not applied: Redis unavailable")
        return 0
    if count <= runtime.settings.api_rate_limit_per_minute:
        return 0
    return max(1, int((window + 1) * RATE_WINDOW_S - now + 0.999))


def _error(status: int, detail: str):
    names = {400: "Bad Request", 401: "Unauthorized", 429: "Too Many Requests", 503: "Service Unavailable"}
    response = make_response(jsonify(error=names.get(status, "Error"), detail=detail), status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="undertone"'
    return response
