"""Settings saved from the admin page, in the `settings` table; secret values encrypted at rest.

Every change bumps a version row (`VERSION_KEY`), which each process checks at most every
SETTINGS_REFRESH_S seconds to rebuild its Settings (integration/runtime.py:resolve_settings).
"""
from __future__ import annotations

from sqlalchemy import select

from integration.store.db import Database
from integration.store.models import Setting, utcnow
from integration.store.secret_box import SecretBox

VERSION_KEY = "_version"


def save(db: Database, box: SecretBox | None, key: str, value: str, *, secret: bool) -> None:
    """Insert or replace one setting; a secret needs a SecretBox (SECRET_KEY)."""
    if secret and box is None:
        raise ValueError("a secret setting needs SECRET_KEY")
    stored = box.encrypt(value) if secret else value
    with db.session() as session:
        row = session.get(Setting, key) or Setting(key=key)
        row.value, row.is_secret, row.updated_at = stored, secret, utcnow()
        session.add(row)
        _bump(session)


def delete(db: Database, key: str) -> None:
    """Forget a stored setting (the default or the environment applies again)."""
    with db.session() as session:
        row = session.get(Setting, key)
        if row is not None:
            session.delete(row)
            _bump(session)


def load(db: Database, box: SecretBox | None, key: str) -> str | None:
    """The plaintext value, or None when unset."""
    with db.session() as session:
        row = session.get(Setting, key)
        if row is None:
            return None
        if row.is_secret:
            if box is None:
                raise ValueError(f"setting {key} is encrypted; SECRET_KEY is needed to read it")
            return box.decrypt(row.value)
        return row.value


def version(db: Database) -> int:
    """The settings version: 0 before the first change, then one more per change."""
    with db.read_session() as session:
        value = session.scalar(select(Setting.value).where(Setting.key == VERSION_KEY))
    return int(value) if value else 0


def load_all(db: Database, box: SecretBox | None) -> dict[str, str]:
    """Every stored setting, plaintext; secrets that cannot be decrypted (no or another key) are left out."""
    values = {}
    with db.read_session() as session:
        rows = list(session.scalars(select(Setting).where(Setting.key != VERSION_KEY)))
    for row in rows:
        if not row.is_secret:
            values[row.key] = row.value
        elif box is not None:
            try:
                values[row.key] = box.decrypt(row.value)
            except ValueError:
                continue
    return values


def _bump(session) -> None:
    row = session.get(Setting, VERSION_KEY, with_for_update=True) or Setting(key=VERSION_KEY, value="0")
    row.value, row.is_secret, row.updated_at = str(int(row.value) + 1), False, utcnow()
    session.add(row)
