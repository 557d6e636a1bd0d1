"""The owner's rules: escalation rules, follow-up task rules and the theme taxonomy, edited in the console.

The shipped JSON files are the defaults (or the files ESCALATION_RULES_PATH, FOLLOW_UP_RULES_PATH and
THEMES_PATH name). The console stores an edited copy of a whole document in the `settings` table under
`rules:<kind>` (not secret), so every save bumps the settings version and each process sees it within
SETTINGS_REFRESH_S (integration/runtime.py). A path set in the environment wins, as every environment
variable does: that document is then read-only in the console.

This module reads the default files by path and validates with `re` alone: the web process may not
import `scoring` (import-linter), and scoring takes the documents as data (`from_document`).
"""
from __future__ import annotations

import copy
import json
import logging
import re
import string
from pathlib import Path

from integration.settings import Settings
from integration.store import settings_store
from integration.store.db import Database

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
KINDS = ("escalation", "follow_up", "themes")
PREFIX = "rules:"
SHIPPED = {
    "escalation": ROOT / "scoring" / "escalation_rules.json",
    "follow_up": ROOT / "integration" / "sync" / "follow_up_rules.json",
    "themes": ROOT / "scoring" / "themes.json",
}
PATH_SETTING = {"escalation": "escalation_rules_path", "follow_up": "follow_up_rules_path", "themes": "themes_path"}
TITLES = {"escalation": "Escalation rules", "follow_up": "Follow-up task rules", "themes": "Themes"}

# What a follow-up template may name (integration/sync/content.py:_template_values fills exactly these).
PLACEHOLDERS = ("who", "channel", "when", "score", "intensity", "escalation", "themes", "evidence", "link")
PRIORITIES = ("HIGH", "MEDIUM", "LOW")  # HubSpot's hs_task_priority values
TASK_TYPES = ("", "CALL", "EMAIL", "TODO")  # HubSpot's hs_task_type values; '' = by channel
CONDITIONS = ("escalation", "score_at_most")
MAX_PHRASE_CHARS = 200
MAX_TEMPLATE_CHARS = 4000
THEME_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class RulesError(ValueError):
    """A rules document that cannot be stored; `messages` says every reason."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


def key(kind: str) -> str:
    return PREFIX + kind


def in_environment(kind: str, settings: Settings) -> Path | None:
    """The file the environment names for this kind (it wins over the console), else None."""
    name = PATH_SETTING[kind]
    return getattr(settings, name) if name in settings.model_fields_set and getattr(settings, name) else None


def default(kind: str, settings: Settings) -> dict:
    """The document "Reset to defaults" returns to: the file a path setting names, else the shipped one."""
    path = getattr(settings, PATH_SETTING[kind]) or SHIPPED[kind]
    return json.loads(Path(path).read_text())


def effective(kind: str, settings: Settings, stored: dict[str, str]) -> dict:
    """The document in force: the environment's file, else the console's copy, else the default.

    A stored copy that no longer parses or validates is ignored (logged by kind) and the default used.
    """
    if in_environment(kind, settings) is None and key(kind) in stored:
        try:
            document = json.loads(stored[key(kind)])
            problems = validate(kind, document)
        except ValueError:
            problems = ["not JSON"]
        if not problems:
            return document
        log.warning("stored %s rules are not valid (%s); the defaults apply", kind, problems[0])
    return default(kind, settings)


def origin(kind: str, settings: Settings, stored: dict[str, str]) -> str:
    """environment | console | default: where the document in force comes from."""
    if in_environment(kind, settings) is not None:
        return "environment"
    return "console" if key(kind) in stored else "default"


def stored_rules(db: Database) -> dict[str, str]:
    """The console's copies, read now (the web shows what was just saved, not a cached view)."""
    return {key(k): v for k in KINDS if (v := settings_store.load(db, None, key(k))) is not None}


def save(db: Database, kind: str, document: dict) -> None:
    """Store the owner's copy after validating it; RulesError (nothing stored) when it is not valid."""
    problems = validate(kind, document)
    if problems:
        raise RulesError(problems)
    settings_store.save(db, None, key(kind), json.dumps(document, ensure_ascii=False), secret=False)


