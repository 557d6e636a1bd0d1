"""Build signed Quo webhook requests from the raw fixtures, at test time."""
from __future__ import annotations

import json
import re
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from tests import keys
from tests.connectors.signing import sign_quo_classic, sign_standard

FIXTURES = Path(__file__).parent / "fixtures" / "quo"
FIXTURE_DAYS = re.compile(rb"20\d\d-\d\d-\d\dT")


def fixture_body(name: str, *, recent: bool = True, event_id: str | None = None) -> bytes:
    """A fixture's raw bytes; `recent` moves its dates to today (follow-up tasks ignore old history)."""
    raw = (FIXTURES / name).read_bytes()
    if recent:
        raw = FIXTURE_DAYS.sub(datetime.now(timezone.utc).strftime("%Y-%m-%dT").encode(), raw)
    if event_id is not None:
        document = json.loads(raw)
        document["id"] = event_id
        raw = json.dumps(document).encode()
    return raw


def classic_headers(body: bytes, secret: str = keys.QUO_CLASSIC, at: float | None = None) -> dict[str, str]:
    headers = sign_quo_classic(body, secret, int((at if at is not None else time.time()) * 1000))
    return {**headers, "content-type": "application/json"}


def standard_headers(body: bytes, secret: str = keys.QUO_STANDARD, msg_id: str | None = None,
                     at: float | None = None) -> dict[str, str]:
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    headers = sign_standard(body, secret, msg_id, int(at if at is not None else time.time()))
    return {**headers, "content-type": "application/json"}
