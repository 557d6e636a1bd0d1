"""Customer-service phrase rules: loaded from `scoring/lexicon_rules.json` and matched fast.

The rules are data (pattern, weight, signal, explanation, trigger words and two flags); this
module only compiles and applies them. Running ~30 rich regexes on every text would cost more
than VADER itself, so each rule names trigger words, one of which is in any text it can match:
a text's words are looked up once and only the rules they point to are run (most texts run
none). Patterns are lower case and run on lower-cased text. Nothing is loaded at import time.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

DEFAULT_PATH = Path(__file__).with_name("lexicon_rules.json")
_MACRO = re.compile(r"<([A-Z]+)>")
_CLAUSE_BREAK = re.compile(r"[.,;:!?()\"]")
_TOKEN = re.compile(r"[a-z']+")
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Rule:
    """One phrase rule: when `pattern` matches, `weight` is added and `signal` reported."""

    signal: str
    pattern: str
    weight: float
    explanation: str
    mask: bool = False
    negatable: bool = False
    triggers: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Hit:
    """One rule that fired on a text, with the spans it matched (all of them for a mask)."""

    rule: Rule
    spans: tuple[tuple[int, int], ...]


def normalise(text: str) -> str:
    """Collapse whitespace to single spaces and straighten curly apostrophes (rules expect this)."""
    if "\u2019" in text or "\u2018" in text or "`" in text:
        text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    return _SPACES.sub(" ", text).strip()


def expand_macros(pattern: str, macros: dict[str, str]) -> str:
    """Replace each ``<NAME>`` in a pattern by its macro text; unknown names are an error."""

    def substitute(match: re.Match[str]) -> str:
        """The macro text for one ``<NAME>``."""
        name = match.group(1)
        if name not in macros:
            raise ValueError(f"unknown macro <{name}> in rule pattern")
        return macros[name]

    return _MACRO.sub(substitute, pattern)


class RuleSet:
    """Compiled rules plus the negation settings they share."""

    def __init__(self, rules: Iterable[Rule], negators: Iterable[str] = (), window: int = 3) -> None:
        """Compile the rules and index them by trigger word; signals must be unique."""
        self.rules = tuple(rules)
        signals = [rule.signal for rule in self.rules]
        if len(signals) != len(set(signals)):
            raise ValueError("rule signals must be unique")
        self.negators = frozenset(word.lower() for word in negators)
        self.window = window
        self._compiled = tuple(re.compile(rule.pattern) for rule in self.rules)
        self._always = tuple(i for i, rule in enumerate(self.rules) if not rule.triggers)
        self._by_trigger: dict[str, tuple[int, ...]] = {}
        for i, rule in enumerate(self.rules):
            for word in rule.triggers:
                self._by_trigger[word] = self._by_trigger.get(word, ()) + (i,)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RuleSet":
        """Build from the JSON layout of `lexicon_rules.json`."""
        macros = data.get("macros", {})
        negation = data.get("negation", {})
        rules = [_rule_from_dict(entry, macros) for entry in data["rules"]]
        return cls(rules, negation.get("words", ()), negation.get("window", 3))

    @classmethod
    def load(cls, path: str | Path | None = None) -> "RuleSet":
        """Read and compile a rule file (the packaged one by default)."""
        with open(path or DEFAULT_PATH, encoding="utf-8") as handle:
            return cls.from_dict(json.load(handle))

    def find(self, text: str, gated: bool = True) -> list[Hit]:
        """Rules that fire on a normalised lower-case text, in rule order; `gated=False` tries all."""
        hits = []
        for i in self._candidates(text) if gated else range(len(self.rules)):
            spans = self._spans(self.rules[i], self._compiled[i], text)
            if spans:
                hits.append(Hit(self.rules[i], spans))
        return hits

    def _candidates(self, text: str) -> list[int]:
        """Indexes of rules whose trigger words occur in the text, plus untriggered rules."""
        found = set(self._always)
        by_trigger = self._by_trigger
        for word in set(_WORD.findall(text)):
            found.update(by_trigger.get(word, ()))
        return sorted(found)

    def _spans(self, rule: Rule, compiled: re.Pattern[str], text: str) -> tuple[tuple[int, int], ...]:
        """Spans where a rule fires, negated ones dropped: all of them for a mask, else the first."""
        spans = []
        for match in compiled.finditer(text):
            if rule.negatable and self.negated(text, match.start()):
                continue
            spans.append(match.span())
            if not rule.mask:
                break
        return tuple(spans)

    def negated(self, text: str, start: int) -> bool:
        """Whether a negation word is among the last `window` words of the clause before `start`."""
        before = text[max(0, start - 60):start]
        clause = _CLAUSE_BREAK.split(before)[-1]
        tokens = _TOKEN.findall(clause)[-self.window:] if self.window else []
        return any(token in self.negators or token.endswith("n't") for token in tokens)


def _rule_from_dict(entry: dict[str, Any], macros: dict[str, str]) -> Rule:
    """One Rule from its JSON object, macros expanded and the pattern checked."""
    pattern = expand_macros(entry["pattern"], macros)
    if re.search(r"[A-Z]", re.sub(r"\\.", "", pattern)):
        raise ValueError(f"rule {entry['signal']!r}: patterns run on lower-cased text, write them in lower case")
    re.compile(pattern)
    triggers = entry.get("triggers", "")
    words = triggers.split() if isinstance(triggers, str) else list(triggers)
    return Rule(
        signal=entry["signal"],
        pattern=pattern,
        weight=float(entry["weight"]),
        explanation=entry.get("explanation", ""),
        mask=bool(entry.get("mask", False)),
        negatable=bool(entry.get("negatable", False)),
        triggers=frozenset(word.lower() for word in words),
    )


def masked(text: str, hits: Iterable[Hit]) -> str:
    """The text with every masking rule's span blanked out, for the base model to read."""
    spans = sorted(span for hit in hits if hit.rule.mask for span in hit.spans)
    if not spans:
        return text
    pieces, cursor = [], 0
    for start, end in spans:
        if start > cursor:
            pieces.append(text[cursor:start])
        cursor = max(cursor, end)
    pieces.append(text[cursor:])
    return " ".join(piece.strip() for piece in pieces if piece.strip())
