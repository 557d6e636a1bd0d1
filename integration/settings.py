"""Typed configuration read from the environment (the admin page will store the same names).

The variable names are fixed: deployments and other tools set them. Secrets are `SecretStr`, which
never prints; a secret variable may hold several comma-separated values so it can be rotated.
"""
from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from connectors.common.config import VendorConfig
from connectors.registry import NOTIFIER_CONFIGS, VENDOR_CONFIGS
from integration import defaults


class DigestConfig(VendorConfig):
    """When and where the weekly digest goes, and the settings alerts share (the /admin/alerts page's form).

    TIMEZONE, QUIET_HOURS and ALERT_DESTINATIONS are the service's own fields (declared again on Settings,
    which wins); they are described here so the console can show and store them.
    """

    source: ClassVar[str] = "digest"
    title: ClassVar[str] = "Weekly digest and alerts"

    digest_schedule: str = Field(
        "mon 08:00", description="When the weekly digest goes out, in TIMEZONE: 'mon 08:00' (days mon..sun, "
                                 "comma-separated, or daily) or a cron expression such as '0 8 * * 1'")
    digest_destinations: str = Field(
        "slack,email,notion", description="Where the digest goes, among those configured (slack, teams, email, "
                                          "notion), comma-separated")
    follow_up_after_days: int = Field(
        2, ge=1, le=60, description="A customer whose latest interaction was negative and who has had no call, "
                                    "text, e-mail or reply for this many days gets a follow-up task")
    alert_destinations: str = Field("slack,teams", description="Where alerts go, among those configured")
    timezone: str = Field(defaults.TIMEZONE, description="IANA time zone of the business, e.g. Europe/Paris: "
                                                         "weeks, days, quiet hours and the schedule follow it")
    quiet_hours: str = Field("", description="e.g. 20:00-07:00 in TIMEZONE: alerts raised then go out in one "
                                             "message when it ends; empty for none")

    @classmethod
    def problem(cls, name: str, value: str) -> str | None:
        """Why a value cannot be stored (checked beyond its type), or None."""
        from integration.quiet_hours import parse_quiet_hours
        from integration.schedule import cron_expression

        try:
            if name == "timezone":
                ZoneInfo(value)
            elif name == "quiet_hours":
                parse_quiet_hours(value)
            elif name == "digest_schedule":
                cron_expression(value)
            elif name in ("digest_destinations", "alert_destinations"):
                unknown = [n for n in value.split(",") if n.strip() and n.strip() not in NOTIFIER_CONFIGS]
                if unknown:
                    return f"unknown destination(s) {', '.join(unknown)}; use slack, teams, email, notion"
        except (ZoneInfoNotFoundError, ValueError) as exc:
            return str(exc) if name != "timezone" else "not an IANA time zone name such as Europe/Paris"
        return None


class Settings(*VENDOR_CONFIGS.values(), *NOTIFIER_CONFIGS.values(), DigestConfig, BaseSettings):
    """All configuration; read once per process with `Settings()` (tests pass overrides).

    The vendors' fields come from their typed classes (`connectors/<vendor>/config.py`); these are the
    service's own.
    """

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    port: int = 5000
    var_dir: Path = Path("var")  # UNDERTONE_VAR_DIR is not needed: VAR_DIR is local state only
    database_url: str | None = None
    redis_url: str | None = None
    secret_key: SecretStr | None = None
    public_base_url: str | None = None
    healthz_token: SecretStr | None = None  # `Authorization: Bearer <it>` unlocks /healthz's details
    hubspot_access_token: SecretStr | None = None
    hubspot_api_base: str = defaults.HUBSPOT_API_BASE
    hubspot_tier: str = "starter"  # starter/free: 100 requests per 10 s; professional/enterprise: 190
    hubspot_default_owner_id: str | None = None  # owner of follow-up tasks when the contact has none
    api_rate_limit_per_minute: int = Field(default=defaults.API_RATE_LIMIT_PER_MINUTE, ge=1)  # per API token
    crm_flush_delay_s: float = defaults.CRM_FLUSH_DELAY_S  # wait after a change so later ones join its batch
    crm_create_contacts: bool = False  # no match in the CRM: create the contact (else: recorded as unmatched)
    follow_up_rules_path: Path | None = None  # default: integration/sync/follow_up_rules.json
    max_webhook_bytes: int = defaults.MAX_WEBHOOK_BYTES
    # Raw bodies of processed and ignored events are deleted after this many days (0 keeps them forever).
    # The dedupe record goes with them; providers' retry windows (hours to a few days) are far inside this.
    event_retention_days: int = Field(default=defaults.EVENT_RETENTION_DAYS, ge=0)
    signature_tolerance_s: int = defaults.SIGNATURE_TOLERANCE_S
    # Workers lower their CPU priority by this much (os.nice) at start, so webhook acknowledgements win shared cores.
    worker_nice: int = Field(default=defaults.WORKER_NICE, ge=0, le=19)
    # Workers run model inference on a thread at SCHED_IDLE (Linux): it only takes CPU nothing else wants.
    worker_scoring_idle: bool = True
    # events a process job takes together (its own and pending first attempts), scored in one model call
    process_batch: int = Field(default=defaults.PROCESS_BATCH, ge=1, le=256)
    # torch threads per worker process: more than the cores shared by every worker oversubscribes them.
    worker_torch_threads: int = Field(default=defaults.WORKER_TORCH_THREADS, ge=1, le=64)
    scorer: Literal["lexicon", "flair", "ensemble"] = "ensemble"  # ensemble: flair labels plus the lexicon's signals
    scorer_model_dir: Path | None = None  # default: the shipped scoring/model
    escalation_rules_path: Path | None = None  # default: scoring/escalation_rules.json
    competitors: str = ""  # comma-separated names that raise the "mentioned a competitor" flag
    themes_path: Path | None = None  # default: scoring/themes.json
    theme_embeddings: bool = True  # with the AI scorer, also match themes by sentence-embedding similarity
    timezone: str = defaults.TIMEZONE  # IANA name: where the business's weeks and days start (insights)
    quiet_hours: str = ""  # e.g. 20:00-07:00 in TIMEZONE: alerts raised then go out in one message when it ends
    alert_destinations: str = "slack,teams"  # where alerts go, among those configured
    spike_min_customers: int = Field(default=defaults.SPIKE_MIN_CUSTOMERS, ge=1)
    spike_window_days: int = Field(default=defaults.SPIKE_WINDOW_DAYS, ge=1)

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

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours_form(cls, value: str) -> str:
        from integration.quiet_hours import parse_quiet_hours

        parse_quiet_hours(value)  # ValueError with a clear message
        return value

    @field_validator("digest_schedule")
    @classmethod
    def _digest_schedule_form(cls, value: str) -> str:
        from integration.schedule import cron_expression

        cron_expression(value)  # ValueError with a clear message
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

    def vendor(self, source: str) -> VendorConfig | None:
        """The typed settings of one source, taken from these settings; None for a source without any."""
        config = VENDOR_CONFIGS.get(source)
        return config.from_values(self) if config else None

    def source_secrets(self, source: str) -> tuple[str, ...]:
        """The configured secrets of a source, split on commas; empty when unset."""
        config = VENDOR_CONFIGS.get(source)
        return config.webhook_secrets_in(self) if config else ()

    def source_api(self, source: str) -> dict[str, str]:
        """API base URL and credentials a source's connector needs for hydration ('' when unset)."""
        config = self.vendor(source)
        return config.api_settings() if config else {}


def normalise_database_url(url: str) -> str:
    """Accept the postgres:// and postgresql:// forms hosting platforms hand out; use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
