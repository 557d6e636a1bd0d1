"""Notion: each digest becomes a page in NOTION_DATABASE_ID, through the official notion-client."""
from __future__ import annotations

from connectors.common import defaults
from connectors.common.config import reveal
from connectors.notify import AlertMessage, DeliveryError, DigestMessage, DigestPart
from connectors.notion.config import NotionConfig

MAX_TEXT = 2000  # Notion's limit per rich-text item
MAX_CHILDREN = 100  # Notion's limit per children array (a page's first blocks, a table's rows, one append)
MAX_TABLE_ROWS = 60  # rows shown per table (the header row included), well inside the 100 children limit


class NotionNotifier:
    """Creates pages with heading and bulleted-list blocks; the title goes in the database's `Name` property."""

    name = "notion"

    def __init__(self, config: NotionConfig):
        from notion_client import Client  # imported on use: workers only

        token = reveal(config.notion_token)
        if not token or not config.notion_database_id:
            raise DeliveryError("NOTION_TOKEN and NOTION_DATABASE_ID must be set", retryable=False)
        options = {"auth": token, "timeout_ms": defaults.HTTP_READ_TIMEOUT_S * 1000, "retry": False}  # the job retries
        if config.notion_api_base:
            options["base_url"] = config.notion_api_base
        self._client, self._database = Client(**options), config.notion_database_id

    def send_alert(self, alert: AlertMessage) -> None:
        """An alert as a page (rarely wanted; Slack or Teams suit alerts better)."""
        blocks = []
        for item in alert.items:
            blocks.append(_heading(item["heading"]))
            blocks += [_bullet(f"{k}: {v}") for k, v in item.get("facts", ())]
        self._create(alert.title, blocks)

    def send_digest(self, digest: DigestMessage) -> None:
        """One page: headings, paragraphs, bulleted lists with links and tables (blocks past the first 100 are
        appended to the page in calls of 100)."""
        blocks = page_blocks(digest)
        page = self._create(digest.title, blocks[:MAX_CHILDREN])
        for start in range(MAX_CHILDREN, len(blocks) if digest.parts else 0, MAX_CHILDREN):
            self._call(lambda chunk=blocks[start:start + MAX_CHILDREN]: self._client.blocks.children.append(
                block_id=page["id"], children=chunk))

    def _create(self, title: str, blocks: list[dict]) -> dict:
        return self._call(lambda: self._client.pages.create(
            parent={"database_id": self._database}, properties={"Name": {"title": [_text(title)]}},
            children=blocks[:MAX_CHILDREN]))

    def _call(self, request):
        from notion_client import APIResponseError
        from notion_client.errors import HTTPResponseError, RequestTimeoutError

        try:
            return request()
        except APIResponseError as exc:
            status = exc.status
            retry = status == 429 or status >= 500
            raise DeliveryError(f"Notion answered {status} {exc.code}: {str(exc)[:200]}", status, retry) from None
        except HTTPResponseError as exc:
            retry = exc.status == 429 or exc.status >= 500
            raise DeliveryError(f"Notion answered {exc.status}", exc.status, retry) from None
        except (RequestTimeoutError, OSError) as exc:
            raise DeliveryError(f"Notion unreachable: {type(exc).__name__}") from None


def page_blocks(digest: DigestMessage) -> list[dict]:
    """The page's children: per part a heading_2, a paragraph of its numbers, a bulleted_list_item per line
    (links as linked text) and a table; without parts, heading_2 per section and a bullet per line."""
    if not digest.parts:
        blocks = []
        for heading, lines in digest.sections:
            blocks.append(_heading(heading))
            blocks += [_bullet(line) for line in lines]
        return blocks
    blocks = [_paragraph([_text(digest.subtitle)])] if digest.subtitle else []
    for part in digest.parts:
        blocks += _part_blocks(part)
    return blocks


def _part_blocks(part: DigestPart) -> list[dict]:
    blocks = [_heading(part.heading)]
    if part.summary:
        blocks.append(_paragraph([_text(part.summary)]))
    for line in part.lines:
        rich = [_text(line.text)]
        for label, url in line.links:
            rich += [_text("  "), _text(label, url)]
        blocks.append({"object": "block", "type": "bulleted_list_item", "bulleted_list_item": {"rich_text": rich}})
    if part.table and part.table.rows:
        rows = [part.table.columns, *part.table.rows][:MAX_TABLE_ROWS]
        blocks.append({"object": "block", "type": "table", "table": {
            "table_width": len(part.table.columns), "has_column_header": True, "has_row_header": False,
            "children": [{"object": "block", "type": "table_row",
                          "table_row": {"cells": [[_text(str(cell))] for cell in row]}} for row in rows]}})
    return blocks


def _text(content: str, url: str | None = None) -> dict:
    text = {"content": content[:MAX_TEXT]}
    if url:
        text["link"] = {"url": url}
    return {"type": "text", "text": text}


def _paragraph(rich: list[dict]) -> dict:
    return {"object": "block", "type": "paragraph", "paragraph": {"rich_text": rich}}


def _heading(content: str) -> dict:
    return {"object": "block", "type": "heading_2", "heading_2": {"rich_text": [_text(content)]}}


def _bullet(content: str) -> dict:
    return {"object": "block", "type": "bulleted_list_item", "bulleted_list_item": {"rich_text": [_text(content)]}}
