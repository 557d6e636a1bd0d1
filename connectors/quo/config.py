"""Quo (OpenPhone): the environment settings this connector reads, typed and described."""
from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from connectors.common.config import VendorConfig


class QuoConfig(VendorConfig):
    """Quo (OpenPhone) settings; the field names are the fixed environment variable names."""

    source: ClassVar[str] = "quo"
    title: ClassVar[str] = "Quo (OpenPhone)"
    secret_field: ClassVar[str] = "quo_webhook_secret"

    quo_webhook_secret: SecretStr | None = Field(
        None,
        description=(
            "Webhook signing key from Quo (Settings → Integrations → Webhooks): the classic base64 key and/or the"
            " 2026 `whsec_…` key, comma-separated"),
    )
