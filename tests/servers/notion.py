"""A local Notion API server: the /v1/pages contract, on top of the JSON API test server.

POST /v1/pages needs `Authorization: Bearer <token>` (else 401 `unauthorized`) and a `Notion-Version`
header (else 400 `missing_version`); the parent must be a known database (else 404 `object_not_found`);
`properties` must hold a title, children at most 100 blocks, rich text at most 2000 characters (else 400
`validation_error`). `fail_next("/v1/pages", 429, headers={"Retry-After": "2"})` rate-limits.
"""
from __future__ import annotations

import uuid

from tests.servers.json_api import JsonAPIServer


def _error(status: int, code: str, message: str) -> tuple[int, dict]:
    return status, {"object": "error", "status": status, "code": code, "message": message}


class NotionServer(JsonAPIServer):
    """Pages created are kept in `pages` (the request bodies, with their new ids)."""

    def __init__(self, token: str = "secret_notion_token", database_id: str | None = None):
        super().__init__(auth=lambda h: h.get("Authorization") == f"Bearer {token}",
                         unauthorized_body={"object": "error", "status": 401, "code": "unauthorized",
                                            "message": "API token is invalid."})
        self.token, self.database_id = token, database_id or str(uuid.uuid4())
        self.pages: list[dict] = []
        self.route("POST", "/v1/pages", self._create_page)

    def _create_page(self, request):
        if not request.headers.get("Notion-Version"):
            return _error(400, "missing_version", "Notion-Version header failed validation.")
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return _error(400, "invalid_json", "Error parsing JSON body.")
        parent = body.get("parent") or {}
        if (parent.get("database_id") or parent.get("data_source_id")) not in (self.database_id,):
            return _error(404, "object_not_found",
                          "Could not find database. Make sure it is shared with the integration.")
        titles = [p for p in (body.get("properties") or {}).values() if isinstance(p, dict) and "title" in p]
        if not titles:
            return _error(400, "validation_error", "body.properties should define a title property.")
        children = body.get("children") or []
        if len(children) > 100:
            return _error(400, "validation_error", "body.children.length should be ≤ `100`.")
        for block in children:
            kind = block.get("type")
            for rich in (block.get(kind) or {}).get("rich_text", []):
                if len(rich.get("text", {}).get("content", "")) > 2000:
                    return _error(400, "validation_error",
                                  "body.children.rich_text.text.content.length should be ≤ `2000`.")
        page = {"object": "page", "id": str(uuid.uuid4()), **body}
        self.pages.append(page)
        return 200, page
