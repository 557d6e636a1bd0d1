"""Typed configuration read from the environment (the admin page will store the same names).

The variable names are fixed: deployments and other tools set them. Secrets are `SecretStr`, which
never prints; a secret variable may hold several comma-separated values so it can be rotated.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
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
    hubspot_tier: str = "starter"  # starter/free: 100 requests per 10 s; professional/enterprise: 190
    hubspot_default_owner_id: str | None = None  # owner of follow-up tasks when the contact has none
    hubspot_portal_id: str | None = None  # the HubSpot account id, for links to contact records (insights)
    api_rate_limit_per_minute: int = Field(default=defaults.API_RATE_LIMIT_PER_MINUTE, ge=1)  # per API token
    crm_flush_delay_s: float = defaults.CRM_FLUSH_DELAY_S  # wait after a change so later ones join its batch
    crm_create_contacts: bool = False  # no match in the CRM: create the contact (else: recorded as unmatched)
    follow_up_rules_path: Path | None = None  # default: integration/data/follow_up_rules.json
    max_webhook_bytes: int = defaults.MAX_WEBHOOK_BYTES
    # Raw bodies of processed and ignored events are deleted after this many days (0 keeps them forever).
    # The dedupe record goes with them; providers' retry windows (hours to a few days) are far inside this.
    event_retention_days: int = Field(default=defaults.EVENT_RETENTION_DAYS, ge=0)
    signature_tolerance_s: int = defaults.SIGNATURE_TOLERANCE_S
    scorer: Literal["lexicon", "flair", "ensemble"] = "ensemble"  # ensemble: flair labels plus the lexicon's signals
    scorer_model_dir: Path | None = None  # default: the shipped scoring/model
    escalation_rules_path: Path | None = None  # default: scoring/data/escalation_rules.json
    competitors: str = ""  # comma-separated names that raise the "mentioned a competitor" flag
    themes_path: Path | None = None  # default: scoring/data/themes.json
    theme_embeddings: bool = True  # with the AI scorer, also match themes by sentence-embedding similarity
    timezone: str = defaults.TIMEZONE  # IANA name: where the business's weeks and days start (insights)

    quo_webhook_secret: SecretStr | None = None
    twilio_auth_token: SecretStr | None = None
    aircall_webhook_token: SecretStr | None = None
    dialpad_webhook_secret: SecretStr | None = None
    zendesk_webhook_secret: SecretStr | None = None
    intercom_client_secret: SecretStr | None = None
    freshdesk_webhook_token: SecretStr | None = None
    hubspot_client_secret: SecretStr | None = None
    generic_webhook_secret: SecretStr | None = None

    # Provider APIs, used by workers to fetch what a webhook names only by id (hydration).
    # *_API_BASE overrides exist for tests and proxies; hydration only ever calls that host.
    twilio_account_sid: str | None = None
    twilio_api_base: str = "https://api.twilio.com"
    aircall_api_id: str | None = None
    aircall_api_token: SecretStr | None = None
    aircall_api_base: str = "https://api.aircall.io"
    dialpad_api_key: SecretStr | None = None
    dialpad_api_base: str = "https://dialpad.com"
    zendesk_subdomain: str | None = None
    zendesk_email: str | None = None
    zendesk_api_token: SecretStr | None = None
    zendesk_api_base: str | None = None  # default https://<ZENDESK_SUBDOMAIN>.zendesk.com
    intercom_access_token: SecretStr | None = None
    intercom_admin_id: str | None = None  # the admin tags are applied as; default: the token's own (GET /me)
    intercom_api_base: str = "https://api.intercom.io"
    freshdesk_domain: str | None = None  # e.g. acme.freshdesk.com
    freshdesk_api_key: SecretStr | None = None
    freshdesk_api_base: str | None = None  # default https://<FRESHDESK_DOMAIN>

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"TIMEZONE must be an IANA time zone name such as Europe/Paris, not {value!r}") from exc
        return value

    @property
    def tzinfo(self) -> ZoneInfo:
        """The business's time zone (TIMEZONE)."""
        return ZoneInfo(self.timezone)

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

    def source_api(self, source: str) -> dict[str, str]:
        """API base URL and credentials a source's connector needs for hydration ('' when unset)."""
        reveal = lambda v: v.get_secret_value() if isinstance(v, SecretStr) else (v or "")  # noqa: E731
        apis = {
            "twilio": {"base_url": self.twilio_api_base, "account_sid": self.twilio_account_sid,
                       "auth_token": self.twilio_auth_token},
            "aircall": {"base_url": self.aircall_api_base, "api_id": self.aircall_api_id,
                        "api_token": self.aircall_api_token},
            "dialpad": {"base_url": self.dialpad_api_base, "api_key": self.dialpad_api_key},
            "zendesk": {"base_url": self.zendesk_api_base or (f"https://{self.zendesk_subdomain}.zendesk.com"
                                                              if self.zendesk_subdomain else ""),
                        "email": self.zendesk_email, "api_token": self.zendesk_api_token},
            "intercom": {"base_url": self.intercom_api_base, "access_token": self.intercom_access_token,
                         "admin_id": self.intercom_admin_id},
            "freshdesk": {"base_url": self.freshdesk_api_base or (f"https://{self.freshdesk_domain}"
                                                                  if self.freshdesk_domain else ""),
                          "api_key": self.freshdesk_api_key},
            "hubspot": {"base_url": self.hubspot_api_base, "access_token": self.hubspot_access_token},
        }
        return {key: reveal(value) for key, value in apis.get(source, {}).items()}

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
