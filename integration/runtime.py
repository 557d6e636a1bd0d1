"""The per-process services (settings, database, Redis) shared by the web app, workers and the CLI."""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property

from pydantic import TypeAdapter, ValidationError
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy.exc import SQLAlchemyError

from connectors.registry import NOTIFIER_CONFIGS, VENDOR_CONFIGS
from integration import defaults
from integration.settings import DigestConfig, Settings
from integration.store import rules as owner_rules
from integration.store import settings_store
from integration.store.db import Database
from integration.store.secret_box import SecretBox

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
log = logging.getLogger(__name__)

# What the console may store: every vendor's and destination's settings, and the digest's (/admin/alerts);
# the service's other settings stay in the environment.
EDITABLE = {name for config in (*VENDOR_CONFIGS.values(), *NOTIFIER_CONFIGS.values(), DigestConfig)
            for name in config.model_fields}


def secret_box(base: Settings) -> SecretBox | None:
    """The SecretBox for stored secrets, keyed by SECRET_KEY; None without one."""
    return SecretBox(base.secret_key.get_secret_value()) if base.secret_key is not None else None


def in_environment(base: Settings, name: str) -> bool:
    """True when the environment (or the caller) set this field: it wins over the console."""
    return name in base.model_fields_set


def resolve_settings(base: Settings, stored: dict[str, str]) -> Settings:
    """The settings a process uses: the environment's, plus what the console stored for fields it left unset.

    The one place web and workers turn stored values into Settings. A stored value that no longer
    validates is skipped (and logged by name, never by value).
    """
    updates = {}
    for name, value in stored.items():
        if name not in EDITABLE or in_environment(base, name):
            continue
        try:
            updates[name] = TypeAdapter(Settings.model_fields[name].annotation).validate_python(value)
        except ValidationError:
            log.warning("stored setting %s is not valid; ignored", name)
    return base.model_copy(update=updates) if updates else base


class built_once(cached_property):
    """`functools.cached_property` that builds under a lock. Python 3.12 dropped the lock 3.11's had, and gunicorn's
    threads share one Runtime: two first requests must not each build an engine or a Redis client (one leaked)."""

    _lock = threading.RLock()

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        with self._lock:
            return super().__get__(instance, owner)


@dataclass
class Runtime:
    """Built once per process; nothing connects until first used. `settings` follows console changes."""

    base: Settings  # from the environment (or the caller), read once
    refresh_s: float = defaults.SETTINGS_REFRESH_S
    _current: Settings | None = field(default=None, init=False, repr=False)
    _version: int | None = field(default=None, init=False, repr=False)
    _checked_at: float = field(default=float("-inf"), init=False, repr=False)
    _rules: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def settings(self) -> Settings:
        """The resolved settings; the stored version is checked at most every `refresh_s` seconds.

        The first check runs here, so a process starts with what the console stored (its secrets and API
        credentials); later ones run in a background thread, so a request never waits on the database for
        them (a database that hangs must cost a webhook one bounded wait, not two).
        """
        if self._checked_at == float("-inf"):
            return self.reload_settings()
        now = time.monotonic()
        if now - self._checked_at >= self.refresh_s and self._lock.acquire(blocking=False):
            self._checked_at = now
            threading.Thread(target=self._refresh_and_release, name="settings-refresh", daemon=True).start()
        return self._current or self.base

    @property
    def stored_rules(self) -> dict[str, str]:
        """The rules documents the console stored (`rules:<kind>` -> JSON), checked as `settings` is."""
        _ = self.settings  # starts the check when one is due
        return self._rules

    def settings_now(self) -> Settings:
        """Like `settings`, but a due check runs here and is waited for: a worker's job then uses what the
        console saved up to `refresh_s` before it (one cheap version query at most every `refresh_s`)."""
        if time.monotonic() - self._checked_at >= self.refresh_s:
            return self.reload_settings()
        return self._current or self.base

    def reload_settings(self) -> Settings:
        """Check the stored settings now and wait for the answer (after this process saved a change)."""
        with self._lock:
            self._checked_at = time.monotonic()
            self._refresh()
        return self._current or self.base

    def _refresh_and_release(self) -> None:
        try:
            self._refresh()
        finally:
            self._lock.release()

    def _refresh(self) -> None:
        try:
            version = settings_store.version(self.db)
            if version == self._version:
                return
            stored = settings_store.load_all(self.db, secret_box(self.base))
        except SQLAlchemyError as exc:  # no table yet, or the database is away: keep what we have
            log.debug("stored settings not read: %s", type(exc).__name__)
            return
        self._rules = {k: v for k, v in stored.items() if k.startswith(owner_rules.PREFIX)}
        self._current, self._version = resolve_settings(self.base, stored), version

    @built_once
    def db(self) -> Database:
        return Database(self.base.effective_database_url)

    @built_once
    def redis(self) -> Redis:
        """Short timeouts and no retries: a Redis outage must not slow a webhook acknowledgement."""
        return Redis.from_url(
            self.base.redis_url or DEFAULT_REDIS_URL,
            socket_connect_timeout=1,
            socket_timeout=2,
            retry=Retry(NoBackoff(), 0),
        )

    @built_once
    def worker_redis(self) -> Redis:
        """Workers wait longer for Redis and retry briefly; RQ needs raw bytes (no decoding)."""
        return Redis.from_url(self.base.redis_url or DEFAULT_REDIS_URL, socket_connect_timeout=5,
                              health_check_interval=30)
