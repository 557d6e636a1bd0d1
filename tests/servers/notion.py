"""A local Notion API server: the /v1/pages contract, on top of the JSON API test server.

POST /v1/pages needs `Authorization: Bearer <token>` (else 401 `unauthorized`) and a `Notion-Version`
header (else 400 `missing_version`); the parent must be a known database (else 404 `object_not_found`);
`properties` must hold a title, children at most 100 blocks, rich text at most 2000 characters (else 400
`validation_error`; table rows must have table_width cells). PATCH /v1/blocks/<page id>/children appends up to
100 blocks to a page made here. `fail_next("/v1/pages", 429, headers={"Retry-After": "2"})` rate-limits.
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
        self.route("PATCH", "/v1/blocks/<block_id>/children", self._append_children)

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
        problem = _check_children(body.get("children") or [])
        if problem:
            return problem
        page = {"object": "page", "id": str(uuid.uuid4()), **body}
        self.pages.append(page)
        return 200, page

    def _append_children(self, request, block_id):
        """PATCH /v1/blocks/{id}/children: append up to 100 blocks to a page made here."""
        if not request.headers.get("Notion-Version"):
            return _error(400, "missing_version", "Notion-Version header failed validation.")
        page = next((p for p in self.pages if p["id"] == block_id), None)
        if page is None:
            return _error(404, "object_not_found", f"Could not find block with ID: {block_id}.")
        body = request.get_json(silent=True) or {}
        children = body.get("children")
        if not isinstance(children, list) or not children:
            return _error(400, "validation_error", "body.children should be defined.")
        problem = _check_children(children)
        if problem:
            return problem
        page.setdefault("children", []).extend(children)
        return 200, {"object": "list", "results": children}


def _check_children(children: list) -> tuple[int, dict] | None:
    """Notion's limits on blocks in a request: 100 per array, 2000 characters and 100 items per rich text, a
    table's rows (its children) as many cells as its table_width."""
    if len(children) > 100:
        return _error(400, "validation_error", "body.children.length should be ≤ `100`.")
    for block in children:
        kind = block.get("type")
        content = block.get(kind) or {}
        texts = [content.get("rich_text", [])]
        if kind == "table":
            rows = content.get("children") or []
            if not rows or len(rows) > 100:
                return _error(400, "validation_error", "body.children.table.children should have 1 to 100 rows.")
            for row in rows:
                cells = (row.get("table_row") or {}).get("cells")
                if row.get("type") != "table_row" or not isinstance(cells, list) or \
                        len(cells) != content.get("table_width"):
                    return _error(400, "validation_error", "Number of cells in table row must match table width.")
                texts += cells
        for rich_text in texts:
            if len(rich_text) > 100:
                return _error(400, "validation_error", "rich_text.length should be ≤ `100`.")
            for rich in rich_text:
                if len(rich.get("text", {}).get("content", "")) > 2000:
                    return _error(400, "validation_error",
                                  "body.children.rich_text.text.content.length should be ≤ `2000`.")
                link = (rich.get("text", {}).get("link") or {}).get("url")
                if link is not None and not str(link).startswith(("http://", "https://")):
                    return _error(400, "validation_error", "Invalid URL for link.")
    return None
