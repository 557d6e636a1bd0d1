"""Microsoft Teams incoming webhook: alerts and digests as Adaptive Cards."""
from __future__ import annotations

from connectors.common.config import reveal
from connectors.common.webhook_post import post_json
from connectors.notify import AlertMessage, DeliveryError, DigestMessage
from connectors.teams.config import TeamsConfig


class TeamsNotifier:
    """Posts an Adaptive Card attachment to TEAMS_WEBHOOK_URL."""

    name = "teams"

    def __init__(self, config: TeamsConfig):
        self._url = reveal(config.teams_webhook_url)
        if not self._url:
            raise DeliveryError("TEAMS_WEBHOOK_URL is not set", retryable=False)

    def send_alert(self, alert: AlertMessage) -> None:
        """One card, however many alerts it carries."""
        body: list[dict] = [_title(alert.title)]
        actions = []
        for item in alert.items:
            body.append({"type": "TextBlock", "weight": "Bolder", "text": item["heading"], "wrap": True})
            body.append({"type": "FactSet", "facts": [{"title": k, "value": str(v)} for k, v in item.get("facts", ())]})
            if item.get("quote"):
                body.append({"type": "TextBlock", "text": f"“{item['quote']}”", "isSubtle": True, "wrap": True})
            links = [(label, url) for label, url in item.get("links", ()) if url]
            actions += [{"type": "Action.OpenUrl", "title": label, "url": url} for label, url in links]
        post_json(self._url, _card(body, actions[:6]), "Teams")

    def send_digest(self, digest: DigestMessage) -> None:
        """The digest's sections as text blocks."""
        body: list[dict] = [_title(digest.title)]
        for heading, lines in digest.sections:
            body.append({"type": "TextBlock", "weight": "Bolder", "text": heading, "wrap": True})
            body.append({"type": "TextBlock", "text": "\n\n".join(lines) or "-", "wrap": True})
        post_json(self._url, _card(body, []), "Teams")


def _title(text: str) -> dict:
    return {"type": "TextBlock", "size": "Large", "weight": "Bolder", "text": text, "wrap": True}


def _card(body: list[dict], actions: list[dict]) -> dict:
    content = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
               "version": "1.4", "body": body, "actions": actions}
    return {"type": "message",
            "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": content}]}
