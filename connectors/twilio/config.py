"""Twilio: the environment settings this connector reads, typed and described."""
from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from connectors.common.config import VendorConfig, reveal


class TwilioConfig(VendorConfig):
    """Twilio settings; the field names are the fixed environment variable names."""

    source: ClassVar[str] = "twilio"
    title: ClassVar[str] = "Twilio"
    secret_field: ClassVar[str] = "twilio_auth_token"

    twilio_auth_token: SecretStr | None = Field(
        None, description="Account auth token: signs Twilio's webhooks (X-Twilio-Signature) and authenticates the API")
    twilio_account_sid: str | None = Field(
        None, description="Account SID (AC…), needed to fetch a recording's transcriptions and call details")
    twilio_api_base: str = Field(
        "https://api.twilio.com", description="Twilio REST API address (tests and proxies override it)")

    def api_settings(self) -> dict[str, str]:
        """Base URL and credentials for the provider API ('' where unset)."""
        return {"base_url": self.twilio_api_base, "account_sid": self.twilio_account_sid or "",
                "auth_token": reveal(self.twilio_auth_token)}
