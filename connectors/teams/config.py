"""Microsoft Teams: the environment settings alerts read, typed and described."""
from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from connectors.common.config import VendorConfig


class TeamsConfig(VendorConfig):
    """Teams incoming-webhook settings; the field names are the fixed environment variable names."""

    source: ClassVar[str] = "teams"
    title: ClassVar[str] = "Microsoft Teams"

    teams_webhook_url: SecretStr | None = Field(
        None, description="Incoming webhook (or Workflows) URL of a Teams channel; the URL itself is the secret")
