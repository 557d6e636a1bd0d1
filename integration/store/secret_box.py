"""Encryption at rest for secrets the admin page stores (webhook secrets, API tokens).

Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) with a key derived from SECRET_KEY by HKDF.
Rotating SECRET_KEY: pass the old key in `previous`, re-save the settings, then drop it.
"""
from __future__ import annotations

import base64
from typing import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_INFO = b"undertone settings encryption v1"


class SecretKeyMissing(RuntimeError):
    """SECRET_KEY is needed to store or read an encrypted setting."""


class SecretBox:
    """Encrypts with the current key; decrypts with the current or any previous key."""

    def __init__(self, secret_key: str | None, previous: Sequence[str] = ()):
        if not secret_key:
            raise SecretKeyMissing("set SECRET_KEY to store secrets in the database")
        self._fernet = MultiFernet([Fernet(_derive(k)) for k in (secret_key, *previous)])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        """The plaintext; ValueError when the token was not made with one of our keys or was altered."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("stored secret cannot be decrypted with SECRET_KEY (changed or rotated?)") from exc


def masked(secret: str) -> str:
    """How a secret is shown back: never in full."""
    return "•" * 8 if len(secret) < 12 else f"{secret[:3]}…{secret[-2:]}"


def _derive(secret_key: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode()))
