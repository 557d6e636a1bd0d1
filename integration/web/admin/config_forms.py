"""Forms rendered from a vendor's typed config class (`describe()`), and saving what they post.

Where a value comes from decides what the form shows: the environment wins and is read-only; a
secret is never shown back (set or not, masked) and can only be replaced; the rest shows its value.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated

from pydantic import TypeAdapter, ValidationError

from connectors.common.config import VendorConfig, reveal
from integration.runtime import Runtime, in_environment, secret_box
from integration.settings import Settings
from integration.store import settings_store
from integration.store.secret_box import masked

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FieldView:
    """One setting as the form shows it."""

    name: str  # the form field and the settings key (lower-case)
    env: str  # the environment variable
    description: str
    secret: bool
    origin: str  # environment | console | default | unset
    shown: str  # the value to display: masked for a secret, '' when unset

    @property
    def editable(self) -> bool:
        return self.origin != "environment"


def field_views(config: type[VendorConfig], rt: Runtime) -> list[FieldView]:
    """The vendor's settings with their current state, in declaration order."""
    stored = settings_store.load_all(rt.db, secret_box(rt.base))
    settings = rt.settings
    views = []
    for info in config.describe():
        name = info.env.lower()
        value = reveal(getattr(settings, name, None))
        if in_environment(rt.base, name):
            origin = "environment"
        elif name in stored:
            origin = "console"
        else:
            origin = "default" if value else "unset"
        shown = (masked(value) if value else "") if info.secret else ("" if value is None else str(value))
        views.append(FieldView(name, info.env, info.description, info.secret, origin, shown))
    return views


def save_form(config: type[VendorConfig], rt: Runtime, form) -> tuple[list[str], list[str]]:
    """Store what was posted: (names changed, error messages). Nothing is stored when any value is invalid.

    An empty secret box means "keep"; `clear_<name>` forgets a stored value. Values are never logged.
    """
    changes: dict[str, str | None] = {}
    errors: list[str] = []
    for view in field_views(config, rt):
        if not view.editable:
            continue
        if form.get(f"clear_{view.name}"):
            changes[view.name] = None
            continue
        raw = form.get(view.name)
        if raw is None or (view.secret and not raw.strip()):
            continue
        value = raw.strip()
        if not view.secret and value == view.shown:
            continue
        if value == "" and not view.secret:
            changes[view.name] = None
            continue
        problem = _problem(config, view.name, value)
        if problem:
            errors.append(f"{view.env}: {problem}")
            continue
        changes[view.name] = value
    if errors:
        return [], errors
    box = secret_box(rt.base)
    secrets = {v.name for v in field_views(config, rt) if v.secret}
    for name, value in changes.items():
        if value is None:
            settings_store.delete(rt.db, name)
        else:
            settings_store.save(rt.db, box, name, value, secret=name in secrets)
    if changes:
        log.info("console settings changed: %s", ", ".join(sorted(changes)))  # names only, never values
        rt.reload_settings()
    return sorted(changes), []


def save_and_report(config: type[VendorConfig], rt: Runtime, form) -> list[tuple[str, str]]:
    """Save the form; the (message, flash category) pairs to show: each problem, or what was saved."""
    changed, errors = save_form(config, rt, form)
    if errors:
        return [(message, "error") for message in errors]
    return [(f"Saved: {', '.join(n.upper() for n in changed)}." if changed else "Nothing changed.", "message")]


def _problem(config: type[VendorConfig], name: str, value: str) -> str | None:
    """Why a value cannot be stored (in words a person can act on), or None. Never echoes a secret."""
    field = Settings.model_fields[name]
    try:  # the field's constraints too (ge/le), not just its type
        TypeAdapter(Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation
                    ).validate_python(value)
    except ValidationError:
        return "not a valid value"
    if name.endswith("_api_base") and not value.startswith(("https://", "http://")):
        return "give the full address, starting with https://"
    check = getattr(config, "problem", None)  # a config class's own checks beyond the type (DigestConfig)
    if check is not None and (problem := check(name, value)):
        return problem
    if name == config.secret_field:
        from connectors import registry

        secrets = tuple(part.strip() for part in value.split(",") if part.strip())
        try:
            registry.inbound_class(config.source)(secrets)  # the connector decodes its keys: bad ones raise
        except ValueError as exc:
            return str(exc)
    return None
