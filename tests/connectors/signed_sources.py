"""Sign any body for any of the nine sources with that source's real scheme (web-path tests and fuzzing).

`configure(settings)` sets every source's secret (and the public URL the URL-signing schemes cover);
`signed(source, body)` returns the headers and query a signed delivery of those exact bytes carries, and
`signed_document(source, document)` builds and signs a delivery from a JSON value the way that source
carries it (Aircall's token inside the object, Dialpad's claims in a JWT, Twilio's fields in a form).
"""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import jwt
from pydantic import SecretStr
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from tests import keys
from tests.connectors.signing import hmac_b64, hmac_hex, sign_quo_classic, sign_standard, whsec_secret

PUBLIC_BASE_URL = "https://undertone.example"
SECRETS = {  # settings field -> the secret (each distinctive, so a log scan can look for it)
    "quo_webhook_secret": f"{keys.QUO_CLASSIC},{keys.QUO_STANDARD}",
    "twilio_auth_token": "twilio-token-3c9e51d0a7b2f4e68d1c",
    "aircall_webhook_token": "aircall-token-8e2f6a1c9d0b7e35a4f2",
    "dialpad_webhook_secret": "dialpad-secret-5b7d9f1e3a2c4b6d8e0f1a3c5e7b9d1f",
    "zendesk_webhook_secret": "zendesk-secret-4a6c8e0b2d4f6a8c",
    "intercom_client_secret": "intercom-secret-2f4a6c8e0b1d3f5a",
    "freshdesk_webhook_token": "freshdesk-token-7c9e1b3d5f7a9c1e",
    "hubspot_client_secret": "hubspot-secret-6d8f0a2c4e6b8d0f",
    "generic_webhook_secret": whsec_secret(b"generic-fuzz-key-0123456789abcdef"),
}
ENV = {name.upper(): value for name, value in SECRETS.items()}
SOURCES = ("quo", "twilio", "aircall", "dialpad", "zendesk", "intercom", "freshdesk", "hubspot", "generic")
JSON = {"Content-Type": "application/json"}
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FIXTURE = {  # one event each source stores (not ignored)
    "quo": "quo/message_received.json", "twilio": "twilio/sms_received.txt", "aircall": "aircall/call_ended.json",
    "dialpad": "dialpad/call_hangup.json", "zendesk": "zendesk/comment_added.json",
    "intercom": "intercom/conversation_user_created.json", "freshdesk": "freshdesk/customer_reply.json",
    "hubspot": "hubspot/new_message.json", "generic": "generic/review.json",
}


def secret(source: str) -> str:
    return next(v for k, v in SECRETS.items() if k.startswith(source))


def configure(settings) -> None:
    """Every source's secret on `settings`, and the public URL the senders sign."""
    settings.public_base_url = PUBLIC_BASE_URL
    for name, value in SECRETS.items():
        setattr(settings, name, SecretStr(value))


def path(source: str) -> str:
    return f"/webhooks/{source}"


def signed(source: str, body: bytes, base_url: str = PUBLIC_BASE_URL) -> tuple[dict, str]:
    """(headers, query string) of a delivery of exactly `body`, signed as `source` signs it.

    Aircall's token lives in the body and Dialpad's body is the token, so for them the bytes are sent
    as they are (use `signed_document` for a signed one).
    """
    now = time.time()
    url = base_url + path(source)
    if source == "quo":
        return {**JSON, **sign_quo_classic(body, keys.QUO_CLASSIC, int(now * 1000))}, ""
    if source == "generic":
        return {**JSON, **sign_standard(body, SECRETS["generic_webhook_secret"], f"msg_{uuid.uuid4().hex}",
                                        int(now))}, ""
    if source == "zendesk":
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {**JSON, "X-Zendesk-Webhook-Signature": hmac_b64(secret("zendesk").encode(), stamp.encode() + body),
                "X-Zendesk-Webhook-Signature-Timestamp": stamp}, ""
    if source == "intercom":
        return {**JSON, "X-Hub-Signature": "sha1=" + hmac_hex(secret("intercom").encode(), body, "sha1")}, ""
    if source == "freshdesk":
        return dict(JSON), urlencode({"token": secret("freshdesk")})
    if source == "hubspot":
        stamp = str(int(now * 1000))
        signed_bytes = b"POST" + url.encode() + body + stamp.encode()
        return {**JSON, "X-HubSpot-Signature-v3": hmac_b64(secret("hubspot").encode(), signed_bytes),
                "X-HubSpot-Request-Timestamp": stamp, "X-HubSpot-Signature-Version": "v3"}, ""
    if source == "twilio":
        pairs = parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
        signature = RequestValidator(secret("twilio")).compute_signature(url, MultiDict(pairs))
        return {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}, ""
    if source == "dialpad":
        return {"Content-Type": "application/jwt"}, ""
    if source == "aircall":
        return dict(JSON), ""
    raise ValueError(source)


def signed_document(source: str, document, base_url: str = PUBLIC_BASE_URL) -> tuple[bytes, dict, str]:
    """(body, headers, query) of a signed delivery carrying the JSON value `document`."""
    if source == "aircall":
        carried = {**document, "token": secret("aircall")} if isinstance(document, dict) else document
        return json.dumps(carried).encode(), dict(JSON), ""
    if source == "dialpad":
        claims = json.dumps(document).encode()
        token = jwt.api_jws.encode(claims, secret("dialpad"), algorithm="HS256")
        return token.encode() if isinstance(token, str) else token, {"Content-Type": "application/jwt"}, ""
    if source == "twilio":
        fields = document if isinstance(document, dict) else {"Body": json.dumps(document)}
        body = urlencode({str(k): v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()},
                         errors="surrogatepass").encode()
    else:
        body = json.dumps(document).encode()
    headers, query = signed(source, body, base_url)
    return body, headers, query


def delivery(source: str, poison: str | None = None, base_url: str = PUBLIC_BASE_URL) -> tuple[bytes, dict, str]:
    """(body, headers, query) of the source's fixture delivery, signed; `poison` is appended to every
    string in it (ids, types, texts) when given."""
    raw = (FIXTURES / FIXTURE[source]).read_bytes()
    if source == "twilio":
        pairs = parse_qsl(raw.decode(), keep_blank_values=True)
        if poison is not None:
            pairs = [(k, v + poison) for k, v in pairs]
        body = urlencode(pairs, errors="surrogatepass").encode()
        headers, query = signed("twilio", body, base_url)
        return body, headers, query
    document = json.loads(raw)
    return signed_document(source, document if poison is None else poisoned(document, poison), base_url)


def poisoned(value, poison: str):
    """`value` with `poison` appended to every string in it."""
    if isinstance(value, str):
        return value + poison
    if isinstance(value, dict):
        return {k: poisoned(v, poison) for k, v in value.items()}
    if isinstance(value, list):
        return [poisoned(v, poison) for v in value]
    return value
