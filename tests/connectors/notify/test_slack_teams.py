"""Slack and Teams notifiers against the local incoming-webhook server: every answer of the contract."""
from __future__ import annotations

import pytest

from connectors.notify import AlertMessage, DeliveryError, DigestMessage
from connectors.slack.config import SlackConfig
from connectors.slack.notify import SlackNotifier
from connectors.teams.config import TeamsConfig
from connectors.teams.notify import TeamsNotifier
from tests.servers.slack import SlackServer

ALERT = AlertMessage("Escalation: asked for a manager", ({
    "heading": "Ann Lee: asked for a manager", "facts": [("Channel", "call"), ("Score", "-0.8 (negative)")],
    "quote": "I want to speak to your manager", "links": [("CRM record", "https://crm.example/1")]},))


@pytest.fixture
def slack():
    with SlackServer() as server:
        yield server


def test_alert_is_one_block_kit_message(slack):
    SlackNotifier(SlackConfig(slack_webhook_url=slack.hook_url(), _env_file=None)).send_alert(ALERT)
    assert len(slack.messages) == 1
    blocks = slack.messages[0]["blocks"]
    assert blocks[0]["type"] == "header" and "manager" in blocks[0]["text"]["text"]
    assert any(b["type"] == "actions" and b["elements"][0]["url"] == "https://crm.example/1" for b in blocks)
    assert any("&gt; I want to speak" in b.get("text", {}).get("text", "") or
               "> I want to speak" in b.get("text", {}).get("text", "") for b in blocks)


def test_digest_sections(slack):
    digest = DigestMessage("Week 48", "2026-W48", (("Mix", ("12 negative", "30 positive")),))
    SlackNotifier(SlackConfig(slack_webhook_url=slack.hook_url(), _env_file=None)).send_digest(digest)
    assert "12 negative" in slack.messages[0]["blocks"][1]["text"]["text"]


@pytest.mark.parametrize("status", [403, 404, 410])
def test_refused_hook_is_permanent_and_hides_the_url(slack, status):
    url = slack.hook_url()
    if status == 404:
        url = url + "x"  # no such hook
    else:
        slack.revoke(url, status)
    with pytest.raises(DeliveryError) as caught:
        SlackNotifier(SlackConfig(slack_webhook_url=url, _env_file=None)).send_alert(ALERT)
    assert caught.value.status == status and caught.value.retryable is False
    assert url.rsplit("/", 1)[-1] not in str(caught.value)
    assert slack.messages == []


def test_rate_limit_is_retryable_with_retry_after(slack):
    slack.fail_next(429, retry_after=7)
    with pytest.raises(DeliveryError) as caught:
        SlackNotifier(SlackConfig(slack_webhook_url=slack.hook_url(), _env_file=None)).send_alert(ALERT)
    assert (caught.value.status, caught.value.retryable, caught.value.retry_after_s) == (429, True, 7.0)


def test_server_error_is_retryable(slack):
    slack.fail_next(503)
    with pytest.raises(DeliveryError) as caught:
        SlackNotifier(SlackConfig(slack_webhook_url=slack.hook_url(), _env_file=None)).send_alert(ALERT)
    assert caught.value.retryable is True


def test_invalid_payload_is_permanent(slack):
    with pytest.raises(DeliveryError) as caught:
        SlackNotifier(SlackConfig(slack_webhook_url=slack.hook_url(), _env_file=None))._post({"text": ""})
    assert caught.value.retryable is False and caught.value.status == 400


def test_api_base_override_replaces_the_host(slack):
    url = slack.hook_url()
    real_looking = "https://hooks.slack.com" + url.removeprefix(slack.base_url)
    config = SlackConfig(slack_webhook_url=real_looking, slack_api_base=slack.base_url, _env_file=None)
    SlackNotifier(config).send_alert(ALERT)
    assert len(slack.messages) == 1


def test_unset_url_is_a_clear_permanent_error():
    with pytest.raises(DeliveryError, match="SLACK_WEBHOOK_URL"):
        SlackNotifier(SlackConfig(_env_file=None))


def test_teams_adaptive_card(slack):
    TeamsNotifier(TeamsConfig(teams_webhook_url=slack.hook_url(), _env_file=None)).send_alert(ALERT)
    card = slack.messages[0]["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["type"] == "AdaptiveCard"
    assert card["content"]["actions"][0]["url"] == "https://crm.example/1"


def test_teams_refused_hook_is_permanent(slack):
    url = slack.hook_url()
    slack.revoke(url, 410)
    with pytest.raises(DeliveryError) as caught:
        TeamsNotifier(TeamsConfig(teams_webhook_url=url, _env_file=None)).send_alert(ALERT)
    assert caught.value.retryable is False
