"""The per-process services (settings, database, Redis) shared by the web app, workers and the CLI."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from integration.settings import Settings
from integration.store.db import Database

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass
class Runtime:
    """Built once per process; nothing connects until first used."""

    settings: Settings

    @cached_property
    def db(self) -> Database:
        return Database(self.settings.effective_database_url)

    @cached_property
    def redis(self) -> Redis:
        """Short timeouts and no retries: a Redis outage must not slow a webhook acknowledgement."""
        return Redis.from_url(
            self.settings.redis_url or DEFAULT_REDIS_URL,
            socket_connect_timeout=1,
            socket_timeout=2,
            retry=Retry(NoBackoff(), 0),
        )

    @cached_property
    def worker_redis(self) -> Redis:
        """Workers wait longer for Redis and retry briefly; RQ needs raw bytes (no decoding)."""
        return Redis.from_url(self.settings.redis_url or DEFAULT_REDIS_URL, socket_connect_timeout=5, health_check_interval=30)
