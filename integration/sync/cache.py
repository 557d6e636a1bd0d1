"""Phone/e-mail -> CRM record id, cached in Redis with an expiry (the database keeps the durable link).

Saves a search per contact per sync: HubSpot allows few searches, and they lag behind writes.
Without Redis (an inline import) nothing is cached.
"""
from __future__ import annotations

from redis import Redis
from redis.exceptions import RedisError

from connectors.crm import ContactKeys
from integration import defaults


class ContactCache:
    def __init__(self, redis: Redis | None, crm: str, ttl_s: int = defaults.CONTACT_CACHE_TTL_S):
        self.redis, self.crm, self.ttl_s = redis, crm, ttl_s

    def lookup(self, keys: list[ContactKeys]) -> dict[int, str]:
        """Cached CRM ids for the contacts any of whose phones or e-mails is cached."""
        if self.redis is None or not keys:
            return {}
        names = [[self._key(kind, v) for kind, v in _identities(k)] for k in keys]
        try:
            values = self.redis.mget([n for group in names for n in group]) if any(names) else []
        except RedisError:
            return {}
        found, position = {}, 0
        for key, group in zip(keys, names):
            hits = [v for v in values[position:position + len(group)] if v]
            position += len(group)
            if hits:
                found[key.contact_id] = hits[0].decode() if isinstance(hits[0], bytes) else hits[0]
        return found

    def remember(self, pairs: list[tuple[ContactKeys, str]]) -> None:
        if self.redis is None or not pairs:
            return
        try:
            with self.redis.pipeline(transaction=False) as pipe:
                for key, crm_id in pairs:
                    for kind, value in _identities(key):
                        pipe.set(self._key(kind, value), crm_id, ex=self.ttl_s)
                pipe.execute()
        except RedisError:
            pass  # a cache: the next sync searches again

    def forget(self, keys: list[ContactKeys]) -> None:
        if self.redis is None or not keys:
            return
        try:
            self.redis.delete(*[self._key(kind, v) for k in keys for kind, v in _identities(k)] or ["-"])
        except RedisError:
            pass

    def owners(self, crm_ids: list[str]) -> dict[str, str | None]:
        """Cached owners of CRM records ('' stored for "no owner"); absent ids are unknown."""
        if self.redis is None or not crm_ids:
            return {}
        try:
            values = self.redis.mget([self._key("owner", i) for i in crm_ids])
        except RedisError:
            return {}
        return {i: (v.decode() or None) for i, v in zip(crm_ids, values) if v is not None}

    def remember_owners(self, owners: dict[str, str | None]) -> None:
        if self.redis is None or not owners:
            return
        try:
            with self.redis.pipeline(transaction=False) as pipe:
                for crm_id, owner in owners.items():
                    pipe.set(self._key("owner", crm_id), owner or "", ex=self.ttl_s)
                pipe.execute()
        except RedisError:
            pass

    def _key(self, kind: str, value: str) -> str:
        return f"undertone:crm:{self.crm}:{kind}:{value}"


def _identities(key: ContactKeys) -> list[tuple[str, str]]:
    return [("phone", p) for p in key.phones] + [("email", e) for e in key.emails]
