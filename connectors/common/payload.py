"""Small helpers every connector's parser needs: a JSON object body, ids, and times in the senders' formats."""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

from connectors.base import MalformedPayload
from connectors.common.body_checks import check_depth


def json_object(raw: bytes, source: str) -> dict:
    """The body as a JSON object; MalformedPayload (naming the source) for anything else."""
    check_depth(raw, source)
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # ValueError includes UnicodeDecodeError
        raise MalformedPayload(f"{source}: body is not JSON") from None
    if not isinstance(body, dict):
        raise MalformedPayload(f"{source}: body is not a JSON object")
    return body


def iso_time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp as an aware UTC datetime (naive means UTC); None if absent or bad."""
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip())  # some senders (Zendesk) send nanoseconds
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


def epoch_time(value: Any, per_second: int = 1) -> datetime | None:
    """A Unix timestamp (seconds, or milliseconds with `per_second=1000`) as aware UTC; None if absent or bad."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return datetime.fromtimestamp(value / per_second, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def scalar_id(value: Any) -> str | None:
    """An integer or non-blank string id as text; None otherwise (booleans are not ids)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.strip()):
        return str(value).strip()
    return None


def present(**values: str | None) -> dict[str, str]:
    """The ids that are known, for an interaction's `source_ids`."""
    return {key: value for key, value in values.items() if value}
