"""Aircall: the environment settings this connector reads, typed and described."""
from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from connectors.common.config import VendorConfig, reveal


class AircallConfig(VendorConfig):
    """Aircall settings; the field names are the fixed environment variable names."""

    source: ClassVar[str] = "aircall"
    title: ClassVar[str] = "Aircall"
    secret_field: ClassVar[str] = "aircall_webhook_token"

    aircall_webhook_token: SecretStr | None = Field(
        None, description="The webhook's `token` (Aircall Dashboard → Integrations → Webhook), sent in every body")
    aircall_api_id: str | None = Field(
        None, description="API ID (Aircall Dashboard → Integrations → API keys) for fetching transcripts and summaries")
    aircall_api_token: SecretStr | None = Field(None, description="API token paired with AIRCALL_API_ID")
    aircall_api_base: str = Field(
        "https://api.aircall.io", description="Aircall API address (tests and proxies override it)")

    def api_settings(self) -> dict[str, str]:
        """Base URL and credentials for the provider API ('' where unset)."""
        return {"base_url": self.aircall_api_base, "api_id": self.aircall_api_id or "",
                "api_token": reveal(self.aircall_api_token)}
