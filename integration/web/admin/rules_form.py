"""The /admin/rules form <-> the three rules documents (escalation, follow-up, themes).

`apply(kind, document, form)` returns a copy of `document` with the form's edits and the messages for
values that are not even the right type (a threshold that is not a number); rule-level checks are
`integration.store.rules.validate`'s. Lists are one entry per line; blank lines are dropped.
"""
from __future__ import annotations

from typing import Mapping

from integration.store import rules as owner_rules

NEW_THEME = "new"


def lines(value: str | None) -> list[str]:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


def apply(kind: str, document: dict, form: Mapping[str, str]) -> tuple[dict, list[str]]:
    edited = owner_rules.copy_of(document)
    errors: list[str] = []
    {"escalation": _escalation, "follow_up": _follow_up, "themes": _themes}[kind](edited, form, errors)
    return edited, errors


def _number(form, name: str, current, what: str, errors: list[str], integer: bool = False):
    raw = form.get(name)
    if raw is None:
        return current
    try:
        value = float(raw.strip().replace(",", "."))
    except ValueError:
        errors.append(f"{what} must be a number; got {raw.strip()[:40]!r}.")
        return current
    if value != value or value in (float("inf"), float("-inf")):
        errors.append(f"{what} must be a number; got {raw.strip()[:40]!r}.")
        return current
    return int(value) if integer and value == int(value) else value


def _set(item: dict, name: str, value, absent) -> None:
    """Set a field; a value equal to what its absence means removes it, so an untouched form changes nothing."""
    if value == absent:
        item.pop(name, None)
    else:
        item[name] = value


def _escalation(document: dict, form, errors: list[str]) -> None:
    if "competitors" in form:
        document["competitors"] = lines(form.get("competitors"))
    for rule in document["rules"]:
        name, prefix = rule["name"], f"esc.{rule['name']}."
        if prefix + "present" not in form:
            continue  # the form did not show this rule (a rule added to the file since the page was loaded)
        _set(rule, "enabled", form.get(prefix + "enabled") == "on", absent=True)
        if prefix + "reason" in form:
            rule["reason"] = form.get(prefix + "reason", "").strip()
        if rule["kind"] == "score":
            rule["below"] = _number(form, "threshold", rule.get("below"),
                                    "The negative-score threshold", errors)
        elif rule["kind"] == "repeat_contact":
            rule["within_hours"] = _number(form, prefix + "within_hours", rule.get("within_hours"),
                                           f"Rule {name!r}: 'within hours'", errors, integer=True)
        elif rule["kind"] == "pattern":
            _set(rule, "phrases", lines(form.get(prefix + "phrases")), absent=[])
            if prefix + "pattern" in form:
                rule["pattern"] = form.get(prefix + "pattern", "").strip()


def _follow_up(document: dict, form, errors: list[str]) -> None:
    document["max_age_days"] = _number(form, "fu.max_age_days", document.get("max_age_days", 7),
                                       "'Only for interactions from the last N days'", errors, integer=True)
    for index, rule in enumerate(document["rules"]):
        prefix, label = f"fu.{index}.", f"Follow-up rule {rule['reason']!r}"
        if prefix + "present" not in form:
            continue
        if rule["when"] == "score_at_most":
            rule["threshold"] = _number(form, prefix + "threshold", rule.get("threshold"),
                                        f"{label}: the score threshold", errors)
        rule["due_hours"] = _number(form, prefix + "due_hours", rule.get("due_hours"),
                                    f"{label}: the SLA (due in hours)", errors, integer=True)
        for field in ("priority", "task_type", "owner_id"):
            if prefix + field in form:
                value = form.get(prefix + field, "").strip()
                _set(rule, field, value.upper() if field != "owner_id" else value, absent="")
        for field in ("subject", "body"):
            if prefix + field in form:
                rule[field] = form.get(prefix + field, "").replace("\r\n", "\n").strip()


def _themes(document: dict, form, errors: list[str]) -> None:
    kept = []
    for index, theme in enumerate(document["themes"]):
        prefix = f"th.{index}."
        if prefix + "present" in form:
            if form.get(prefix + "remove") == "on":
                continue
            theme["label"] = form.get(prefix + "label", theme.get("label", "")).strip()
            theme["keywords"] = lines(form.get(prefix + "keywords"))
            theme["examples"] = lines(form.get(prefix + "examples"))
        kept.append(theme)
    name = (form.get(f"th.{NEW_THEME}.theme") or "").strip()
    keywords, examples = lines(form.get(f"th.{NEW_THEME}.keywords")), lines(form.get(f"th.{NEW_THEME}.examples"))
    label = (form.get(f"th.{NEW_THEME}.label") or "").strip()
    if name or keywords or examples or label:
        if not name:
            errors.append("The new theme needs a name (lower-case letters, digits and _).")
        else:
            kept.append({"theme": name, "label": label or name.replace("_", " ").capitalize(),
                         "keywords": keywords, "examples": examples})
    document["themes"] = kept
