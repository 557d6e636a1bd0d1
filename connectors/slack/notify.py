"""Slack incoming webhook: alerts and digests as Block Kit messages."""
from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from connectors.common.config import reveal
from connectors.common.webhook_post import post_json
from connectors.notify import AlertMessage, DeliveryError, DigestMessage, DigestPart
from connectors.slack.config import SlackConfig

MAX_TEXT = 2900  # Slack's section text limit is 3000 characters
MAX_BLOCKS = 50  # Slack's limit per message
MAX_HEADER = 150  # a header block's plain text


class SlackNotifier:
    """Posts Block Kit messages to SLACK_WEBHOOK_URL."""

    name = "slack"

    def __init__(self, config: SlackConfig):
        url = reveal(config.slack_webhook_url)
        if not url:
            raise DeliveryError("SLACK_WEBHOOK_URL is not set", retryable=False)
        if config.slack_api_base:
            base = urlsplit(config.slack_api_base)
            url = urlunsplit((base.scheme, base.netloc, urlsplit(url).path, "", ""))
        self._url = url

    def send_alert(self, alert: AlertMessage) -> None:
        """One message, however many alerts it carries."""
        self._post({"text": alert.title, "blocks": alert_blocks(alert)})

    def send_digest(self, digest: DigestMessage) -> None:
        """The digest's sections as Block Kit sections."""
        self._post({"text": digest.title, "blocks": digest_blocks(digest)})

    def _post(self, payload: dict) -> None:
        body = post_json(self._url, payload, "Slack")
        if body.strip() not in ("ok", ""):
            raise DeliveryError(f"Slack answered {body!r}", 200, retryable=False)


def alert_blocks(alert: AlertMessage) -> list[dict]:
    """Block Kit: a header, then per alert its heading, facts, evidence quote and link buttons."""
    blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text", "text": alert.title[:150]}}]
    for item in alert.items:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*{_esc(item['heading'])}*"[:MAX_TEXT]}})
        facts = [{"type": "mrkdwn", "text": f"*{_esc(k)}*\n{_esc(str(v))}"[:2000]} for k, v in item.get("facts", ())]
        for start in range(0, len(facts), 10):  # at most 10 fields per section
            blocks.append({"type": "section", "fields": facts[start:start + 10]})
        if item.get("quote"):
            quote = f"> {_esc(item['quote'])}"[:MAX_TEXT]
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": quote}})
        buttons = [{"type": "button", "text": {"type": "plain_text", "text": label[:75]}, "url": url}
                   for label, url in item.get("links", ()) if url]
        if buttons:
            blocks.append({"type": "actions", "elements": buttons[:5]})
        blocks.append({"type": "divider"})
    return blocks[:50]  # Slack's limit per message


def digest_blocks(digest: DigestMessage) -> list[dict]:
    """Block Kit: a header, then per part a section (heading, numbers, lines with links) and its table as a
    preformatted section. Kept inside Slack's limits: at most 50 blocks, 3000 characters per text (lines and
    rows that do not fit are counted in an "and N more" line, never cut mid-link)."""
    blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text", "text": digest.title[:MAX_HEADER]}}]
    if digest.subtitle:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _esc(digest.subtitle)[:MAX_TEXT]}]})
    if not digest.parts:
        for heading, lines in digest.sections:
            text = f"*{_esc(heading)}*\n" + "\n".join(_esc(line) for line in lines)
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:MAX_TEXT]}})
        return blocks[:MAX_BLOCKS]
    for part in digest.parts:
        blocks += _part_blocks(part)
    if len(blocks) > MAX_BLOCKS:
        blocks = blocks[:MAX_BLOCKS - 1] + [{"type": "context", "elements": [
            {"type": "mrkdwn", "text": "The rest did not fit in one Slack message: see the e-mail or Notion digest."}]}]
    return blocks


def _part_blocks(part: DigestPart) -> list[dict]:
    head = f"*{_esc(part.heading)}*" + (f"\n{_esc(part.summary)}" if part.summary else "")
    lines = [f"• {_esc(line.text)}" + "".join(f"  <{_url(url)}|{_esc(label)}>" for label, url in line.links)
             for line in part.lines]
    blocks = [{"type": "divider"}, _section(_fit(head[:MAX_TEXT], lines, "lines"))]
    if part.table and part.table.rows:
        rows = [_row(part.table.columns, part.table.columns, part.table.rows)]
        rows += [_row(r, part.table.columns, part.table.rows) for r in part.table.rows]
        body = _fit("```" + rows[0], rows[1:], "rows", close="```")
        blocks.append(_section(body))
    return blocks


def _fit(head: str, lines: list[str], what: str, close: str = "") -> str:
    """`head` and as many whole lines as fit in one text, then how many were left out."""
    text, kept = head, 0
    for line in lines:
        room = MAX_TEXT - len(close) - 40  # keep room for the "and N more" line
        if len(text) + 1 + len(line) > room:
            break
        text, kept = f"{text}\n{line}", kept + 1
    if kept < len(lines):
        text += f"\n… and {len(lines) - kept} more {what}"
    return text + close


def _row(cells, columns, rows) -> str:
    widths = [min(max(len(str(c)) for c in col), 24) for col in zip(columns, *rows)]
    return "  ".join(_esc(str(c)[:24]).ljust(w) for c, w in zip(cells, widths)).rstrip()


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _url(url: str) -> str:
    """A URL inside <url|label>: the characters that would end the link are percent-encoded."""
    return url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C").replace(" ", "%20")


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
