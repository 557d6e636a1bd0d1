"""Display names of lines and agents fetched from a provider's API, cached per process (they rarely change).

A name is a nicety: a failed lookup is logged and gives None, never fails the event it was fetched for.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from connectors.http import ProviderAPI, ProviderError
from integration import defaults

log = logging.getLogger(__name__)

_cache: dict[tuple[str, str], tuple[float, str]] = {}
_lock = threading.Lock()


def lookup(api: ProviderAPI, path: str, read: Callable[[object], object], clock=time.monotonic) -> str | None:
    """The name `read` finds in the JSON at `path` (cached for NAME_CACHE_TTL_S); None when there is none."""
    key = (api.base_url, path)
    with _lock:
        hit = _cache.get(key)
    if hit is not None and clock() - hit[0] < defaults.NAME_CACHE_TTL_S:
        return hit[1]
    try:
        name = read(api.get_json(path))
    except (ProviderError, ValueError) as exc:
        log.info("name lookup %s failed (%s); the key stands in", path, exc)
        return None
    if not isinstance(name, str) or not name.strip():
        return None
    with _lock:
        _cache[key] = (clock(), name.strip())
    return name.strip()


def clear() -> None:
    """Forget every cached name (tests)."""
    with _lock:
        _cache.clear()
