"""Zendesk: the environment settings this connector reads, typed and described."""
from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from connectors.common.config import VendorConfig, reveal


class ZendeskConfig(VendorConfig):
    """Zendesk settings; the field names are the fixed environment variable names."""

    source: ClassVar[str] = "zendesk"
    title: ClassVar[str] = "Zendesk"
    secret_field: ClassVar[str] = "zendesk_webhook_secret"

    zendesk_webhook_secret: SecretStr | None = Field(
        None, description="The webhook's signing secret (Admin Center → Webhooks → Reveal secret)")
    zendesk_subdomain: str | None = Field(None, description="Your Zendesk subdomain, e.g. `acme` for acme.zendesk.com")
    zendesk_email: str | None = Field(None, description="The agent e-mail the API token belongs to")
    zendesk_api_token: SecretStr | None = Field(
        None, description="API token (Admin Center → Apps and integrations → Zendesk API) for requesters and tags")
    zendesk_api_base: str | None = Field(
        None, description="Zendesk API address; default https://<ZENDESK_SUBDOMAIN>.zendesk.com")

    def api_settings(self) -> dict[str, str]:
        """Base URL and credentials for the provider API ('' where unset)."""
        subdomain = self.zendesk_subdomain
        base = self.zendesk_api_base or (f"https://{subdomain}.zendesk.com" if subdomain else "")
        return {"base_url": base, "email": self.zendesk_email or "", "api_token": reveal(self.zendesk_api_token)}
