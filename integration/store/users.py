"""Admin console users: create, find, check a password (argon2id), change role, remove."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select

from integration.store.db import Database
from integration.store.models import AdminUser, utcnow

ROLES = ("admin", "viewer")
MIN_PASSWORD_LENGTH = 12
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("undertone timing equaliser")  # checked when the email is unknown (same cost)


class UserError(ValueError):
    """Bad input for a user (unknown role, short password, duplicate email); nothing was changed."""


def normalise_email(email: str) -> str:
    """Emails are compared lower-case and without surrounding spaces."""
    return email.strip().lower()


def create(db: Database, email: str, password: str, role: str = "viewer") -> AdminUser:
    """A new user; UserError for an invalid email, role or password, or an email already taken."""
    email = normalise_email(email)
    if "@" not in email or len(email) > 320:
        raise UserError(f"{email!r} is not an email address")
    _check(role, password)
    with db.session() as session:
        if session.scalar(select(AdminUser.id).where(AdminUser.email == email)) is not None:
            raise UserError(f"a user {email} already exists")
        user = AdminUser(email=email, password_hash=_hasher.hash(password), role=role, created_at=utcnow())
        session.add(user)
        session.flush()
        session.expunge(user)
        return user


def authenticate(db: Database, email: str, password: str) -> AdminUser | None:
    """The user when the password matches, else None (an unknown email costs the same time)."""
    with db.session() as session:
        user = session.scalar(select(AdminUser).where(AdminUser.email == normalise_email(email)))
        try:
            _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None
        if user is None:
            return None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        user.last_login_at = utcnow()
        session.flush()
        session.expunge(user)
        return user


def get(db: Database, user_id: int) -> AdminUser | None:
    with db.session() as session:
        user = session.get(AdminUser, user_id)
        if user is not None:
            session.expunge(user)
        return user


def all_users(db: Database) -> list[AdminUser]:
    with db.session() as session:
        users = list(session.scalars(select(AdminUser).order_by(AdminUser.email)))
        session.expunge_all()
        return users


def set_role(db: Database, user_id: int, role: str) -> None:
    """Change a role; the last admin cannot become a viewer (someone must be able to change things)."""
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    with db.session() as session:
        user = session.get(AdminUser, user_id)
        if user is None:
            raise UserError("no such user")
        if user.role == "admin" and role != "admin" and _admins(session) == 1:
            raise UserError("the last admin cannot become a viewer")
        user.role = role


def remove(db: Database, user_id: int) -> None:
    """Delete a user; the last admin cannot be removed."""
    with db.session() as session:
        user = session.get(AdminUser, user_id)
        if user is None:
            raise UserError("no such user")
        if user.role == "admin" and _admins(session) == 1:
            raise UserError("the last admin cannot be removed")
        session.delete(user)


def _admins(session) -> int:
    return session.scalar(select(func.count()).select_from(AdminUser).where(AdminUser.role == "admin"))


def _check(role: str, password: str) -> None:
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
