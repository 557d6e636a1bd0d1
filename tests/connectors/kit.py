"""One helper for every connector's tests: its raw fixtures, its requests, and a connector that never waits.

Fixtures are raw bodies under `tests/fixtures/<source>/`, exactly as the sender posts them; tests sign them at
test time (`tests/connectors/signing.py`) against a frozen clock.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from connectors.base import WebhookRequest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def fixture(source: str, name: str, ext: str = "json") -> bytes:
    """A fixture's raw bytes; `name` may carry its own extension."""
    path = FIXTURES / source / (name if "." in name else f"{name}.{ext}")
    return path.read_bytes()


def payload(source: str, name: str) -> dict:
    """A JSON fixture as a dict, to edit."""
    return json.loads(fixture(source, name))


def public_url(source: str) -> str:
    """The public URL senders post this source's webhooks to, in tests."""
    return f"https://undertone.example/webhooks/{source}"


def request(source: str, body: bytes, headers: Mapping[str, str] | None = None, url: str | None = None,
            method: str = "POST") -> WebhookRequest:
    """What the web layer hands a connector for `body` posted to the source's public URL."""
    return WebhookRequest(body=body, headers=dict(headers or {}), url=url or public_url(source), method=method)


def connector(cls: type, *secrets: str, **options: Any):
    """A connector of `cls` with the given secrets whose API back-off never sleeps (unless `sleep` is given)."""
    if options.get("sleep") is None:
        options["sleep"] = lambda seconds: None
    return cls(secrets, **options)
