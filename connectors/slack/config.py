"""Slack: the environment settings alerts and digests read, typed and described."""
from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from connectors.common.config import VendorConfig


class SlackConfig(VendorConfig):
    """Slack incoming-webhook settings; the field names are the fixed environment variable names."""

    source: ClassVar[str] = "slack"
    title: ClassVar[str] = "Slack"

    slack_webhook_url: SecretStr | None = Field(
        None, description="Incoming webhook URL (Slack app → Incoming Webhooks); the URL itself is the secret")
    slack_api_base: str | None = Field(
        None, description="Replaces the webhook URL's scheme and host (tests and proxies); default hooks.slack.com")
