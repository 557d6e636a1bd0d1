"""Checks the web path runs on every signed body before a connector parses it: nesting depth, and text that
cannot be stored (NUL characters, lone UTF-16 surrogates)."""
from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any
from urllib.parse import unquote_to_bytes

from connectors.base import MalformedPayload

DEFAULT_MAX_DEPTH = 64  # integration.defaults.MAX_JSON_DEPTH is what the web path passes

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(rb"[\[\]{}]")
# What a NUL or a UTF-16 surrogate looks like in a raw body: the byte itself, a JSON escape, a
# percent-escape (forms), or a surrogate's UTF-8 bytes percent-escaped. Only such bodies get the exact check.
_SUSPECT = re.compile(rb"\x00|\\u0000|%00|\\u[dD][89a-fA-F]|%[eE][dD]%[aAbB]", re.I)
_JWT = re.compile(rb"^[A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]*$")


def check_depth(raw: bytes, source: str, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
    """MalformedPayload when JSON arrays/objects in `raw` nest deeper than `max_depth`, before any parse.

    Brackets inside JSON strings do not count. Bodies with few brackets skip the scan.
    """
    if raw.count(b"[") + raw.count(b"{") <= max_depth:
        return
    depth = 0
    for match in _BRACKET.finditer(_JSON_STRING.sub(b"", raw)):
        depth += 1 if match.group() in (b"[", b"{") else -1
        if depth > max_depth:
            raise MalformedPayload(f"{source}: body nests deeper than {max_depth} levels")


def check_storable(raw: bytes, source: str) -> None:
    """MalformedPayload when the body carries a NUL character or a lone UTF-16 surrogate.

    Neither can be stored as text (PostgreSQL refuses NUL; UTF-8 has no surrogates) nor scored, so
    such a body is refused, never silently altered: the sender's signed content stays what it sent.
    Looks inside JSON, form-encoded and JWT bodies; an exact check runs only when the bytes look suspect.
    """
    views = [raw]
    jwt_payload = _JWT.match(raw.strip())
    if jwt_payload:
        segment = jwt_payload.group(1)
        try:
            views.append(base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4)))
        except (binascii.Error, ValueError):
            pass
    for view in views:
        if _may_be_suspect(view) and _SUSPECT.search(view) and not _clean(view):
            raise MalformedPayload(f"{source}: body contains a NUL character or a lone surrogate (not accepted)")


def _may_be_suspect(view: bytes) -> bool:
    """Whether `view` holds what every _SUSPECT form starts with: a NUL, a backslash-u (either case) or a percent
    sign. Four plain substring scans tell most bodies clean several times faster than the regular expression."""
    return b"\x00" in view or b"\\u" in view or b"\\U" in view or b"%" in view


def _clean(view: bytes) -> bool:
    """Whether no NUL or lone surrogate hides in `view` read as JSON, or else as a form."""
    if b"\x00" in view:
        return False
    try:
        document = json.loads(view)
    except (ValueError, RecursionError):
        decoded = unquote_to_bytes(view.replace(b"+", b" "))
        if b"\x00" in decoded:
            return False
        try:
            decoded.decode("utf-8")  # a surrogate's UTF-8 bytes are not valid UTF-8
        except UnicodeDecodeError:
            return False
        return True
    return _clean_value(document)


def _clean_value(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return False
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True
