"""A local Slack incoming-webhook server that honours the real contract.

POST /services/<T>/<B>/<secret> with a JSON body holding `text`, `blocks` or `attachments`
(Teams cards reuse this server): 200 `ok`. A body that is
not JSON, or has neither, or more than 50 blocks: 400 `invalid_payload` (`no_text` when empty); a block past
Slack's text limits (header 150, section 3000 characters): 400 `invalid_blocks`. An
unknown webhook path: 404 `no_service`. Tests can revoke a hook (410 `no_service`), forbid it (403
`invalid_token`) or rate-limit the next calls (429 `rate_limited` with Retry-After), or fail with 5xx.

    with SlackServer() as slack:
        url = slack.hook_url()            # a valid webhook URL on this server
        slack.fail_next(429, count=1, retry_after=1)
        ... slack.messages ...            # the JSON payloads accepted (200 ok)
"""
from __future__ import annotations

import json
import threading
import uuid

from werkzeug.wrappers import Request, Response

from tests.servers.json_api import LocalServer

BODIES = {400: "invalid_payload", 403: "invalid_token", 404: "no_service", 410: "no_service", 429: "rate_limited",
          500: "internal_error", 503: "service_unavailable"}


class SlackServer(LocalServer):
    """Threaded server on 127.0.0.1; records accepted messages and every answer's status."""

    def __init__(self):
        self.messages: list[dict] = []
        self.statuses: list[int] = []
        self._hooks: dict[str, int] = {}  # path -> status (200 live, 403/410 refused)
        self._failures: list[list] = []  # [status, count, retry_after]
        self._lock = threading.Lock()
        self._server = None

    def hook_url(self) -> str:
        """A new live webhook URL."""
        path = f"/services/T{uuid.uuid4().hex[:8].upper()}/B{uuid.uuid4().hex[:8].upper()}/{uuid.uuid4().hex}"
        self._hooks[path] = 200
        return self.base_url + path

    def revoke(self, url: str, status: int = 410) -> None:
        """The hook is removed (410 no_service) or its token is no longer valid (403)."""
        self._hooks[url.removeprefix(self.base_url)] = status

    def fail_next(self, status: int, count: int = 1, retry_after: int | None = None) -> None:
        with self._lock:
            self._failures.append([status, count, retry_after])

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        status, body, headers = self._answer(request)
        with self._lock:
            self.statuses.append(status)
        return Response(body, status=status, headers=headers, content_type="text/html")(environ, start_response)

    def _answer(self, request: Request) -> tuple[int, str, dict]:
        if request.method != "POST":
            return 405, "invalid_method", {}
        hook = self._hooks.get(request.path)
        if hook is None:
            return 404, "no_service", {}
        if hook != 200:
            return hook, BODIES[hook], {}
        with self._lock:
            for failure in self._failures:
                if failure[1] > 0:
                    failure[1] -= 1
                    headers = {"Retry-After": str(failure[2])} if failure[2] is not None else {}
                    return failure[0], BODIES.get(failure[0], "error"), headers
        try:
            payload = json.loads(request.get_data(as_text=True))
        except ValueError:
            return 400, "invalid_payload", {}
        if not isinstance(payload, dict) or len(payload.get("blocks") or ()) > 50:
            return 400, "invalid_payload", {}
        if not payload.get("text") and not payload.get("blocks") and not payload.get("attachments"):
            return 400, "no_text", {}
        for block in payload.get("blocks") or ():
            if not isinstance(block, dict) or "type" not in block or not _block_fits(block):
                return 400, "invalid_blocks", {}
        with self._lock:
            self.messages.append(payload)
        return 200, "ok", {}


def _block_fits(block: dict) -> bool:
    """Slack's documented text limits: a header's text 150 characters, a section's 3000, a field 2000,
    at most 10 fields; a context at most 10 elements."""
    text = (block.get("text") or {}).get("text", "")
    if block["type"] == "header":
        return len(text) <= 150
    if block["type"] == "section":
        fields = block.get("fields") or []
        return (len(text) <= 3000 and len(fields) <= 10 and all(len(f.get("text", "")) <= 2000 for f in fields)
                and bool(text or fields))
    if block["type"] == "context":
        elements = block.get("elements") or []
        return 0 < len(elements) <= 10 and all(len(e.get("text", "")) <= 3000 for e in elements)
    return True