def reset(db: Database, kind: str) -> None:
    """Forget the owner's copy: the default applies again."""
    settings_store.delete(db, key(kind))


def copy_of(document: dict) -> dict:
    return copy.deepcopy(document)


# --- validation: every message names the rule or theme and says what to fix ---

def validate(kind: str, document) -> list[str]:
    if not isinstance(document, dict):
        return ["the rules must be a JSON object"]
    return {"escalation": _escalation, "follow_up": _follow_up, "themes": _themes}[kind](document)


def regex_problem(pattern: str) -> str | None:
    """Why `pattern` is not a valid regular expression, or None."""
    try:
        re.compile(pattern)
    except re.error as exc:
        return str(exc)
    return None


def phrase_problem(phrase) -> str | None:
    if not isinstance(phrase, str) or not phrase.strip():
        return "is empty"
    if len(phrase) > MAX_PHRASE_CHARS:
        return f"is longer than {MAX_PHRASE_CHARS} characters"
    if not any(c.isalnum() for c in phrase):
        return "has no letter or digit, so it could never match a word"
    return None


def _escalation(document: dict) -> list[str]:
    problems = []
    rules = document.get("rules")
    if not isinstance(rules, list) or not rules:
        return ["there are no escalation rules"]
    competitors = document.get("competitors", [])
    if not isinstance(competitors, list):
        problems.append("competitors must be a list of names")
    else:
        for index, name in enumerate(competitors, 1):
            why = phrase_problem(name)
            if why:
                problems.append(f"Competitor {index} {why}.")
    for rule, name in _named(rules, "name", "escalation rule", problems):
        if not isinstance(rule.get("reason"), str) or not rule["reason"].strip():
            problems.append(f"Rule {name!r}: the reason a person reads is empty.")
        kind = rule.get("kind")
        if kind == "score":
            below = rule.get("below")
            if not _number(below) or not -1.0 <= below < 0.0:
                problems.append(f"Rule {name!r}: the negative-score threshold must be a number from -1 up to"
                                f" (not including) 0; got {below!r}.")
        elif kind == "repeat_contact":
            hours = rule.get("within_hours")
            if not _number(hours) or not 1 <= hours <= 24 * 30:
                problems.append(f"Rule {name!r}: 'within hours' must be a number from 1 to 720; got {hours!r}.")
        elif kind == "pattern":
            problems += _pattern_rule(name, rule)
        elif kind != "competitor":
            problems.append(f"Rule {name!r}: unknown kind {kind!r}.")
    return problems


def _pattern_rule(name: str, rule: dict) -> list[str]:
    problems = []
    pattern, phrases = rule.get("pattern", ""), rule.get("phrases", [])
    if not isinstance(pattern, str):
        return [f"Rule {name!r}: the pattern must be text."]
    if pattern:
        why = regex_problem(pattern)
        if why:
            problems.append(f"Rule {name!r}: the pattern is not a valid regular expression ({why}).")
    if not isinstance(phrases, list):
        return problems + [f"Rule {name!r}: phrases must be a list."]
    for index, phrase in enumerate(phrases, 1):
        why = phrase_problem(phrase)
        if why:
            problems.append(f"Rule {name!r}: phrase {index} {why}.")
    if not pattern and not phrases and rule.get("enabled", True):
        problems.append(f"Rule {name!r} is on but has no phrases and no pattern: add a phrase or switch it off.")
    return problems


def _named(rules: list, key: str, what: str, problems: list[str]):
    """(rule, name) for each rule with a name under `key` not used before; a problem for each other rule."""
    seen = set()
    for rule in rules:
        name = rule.get(key) if isinstance(rule, dict) else None
        if not isinstance(name, str) or not name:
            problems.append(f"every {what} needs a {key}")
            continue
        if name in seen:
            problems.append(f"Two {what}s are called {name!r}.")
        seen.add(name)
        yield rule, name


