"""E-mail (SMTP): the environment settings the digest reads, typed and described."""
from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from connectors.common.config import VendorConfig


class EmailConfig(VendorConfig):
    """SMTP settings; the field names are the fixed environment variable names."""

    source: ClassVar[str] = "email"
    title: ClassVar[str] = "E-mail (SMTP)"

    smtp_url: SecretStr | None = Field(
        None, description="smtp://user:pass@host:587 (STARTTLS, then login); the password makes it a secret")
    digest_email_to: str | None = Field(None, description="Comma-separated recipients of the weekly digest")
    digest_email_from: str | None = Field(None, description="The digest's From address")
