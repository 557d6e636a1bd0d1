"""HubSpot: the environment settings this connector reads, typed and described."""
from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from connectors.common.config import VendorConfig, reveal
from connectors.hubspot import defaults


class HubSpotConfig(VendorConfig):
    """HubSpot settings; the field names are the fixed environment variable names."""

    source: ClassVar[str] = "hubspot"
    title: ClassVar[str] = "HubSpot"
    secret_field: ClassVar[str] = "hubspot_client_secret"

    hubspot_client_secret: SecretStr | None = Field(
        None, description="The app's client secret, which signs HubSpot webhooks (X-HubSpot-Signature-v3)")
    hubspot_access_token: SecretStr | None = Field(
        None, description="Private-app access token; set, it makes HubSpot the CRM (unset: the built-in CRM sink)")
    hubspot_api_base: str = Field(
        defaults.HUBSPOT_API_BASE, description="HubSpot API address (tests point it at a local server)")
    hubspot_tier: str = Field(
        "starter",
        description=(
            "`starter`/`free` (100 requests per 10 s) or `professional`/`enterprise` (190), until HubSpot's rate-"
            "limit headers say otherwise"),
    )
    hubspot_portal_id: str | None = Field(
        None, description="Your HubSpot account (portal) id, for links from answers to contact records")
    hubspot_default_owner_id: str | None = Field(
        None, description="Owner of follow-up tasks for contacts that have no owner")

    def api_settings(self) -> dict[str, str]:
        """Base URL and credentials for the provider API ('' where unset)."""
        return {"base_url": self.hubspot_api_base, "access_token": reveal(self.hubspot_access_token)}
