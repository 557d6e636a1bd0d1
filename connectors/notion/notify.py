"""Notion: each digest becomes a page in NOTION_DATABASE_ID, through the official notion-client."""
from __future__ import annotations

from connectors.common import defaults
from connectors.common.config import reveal
from connectors.notify import AlertMessage, DeliveryError, DigestMessage
from connectors.notion.config import NotionConfig

MAX_TEXT = 2000  # Notion's limit per rich-text item


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
        """One page: a heading per section, a bullet per line."""
        self._create(digest.title, page_blocks(digest))

    def _create(self, title: str, blocks: list[dict]) -> None:
        from notion_client import APIResponseError
        from notion_client.errors import HTTPResponseError, RequestTimeoutError

        try:
            self._client.pages.create(parent={"database_id": self._database},
                                      properties={"Name": {"title": [_text(title)]}}, children=blocks[:100])
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
    """The page's children: heading_2 per section, bulleted_list_item per line."""
    blocks = []
    for heading, lines in digest.sections:
        blocks.append(_heading(heading))
        blocks += [_bullet(line) for line in lines]
    return blocks


def _text(content: str) -> dict:
    return {"type": "text", "text": {"content": content[:MAX_TEXT]}}


def _heading(content: str) -> dict:
    return {"object": "block", "type": "heading_2", "heading_2": {"rich_text": [_text(content)]}}


def _bullet(content: str) -> dict:
    return {"object": "block", "type": "bulleted_list_item", "bulleted_list_item": {"rich_text": [_text(content)]}}
