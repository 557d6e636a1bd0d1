"""Dialpad: the environment settings this connector reads, typed and described."""
from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from connectors.common.config import VendorConfig, reveal


class DialpadConfig(VendorConfig):
    """Dialpad settings; the field names are the fixed environment variable names."""

    source: ClassVar[str] = "dialpad"
    title: ClassVar[str] = "Dialpad"
    secret_field: ClassVar[str] = "dialpad_webhook_secret"

    dialpad_webhook_secret: SecretStr | None = Field(
        None, description="The webhook's secret (HS256 JWT key) given when the webhook was created")
    dialpad_api_key: SecretStr | None = Field(None, description="API key for fetching call transcripts")
    dialpad_api_base: str = Field(
        "https://dialpad.com", description="Dialpad API address (tests and proxies override it)")

    def api_settings(self) -> dict[str, str]:
        """Base URL and credentials for the provider API ('' where unset)."""
        return {"base_url": self.dialpad_api_base, "api_key": reveal(self.dialpad_api_key)}
