"""Intercom: the environment settings this connector reads, typed and described."""
from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from connectors.common.config import VendorConfig, reveal


class IntercomConfig(VendorConfig):
    """Intercom settings; the field names are the fixed environment variable names."""

    source: ClassVar[str] = "intercom"
    title: ClassVar[str] = "Intercom"
    secret_field: ClassVar[str] = "intercom_client_secret"

    intercom_client_secret: SecretStr | None = Field(
        None, description="The app's client secret (Developer Hub → Basic information), which signs webhooks")
    intercom_access_token: SecretStr | None = Field(
        None, description="Access token for fetching a lead's contact details and tagging conversations")
    intercom_admin_id: str | None = Field(
        None, description="The teammate tags are applied as; default: the token's own (GET /me)")
    intercom_api_base: str = Field(
        "https://api.intercom.io", description="Intercom API address (tests and proxies override it)")

    def api_settings(self) -> dict[str, str]:
        """Base URL and credentials for the provider API ('' where unset)."""
        return {"base_url": self.intercom_api_base, "access_token": reveal(self.intercom_access_token),
                "admin_id": self.intercom_admin_id or ""}