def _follow_up(document: dict) -> list[str]:
    problems = []
    age = document.get("max_age_days", 7)
    if not _number(age) or not 1 <= age <= 90:
        problems.append(f"'Only for interactions from the last N days' must be from 1 to 90; got {age!r}.")
    rules = document.get("rules")
    if not isinstance(rules, list):
        return problems + ["follow-up rules must be a list"]
    for rule, reason in _named(rules, "reason", "follow-up rule", problems):
        label = f"Follow-up rule {reason!r}"
        if rule.get("when") not in CONDITIONS:
            problems.append(f"{label}: unknown condition {rule.get('when')!r}.")
        if rule.get("when") == "score_at_most":
            threshold = rule.get("threshold")
            if not _number(threshold) or not -1.0 <= threshold <= 1.0:
                problems.append(f"{label}: the score threshold must be a number from -1 to 1; got {threshold!r}.")
        hours = rule.get("due_hours")
        if not _number(hours) or not 0 < hours <= 24 * 30:
            problems.append(f"{label}: the SLA (due in hours) must be more than 0 and at most 720; got {hours!r}.")
        if rule.get("priority", "MEDIUM") not in PRIORITIES:
            problems.append(f"{label}: priority must be one of {', '.join(PRIORITIES)}.")
        if rule.get("task_type", "") not in TASK_TYPES:
            problems.append(f"{label}: task type must be CALL, EMAIL, TODO or empty (by channel).")
        owner = rule.get("owner_id", "")
        if owner and not (isinstance(owner, str) and owner.isdigit() and len(owner) <= 20):
            problems.append(f"{label}: the owner must be a HubSpot owner ID (digits) or empty.")
        for field, what in (("subject", "subject"), ("body", "body")):
            problems += [f"{label}: {what} {p}" for p in template_problems(rule.get(field))]
    return problems


def template_problems(template) -> list[str]:
    """What is wrong with a follow-up template: empty, too long, unknown or malformed placeholders."""
    if not isinstance(template, str) or not template.strip():
        return ["is empty."]
    if len(template) > MAX_TEMPLATE_CHARS:
        return [f"is longer than {MAX_TEMPLATE_CHARS} characters."]
    try:
        fields = [f for _, f, spec, conv in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        return [f"is not a valid template ({exc}); write a literal brace as {{{{ or }}}}."]
    unknown = [f for f in fields if f not in PLACEHOLDERS]
    if unknown:
        return [f"uses unknown placeholder {{{unknown[0]}}}; the placeholders are "
                + ", ".join("{" + p + "}" for p in PLACEHOLDERS) + "."]
    return []


def _themes(document: dict) -> list[str]:
    problems = []
    themes = document.get("themes")
    if not isinstance(themes, list) or not themes:
        return ["the taxonomy has no themes"]
    names = set()
    for theme in themes:
        name = theme.get("theme") if isinstance(theme, dict) else None
        if not isinstance(name, str) or not THEME_NAME.match(name):
            problems.append(f"Theme name {name!r}: use lower-case letters, digits and _ (start with a letter,"
                            " at most 40).")
            continue
        if name in names:
            problems.append(f"There are two themes called {name!r}.")
        names.add(name)
        keywords, examples = theme.get("keywords", []), theme.get("examples", [])
        if not isinstance(keywords, list) or not isinstance(examples, list):
            problems.append(f"Theme {name!r}: keywords and examples must be lists.")
            continue
        if not keywords and not examples:
            problems.append(f"Theme {name!r} has no keywords and no examples, so nothing could match it.")
        for index, keyword in enumerate(keywords, 1):
            why = phrase_problem(keyword)
            if why is None:
                bad = regex_problem(keyword)
                why = f"is not a valid regular expression ({bad})" if bad else None
            if why is None and re.fullmatch(keyword, ""):
                why = "matches empty text, so it would match everything"
            if why:
                problems.append(f"Theme {name!r}: keyword {index} {why}.")
        for index, example in enumerate(examples, 1):
            if not isinstance(example, str) or not example.strip():
                problems.append(f"Theme {name!r}: example {index} is empty.")
            elif len(example) > 500:
                problems.append(f"Theme {name!r}: example {index} is longer than 500 characters.")
    return problems


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
