"""Sign Twilio callbacks at test time, two ways, so each checks the other.

- `reference_signature`: the `twilio` package's `RequestValidator.compute_signature` (the SDK Twilio
  tells integrators to use).
- `independent_signature`: the documented algorithm written out here: base64 HMAC(token, URL + each
  POST parameter's name and value, sorted by name), SHA-1 by default, SHA-256 for SharedKey settings.

Fixtures hold raw form bodies; tests sign them against the public URL they are posted to.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import parse_qsl

from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

SIGNATURE = "X-Twilio-Signature"
SETTINGS = "X-Twilio-Webhooks-Signature-Settings"


def form_pairs(body: bytes) -> list[tuple[str, str]]:
    """The (name, value) pairs of a form body, as Twilio posted them."""
    return parse_qsl(body.decode("utf-8"), keep_blank_values=True)


def reference_signature(url: str, body: bytes, token: str, algorithm: str | None = None) -> str:
    """X-Twilio-Signature for a form body, computed by twilio's RequestValidator."""
    return RequestValidator(token).compute_signature(url, MultiDict(form_pairs(body)), algorithm)


def independent_signature(url: str, pairs: list[tuple[str, str]], token: str, digest: str = "sha1") -> str:
    """X-Twilio-Signature from the documented algorithm, without the twilio package."""
    signed = url + "".join(name + value for name, value in sorted(pairs))
    return base64.b64encode(hmac.new(token.encode(), signed.encode(), digest).digest()).decode()


def sign_form(url: str, body: bytes, token: str, algorithm: str | None = None) -> dict[str, str]:
    """Headers of a signed form callback; a SharedKey `algorithm` adds the settings header."""
    headers = {SIGNATURE: reference_signature(url, body, token, algorithm)}
    if algorithm:
        headers[SETTINGS] = f"key=webhooks_sharedkey_test,algorithm={algorithm}"
    return headers


def json_url(url: str, body: bytes) -> str:
    """The URL Twilio posts a JSON body to: the configured URL plus `bodySHA256`."""
    return f"{url}{'&' if '?' in url else '?'}bodySHA256={hashlib.sha256(body).hexdigest()}"


def sign_json(url_with_hash: str, token: str) -> dict[str, str]:
    """Headers of a signed JSON callback: the signature covers the URL (with its body hash) only."""
    return {SIGNATURE: RequestValidator(token).compute_signature(url_with_hash, {})}
