"""The Notion notifier through the official notion-client against the local /v1/pages server."""
from __future__ import annotations

import pytest

from connectors.notify import DeliveryError, DigestMessage
from connectors.notion.config import NotionConfig
from connectors.notion.notify import NotionNotifier
from tests.servers.notion import NotionServer

DIGEST = DigestMessage("Undertone weekly digest, 2026-W48", "2026-W48",
                       (("Mix", ("12 negative", "30 positive")), ("Top themes", ("billing: 5", "x" * 2500))))


@pytest.fixture
def notion():
    with NotionServer() as server:
        yield server


def notifier(notion, **overrides) -> NotionNotifier:
    values = dict(notion_token=notion.token, notion_database_id=notion.database_id, notion_api_base=notion.base_url)
    return NotionNotifier(NotionConfig(_env_file=None, **{**values, **overrides}))


def test_digest_becomes_one_page_with_blocks(notion):
    notifier(notion).send_digest(DIGEST)
    (page,) = notion.pages
    assert page["properties"]["Name"]["title"][0]["text"]["content"] == DIGEST.title
    kinds = [b["type"] for b in page["children"]]
    assert kinds == ["heading_2", "bulleted_list_item", "bulleted_list_item", "heading_2", "bulleted_list_item",
                     "bulleted_list_item"]
    assert notion.requests[0].headers.get("Notion-Version")


def test_bad_token_is_permanent(notion):
    with pytest.raises(DeliveryError) as caught:
        notifier(notion, notion_token="wrong").send_digest(DIGEST)
    assert caught.value.status == 401 and caught.value.retryable is False and "wrong" not in str(caught.value)


def test_rate_limit_is_retryable(notion):
    notion.fail_next("/v1/pages", 429, headers={"Retry-After": "2"},
                     body={"object": "error", "status": 429, "code": "rate_limited", "message": "slow down"})
    with pytest.raises(DeliveryError) as caught:
        notifier(notion).send_digest(DIGEST)
    assert caught.value.status == 429 and caught.value.retryable is True
    assert notion.pages == []


def test_unknown_database_is_permanent(notion):
    with pytest.raises(DeliveryError) as caught:
        notifier(notion, notion_database_id="not-shared").send_digest(DIGEST)
    assert caught.value.status == 404 and caught.value.retryable is False


def test_validation_error_is_permanent(notion):
    too_many = DigestMessage("t", "w", (("Many", tuple(str(i) for i in range(120))),))
    with pytest.raises(DeliveryError) as caught:
        long_text = {"type": "text", "text": {"content": "x" * 2001}}  # past Notion's limit: 400 validation_error
        notifier(notion)._create("t", [{"type": "paragraph", "paragraph": {"rich_text": [long_text]}}])
    assert caught.value.status == 400 and caught.value.retryable is False
    notifier(notion).send_digest(too_many)  # the notifier itself keeps to 100 blocks and 2000 characters
    assert len(notion.pages[0]["children"]) == 100
