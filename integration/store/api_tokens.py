"""API bearer tokens: created once and shown once, stored as a SHA-256 hash, revocable by name."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

from integration.store.db import Database
from integration.store.models import Base, utcnow

TOKEN_PREFIX = "ut_"


class ApiToken(Base):
    """A named API token; only its hash is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class TokenError(ValueError):
    """A token command that cannot be done (name taken, unknown name)."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(db: Database, name: str) -> str:
    """Make a token called `name` and return it (the only time it exists in clear)."""
    name = name.strip()
    if not name or len(name) > 64:
        raise TokenError("a token name is 1 to 64 characters")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.session() as session:
        existing = session.scalar(select(ApiToken).where(ApiToken.name == name))
        if existing is not None and existing.revoked_at is None:
            raise TokenError(f"a token named {name!r} exists; revoke it first")
        if existing is not None:
            session.delete(existing)
            session.flush()
        session.add(ApiToken(name=name, token_hash=hash_token(token)))
    return token


def revoke(db: Database, name: str) -> None:
    """Revoke the token called `name`; it stops working at once."""
    with db.session() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None)))
        if row is None:
            raise TokenError(f"no active token named {name!r}")
        row.revoked_at = utcnow()


def verify(db: Database, token: str) -> int | None:
    """The id of the active token `token`, else None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    with db.session() as session:
        return session.scalar(select(ApiToken.id).where(
            ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None)))


def names(db: Database) -> list[tuple[str, datetime, datetime | None]]:
    """Every token's name, creation and revocation time."""
    with db.session() as session:
        return list(session.execute(select(ApiToken.name, ApiToken.created_at, ApiToken.revoked_at)
                                    .order_by(ApiToken.name)))
