"""Typed configuration read from the environment (the admin page will store the same names).

The variable names are fixed: deployments and other tools set them. Secrets are `SecretStr`, which
never prints; a secret variable may hold several comma-separated values so it can be rotated.
"""
from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from integration import defaults

# Source name in /webhooks/<source> -> the environment variable that holds its secret(s).
SOURCE_SECRET_VARS = {
    "quo": "quo_webhook_secret",
    "twilio": "twilio_auth_token",
    "aircall": "aircall_webhook_token",
    "dialpad": "dialpad_webhook_secret",
    "zendesk": "zendesk_webhook_secret",
    "intercom": "intercom_client_secret",
    "freshdesk": "freshdesk_webhook_token",
    "hubspot": "hubspot_client_secret",
    "generic": "generic_webhook_secret",
}


class Settings(BaseSettings):
    """All configuration; read once per process with `Settings()` (tests pass overrides)."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    port: int = 5000
    var_dir: Path = Path("var")  # UNDERTONE_VAR_DIR is not needed: VAR_DIR is local state only
    database_url: str | None = None
    redis_url: str | None = None
    secret_key: SecretStr | None = None
    public_base_url: str | None = None
    hubspot_access_token: SecretStr | None = None
    hubspot_api_base: str = defaults.HUBSPOT_API_BASE
    max_webhook_bytes: int = defaults.MAX_WEBHOOK_BYTES
    signature_tolerance_s: int = defaults.SIGNATURE_TOLERANCE_S

    quo_webhook_secret: SecretStr | None = None
    twilio_auth_token: SecretStr | None = None
    aircall_webhook_token: SecretStr | None = None
    dialpad_webhook_secret: SecretStr | None = None
    zendesk_webhook_secret: SecretStr | None = None
    intercom_client_secret: SecretStr | None = None
    freshdesk_webhook_token: SecretStr | None = None
    hubspot_client_secret: SecretStr | None = None
    generic_webhook_secret: SecretStr | None = None

    @property
    def effective_database_url(self) -> str:
        """DATABASE_URL, or a SQLite file under the var directory."""
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite:///{(self.var_dir / 'undertone.db').resolve()}"

    def source_secrets(self, source: str) -> tuple[str, ...]:
        """The configured secrets of a source, split on commas; empty when unset."""
        var = SOURCE_SECRET_VARS.get(source)
        value = getattr(self, var, None) if var else None
        if value is None:
            return ()
        return tuple(part.strip() for part in value.get_secret_value().split(",") if part.strip())

    @property
    def crm_backend(self) -> str:
        """'hubspot' when a token is set, else the built-in 'sink'."""
        return "hubspot" if self.hubspot_access_token else "sink"


def normalise_database_url(url: str) -> str:
    """Accept the postgres:// and postgresql:// forms hosting platforms hand out; use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
