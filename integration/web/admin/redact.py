"""Raw webhook events as the console shows them: secrets hidden, whatever the sender put where.

Two nets: a value under a key (JSON or form field) or header whose name says credential (token, secret,
signature, password, key...) is replaced, and any configured secret's value is replaced wherever it appears.
The page escapes the rest (Jinja autoescape); nothing here is markup.
"""
from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl

from pydantic import SecretStr

from integration.settings import Settings

HIDDEN = "[hidden]"
SECRET_NAME = re.compile(r"token|secret|signature|passw|authori[sz]ation|api[-_]?key|cookie|credential|private",
                         re.IGNORECASE)
MAX_CHARS = 64_000  # a page shows at most this much of one body
MIN_SECRET_CHARS = 6  # shorter configured values are not searched for (they would hide ordinary words)


def secret_values(settings: Settings) -> list[str]:
    """Every configured secret (each comma-separated one, and a whsec_ key's base64 part), longest first."""
    found = set()
    for name in type(settings).model_fields:
        value = getattr(settings, name, None)
        if isinstance(value, SecretStr):
            for part in value.get_secret_value().split(","):
                part = part.strip()
                found |= {part, part.removeprefix("whsec_")}
    return sorted((v for v in found if len(v) >= MIN_SECRET_CHARS), key=len, reverse=True)


def headers(values: dict | None, secrets: list[str]) -> list[tuple[str, str]]:
    """(name, value) pairs, credentials hidden."""
    return [(str(name), HIDDEN if SECRET_NAME.search(str(name)) else scrub(str(value), secrets))
            for name, value in sorted((values or {}).items())]


def body(raw: bytes | None, secrets: list[str]) -> str:
    """The body as readable text: JSON pretty-printed, form fields one per line; credentials hidden."""
    text = (raw or b"").decode("utf-8", errors="replace")
    try:
        shown = json.dumps(_hide(json.loads(text)), indent=2, ensure_ascii=False)
    except ValueError:
        pairs = parse_qsl(text, keep_blank_values=True) if "=" in text and "\n" not in text.strip() else []
        shown = "\n".join(f"{k}={HIDDEN if SECRET_NAME.search(k) else v}" for k, v in pairs) if pairs else text
    shown = scrub(shown, secrets)
    return shown if len(shown) <= MAX_CHARS else shown[:MAX_CHARS] + f"\n… ({len(shown) - MAX_CHARS} more characters)"


def scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, HIDDEN)
    return text


def _hide(value):
    if isinstance(value, dict):
        return {k: HIDDEN if isinstance(k, str) and SECRET_NAME.search(k) and _sensitive(v) else _hide(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_hide(v) for v in value]
    return value


def _sensitive(value) -> bool:
    """A value that could carry a credential (a flag such as `is_private: true` could not)."""
    return isinstance(value, (str, dict, list)) and bool(value) or isinstance(value, int) and not isinstance(value, bool)
