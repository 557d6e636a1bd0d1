"""The digest's parts rendered per destination, within each one's limits: Slack (50 blocks, 3000 characters per
text, header 150), Notion (headings, paragraphs, bulleted lists with links, tables; 100 blocks per call, the
rest appended), e-mail (HTML tables and bars that mail clients render, and a plain-text alternative)."""
from __future__ import annotations

from connectors.email.digest_html import render
from connectors.notify import DigestBar, DigestLine, DigestMessage, DigestPart, DigestTable
from connectors.notion.config import NotionConfig
from connectors.notion.notify import NotionNotifier
from connectors.slack.config import SlackConfig
from connectors.slack.notify import SlackNotifier, digest_blocks
from tests.servers.notion import NotionServer
from tests.servers.slack import SlackServer

LINK = ("Interaction", "https://undertone.example/admin/interactions/7")


def big_digest(parts: int = 30, lines: int = 60, rows: int = 150) -> DigestMessage:
    made = tuple(DigestPart(
        f"Part {p} " + "h" * 200, f"Summary of part {p} <with> & marks",
        tuple(DigestLine(f"Customer {n}: {'very long complaint ' * 8}", (LINK, ("CRM record", "https://crm/x|y>z")))
              for n in range(lines)),
        DigestTable(("Agent", "Interactions", "Negative"), tuple((f"agent {n}", str(n), str(n // 2))
                                                                 for n in range(rows))),
        (DigestBar("This week", (("negative", 3), ("positive", 5))),)) for p in range(parts))
    return DigestMessage("Undertone weekly digest, 2026-W48 " + "t" * 200, "2026-W48", parts=made,
                         subtitle="Mon 23 Nov to Sun 29 Nov 2026 (UTC)", text="plain")


def test_slack_digest_keeps_to_slacks_limits_and_is_accepted():
    digest = big_digest()
    blocks = digest_blocks(digest)
    assert len(blocks) <= 50
    assert len(blocks[0]["text"]["text"]) <= 150
    texts = [b["text"]["text"] for b in blocks if "text" in b]
    assert texts and max(len(t) for t in texts) <= 3000
    assert any("… and " in t and "more lines" in t for t in texts)
    assert any(t.startswith("```") and "more rows" in t for t in texts)
    assert blocks[-1]["type"] == "context" and "did not fit" in blocks[-1]["elements"][0]["text"]
    assert "<https://crm/x%7Cy%3Ez|CRM record>" in texts[1]  # a link's | and > cannot break out of it
    assert "&lt;with&gt; &amp; marks" in texts[1]
    with SlackServer() as slack:
        SlackNotifier(SlackConfig(slack_webhook_url=slack.hook_url(), _env_file=None)).send_digest(digest)
        assert slack.statuses == [200] and slack.messages[0]["blocks"] == blocks


def test_a_small_digest_is_whole_in_slack():
    digest = big_digest(parts=3, lines=2, rows=2)
    blocks = digest_blocks(digest)
    assert [b["type"] for b in blocks] == ["header", "context"] + ["divider", "section", "section"] * 3
    assert "more" not in str(blocks)


def test_notion_page_has_headings_lists_with_links_and_tables_and_appends_past_100_blocks():
    digest = big_digest(parts=4, lines=40, rows=80)
    with NotionServer() as notion:
        config = NotionConfig(notion_token=notion.token, notion_database_id=notion.database_id,
                              notion_api_base=notion.base_url, _env_file=None)
        NotionNotifier(config).send_digest(digest)
        (page,) = notion.pages
        children = page["children"]
        appends = [r for r in notion.requests if r.method == "PATCH"]
    assert len(children) == 1 + 4 * (2 + 40 + 1) and len(appends) == 1  # 173 blocks: 100, then 73 appended
    kinds = [b["type"] for b in children]
    assert kinds[:4] == ["paragraph", "heading_2", "paragraph", "bulleted_list_item"]
    assert kinds.count("table") == 4 and kinds.count("heading_2") == 4
    bullet = children[3]["bulleted_list_item"]["rich_text"]
    assert bullet[2]["text"] == {"content": "Interaction", "link": {"url": LINK[1]}}
    table = next(b for b in children if b["type"] == "table")["table"]
    assert table["table_width"] == 3 and table["has_column_header"]
    assert len(table["children"]) == 60  # rows shown, header included
    assert table["children"][0]["table_row"]["cells"][0][0]["text"]["content"] == "Agent"


def test_email_html_has_tables_bars_and_links_and_nothing_active():
    html = render(big_digest(parts=2, lines=2, rows=3))
    assert html.startswith("<!doctype html>") and "<script" not in html.lower() and "<link" not in html
    assert html.count("<table") >= 4 and 'bgcolor="#c0392b"' in html and 'bgcolor="#1e8449"' in html
    assert '<a href="https://undertone.example/admin/interactions/7"' in html
    assert "&lt;with&gt; &amp; marks" in html
