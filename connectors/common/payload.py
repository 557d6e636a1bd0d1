"""Small helpers every connector's parser needs: reading a JSON object body and ISO 8601 times."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from connectors.base import MalformedPayload


def json_object(raw: bytes, source: str) -> dict:
    """The body as a JSON object; MalformedPayload (naming the source) for anything else."""
    try:
        body = json.loads(raw)
    except ValueError:  # includes UnicodeDecodeError
        raise MalformedPayload(f"{source}: body is not JSON") from None
    if not isinstance(body, dict):
        raise MalformedPayload(f"{source}: body is not a JSON object")
    return body


def iso_time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp as an aware UTC datetime (naive means UTC); None if absent or bad."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)
