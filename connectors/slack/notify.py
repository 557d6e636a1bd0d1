"""Slack incoming webhook: alerts and digests as Block Kit messages."""
from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from connectors.common.config import reveal
from connectors.common.webhook_post import post_json
from connectors.notify import AlertMessage, DeliveryError, DigestMessage
from connectors.slack.config import SlackConfig

MAX_TEXT = 2900  # Slack's section text limit is 3000 characters


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
    """Block Kit: a header, then one section per digest part."""
    blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text", "text": digest.title[:150]}}]
    for heading, lines in digest.sections:
        text = f"*{_esc(heading)}*\n" + "\n".join(_esc(line) for line in lines)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:MAX_TEXT]}})
    return blocks[:50]


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
