"""The base of every vendor's typed settings, which describe themselves for the admin console's forms.

Each vendor package has a `config.py` whose class lists exactly the environment variables that vendor
reads (the names are fixed), each with a description, a default and, for secrets, the `SecretStr` type.
The service's `Settings` is the union of these classes and its own fields.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


@dataclass(frozen=True)
class FieldInfo:
    """One setting as a form shows it: its environment name, what it is, whether it is secret, its default."""

    env: str
    description: str
    secret: bool
    default: Any


class VendorConfig(BaseSettings):
    """Settings of one outside system, read from the environment (case-insensitive names)."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    source: ClassVar[str]  # the name in /webhooks/<source>
    title: ClassVar[str]  # the name people know the system by
    secret_field: ClassVar[str | None] = None  # the field that holds the webhook secret(s)

    @classmethod
    def describe(cls) -> list[FieldInfo]:
        """Every setting of this vendor, in declaration order, for forms and docs."""
        return [
            FieldInfo(env=name.upper(), description=field.description or "",
                      secret=_is_secret(field.annotation), default=field.default)
            for name, field in cls.model_fields.items()
        ]

    @classmethod
    def from_values(cls, values: Any) -> VendorConfig:
        """This vendor's settings taken from an object that has its fields (the service's Settings)."""
        return cls.model_construct(**{name: getattr(values, name) for name in cls.model_fields})

    def webhook_secrets(self) -> tuple[str, ...]:
        """The configured webhook secrets, split on commas (several during a rotation); empty when unset."""
        return self.webhook_secrets_in(self)

    @classmethod
    def webhook_secrets_in(cls, values: Any) -> tuple[str, ...]:
        """`from_values(values).webhook_secrets()` without building the config (every field copied through pydantic):
        the web path asks on every webhook."""
        value = getattr(values, cls.secret_field, None) if cls.secret_field else None
        return tuple(part.strip() for part in reveal(value).split(",") if part.strip())

    def api_settings(self) -> dict[str, str]:
        """Base URL and credentials for the provider's API; empty for a vendor that calls no API."""
        return {}


def reveal(value: SecretStr | str | None) -> str:
    """The plain value of a setting, secret or not; '' when unset."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return value or ""


def _is_secret(annotation: Any) -> bool:
    return annotation is SecretStr or SecretStr in getattr(annotation, "__args__", ())
