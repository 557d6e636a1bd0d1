"""Notion: the environment settings the digest reads, typed and described."""
from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from connectors.common.config import VendorConfig


class NotionConfig(VendorConfig):
    """Notion settings; the field names are the fixed environment variable names."""

    source: ClassVar[str] = "notion"
    title: ClassVar[str] = "Notion"

    notion_token: SecretStr | None = Field(None, description="Internal integration token (shared with the database)")
    notion_database_id: str | None = Field(None, description="The database each weekly digest becomes a page in")
    notion_api_base: str | None = Field(None, description="Notion API address; default https://api.notion.com")
