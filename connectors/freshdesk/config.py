"""Freshdesk: the environment settings this connector reads, typed and described."""
from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from connectors.common.config import VendorConfig, reveal


class FreshdeskConfig(VendorConfig):
    """Freshdesk settings; the field names are the fixed environment variable names."""

    source: ClassVar[str] = "freshdesk"
    title: ClassVar[str] = "Freshdesk"
    secret_field: ClassVar[str] = "freshdesk_webhook_token"

    freshdesk_webhook_token: SecretStr | None = Field(
        None, description="A shared token you put in the automation rule's webhook (basic auth, header or ?token=)")
    freshdesk_domain: str | None = Field(None, description="Your Freshdesk domain, e.g. acme.freshdesk.com")
    freshdesk_api_key: SecretStr | None = Field(
        None, description="API key (Profile settings → API key) for the latest conversation and tags")
    freshdesk_api_base: str | None = Field(
        None, description="Freshdesk API address; default https://<FRESHDESK_DOMAIN>")

    def api_settings(self) -> dict[str, str]:
        """Base URL and credentials for the provider API ('' where unset)."""
        base = self.freshdesk_api_base or (f"https://{self.freshdesk_domain}" if self.freshdesk_domain else "")
        return {"base_url": base, "api_key": reveal(self.freshdesk_api_key)}
