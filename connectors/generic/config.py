"""Generic (Standard Webhooks): the environment settings this connector reads, typed and described."""
from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from connectors.common.config import VendorConfig


class GenericConfig(VendorConfig):
    """Generic (Standard Webhooks) settings; the field names are the fixed environment variable names."""

    source: ClassVar[str] = "generic"
    title: ClassVar[str] = "Generic (Standard Webhooks)"
    secret_field: ClassVar[str] = "generic_webhook_secret"

    generic_webhook_secret: SecretStr | None = Field(
        None, description="A `whsec_…` Standard Webhooks secret shared with your survey, review or form tool")
