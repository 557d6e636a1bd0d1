"""Settings saved from the admin page, in the `settings` table; secret values encrypted at rest."""
from __future__ import annotations

from integration.store.db import Database
from integration.store.models import Setting, utcnow
from integration.store.secret_box import SecretBox


def save(db: Database, box: SecretBox | None, key: str, value: str, *, secret: bool) -> None:
    """Insert or replace one setting; a secret needs a SecretBox (SECRET_KEY)."""
    if secret and box is None:
        raise ValueError("a secret setting needs SECRET_KEY")
    stored = box.encrypt(value) if secret else value
    with db.session() as session:
        row = session.get(Setting, key) or Setting(key=key)
        row.value, row.is_secret, row.updated_at = stored, secret, utcnow()
        session.add(row)


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
