"""A small local JSON API server for provider hydration tests (Zendesk, Intercom, Aircall, ...).

Tests register routes that answer like the provider's API; the server records every request and
can be told to fail the next calls (401, 404, 429 with Retry-After, 5xx) to exercise retries.

    with JsonAPIServer(auth=lambda headers: headers.get("Authorization") == "Bearer t") as api:
        api.route("GET", "/api/v2/users/<user_id>.json", lambda req, user_id: (200, {"user": {...}}))
        api.fail_next("/api/v2/users/", 429, headers={"Retry-After": "1"})
        ... api.base_url, api.requests ...
"""
from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

Handler = Callable[..., tuple[int, Any] | tuple[int, Any, dict]]


class _Quiet(WSGIRequestHandler):
    def log(self, *args, **kwargs) -> None:
        pass


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: dict
    headers: dict
    json: Any
    status: int


@dataclass
class _Failure:
    prefix: str
    status: int
    count: int
    headers: dict = field(default_factory=dict)
    body: Any = None


class LocalServer:
    """A threaded WSGI server on 127.0.0.1 with an OS-assigned port; subclasses answer in `_wsgi`."""

    _server = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self):
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_Quiet)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _wsgi(self, environ, start_response):
        raise NotImplementedError


class JsonAPIServer(LocalServer):
    """Threaded HTTP server on 127.0.0.1 with an OS-assigned port; routes are `<name>` patterns."""

    def __init__(self, auth: Callable[[dict], bool] | None = None, unauthorized_body: Any = None):
        self.auth = auth
        self.unauthorized_body = unauthorized_body or {"error": "Unauthorized"}
        self._routes: list[tuple[str, re.Pattern, Handler]] = []
        self._failures: list[_Failure] = []
        self._seen: list[Seen] = []
        self._lock = threading.Lock()
        self._server = None

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """Answer `method pattern` with handler(request, **path_params) -> (status, json[, headers])."""
        escaped = re.escape(pattern).replace(r"\<", "<").replace(r"\>", ">")
        regex = re.compile("^" + re.sub(r"<(\w+)>", r"(?P<\1>[^/]+?)", escaped) + "$")
        self._routes.append((method.upper(), regex, handler))

    def fail_next(self, path_prefix: str, status: int, count: int = 1, headers: dict | None = None, body: Any = None) -> None:
        with self._lock:
            self._failures.append(_Failure(path_prefix, status, count, headers or {}, body))

    @property
    def requests(self) -> list[Seen]:
        with self._lock:
            return list(self._seen)

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        status, body, headers = self._answer(request)
        with self._lock:
            self._seen.append(Seen(request.method, request.path, request.args.to_dict(flat=False),
                                   dict(request.headers), request.get_json(silent=True), status))
        response = Response(json.dumps(body), status=status, headers=headers, content_type="application/json")
        return response(environ, start_response)

    def _answer(self, request: Request) -> tuple[int, Any, dict]:
        forced = self._take_failure(request.path)
        if forced is not None:
            return forced.status, forced.body if forced.body is not None else {"error": f"forced {forced.status}"}, forced.headers
        if self.auth is not None and not self.auth(dict(request.headers)):
            return 401, self.unauthorized_body, {}
        for method, regex, handler in self._routes:
            match = regex.match(request.path)
            if match and method == request.method:
                result = handler(request, **match.groupdict())
                return (*result, {}) if len(result) == 2 else result
        return 404, {"error": "not found", "path": request.path}, {}

    def _take_failure(self, path: str) -> _Failure | None:
        with self._lock:
            for failure in self._failures:
                if path.startswith(failure.prefix) and failure.count > 0:
                    failure.count -= 1
                    return failure
        return None
