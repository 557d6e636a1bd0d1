"""Escalation flags: when a customer's words need a person's attention now, why, and the evidence.

Rules are data (`scoring/escalation_rules.json`, or a file named by ESCALATION_RULES_PATH, or the
owner's copy edited in the console and passed in as a document); the competitor list comes from the
document or the COMPETITORS setting. A rule may be switched off (`"enabled": false`); a pattern rule
may carry plain `phrases` (matched as whole words, case-insensitive) beside or instead of its regex.
Patterns run on the customer's turns only, so an agent saying "let me get my manager" never escalates a
call. They work with any scorer: the lexicon's signals are not needed.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from scoring.base import Score

DEFAULT_PATH = Path(__file__).with_name("escalation_rules.json")
NEGATIONS = frozenset("not no never don't dont doesn't doesnt didn't didnt won't wont isn't isnt wasn't "
                      "wasnt can't cant cannot wouldn't wouldnt shouldn't shouldnt without".split())
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
_WORD = re.compile(r"[a-z']+")
EVIDENCE_CHARS = 240
NEGATION_WINDOW = 4  # words before a match that may negate it ("no need for a refund")
# A negation inside a condition ("if you can't fix it I'll cancel", "unless you don't...") negates the condition,
# not the threat; and a negation followed by a new clause ("not happy so I'm cancelling") negates that clause only.
CONDITIONALS = frozenset("if unless until till otherwise else".split())
CLAUSE_STARTS = frozenset("i i'm im i'll ill i've ive i'd we we're we'll we've we'd so then and but or "
                          "you'll you're".split())
# The escalation kind (the labelling guideline's names) each packaged rule stands for; the score and anger
# rules are sentiment-only and name no kind. Flags of the learned detector are named "learned_<kind>".
RULE_KINDS = {"leaving": "cancel", "leaving_stated": "cancel", "refund": "refund", "competitor": "competitor",
              "switching": "competitor", "review_threat": "bad_review", "chargeback": "chargeback", "legal": "legal",
              "manager": "manager", "repeat_contact": "repeat_contact", "contacted_repeatedly": "repeat_contact"}
LEARNED_PREFIX = "learned_"
# A cancellation is "calm" (priority low) unless the message is negative with at least this confidence: the
# product treats a negative label below 0.6 as uncertain (integration.defaults.UNCERTAIN_CONFIDENCE).
CALM_BELOW_CONFIDENCE = 0.6


def is_calm(overall: Score) -> bool:
    """Whether a message reads calm: not negative, or negative without confidence."""
    return overall.label != "negative" or overall.confidence < CALM_BELOW_CONFIDENCE


def kind_of(rule: str) -> str | None:
    """The escalation kind a flag's rule stands for, or None for sentiment-only rules (strong_negative, anger)."""
    if rule.startswith(LEARNED_PREFIX):
        return rule[len(LEARNED_PREFIX):]
    return RULE_KINDS.get(rule)


@dataclass(frozen=True)
class Flag:
    """One escalation: the rule that fired, the reason a person reads, and the words that showed it."""

    rule: str
    reason: str
    evidence: str = ""
    priority: str = "high"  # "low" for a calm cancellation: still churn, less urgent than an angry one

    def as_dict(self) -> dict:
        entry = {"rule": self.rule, "reason": self.reason, "evidence": self.evidence}
        if self.priority != "high":
            entry["priority"] = self.priority
        return entry


@dataclass(frozen=True)
class History:
    """What the rules need to know about the customer's earlier interactions."""

    negative_within_hours: float | None = None  # hours since the latest earlier negative interaction


@dataclass
class EscalationRules:
    """Compiled rules; `evaluate` returns every flag that fires, in rule order."""

    rules: list[dict]
    competitors: tuple[str, ...] = ()
    _patterns: dict[str, re.Pattern] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, path: str | Path | None = None, competitors: Sequence[str] = ()) -> "EscalationRules":
        return cls.from_document(json.loads(Path(path or DEFAULT_PATH).read_text()), competitors)

    @classmethod
    def from_document(cls, document: dict, competitors: Sequence[str] = ()) -> "EscalationRules":
        """Rules from a parsed rules document (the file's shape); rules switched off are left out."""
        names = tuple(dict.fromkeys(n.strip() for n in [*document.get("competitors", []), *competitors] if n.strip()))
        rules = cls([r for r in document["rules"] if r.get("enabled", True)], names)
        rules.compile()
        return rules

    def compile(self) -> None:
        """Compile patterns once; raise ValueError naming a bad rule."""
        for rule in self.rules:
            if rule["kind"] == "pattern":
                pattern = pattern_with_phrases(rule.get("pattern", ""), rule.get("phrases", ()))
                if pattern:
                    self._patterns[rule["name"]] = _compile(rule["name"], pattern)
            elif rule["kind"] == "competitor" and self.competitors:
                names = "|".join(re.escape(n.lower()) for n in self.competitors)
                self._patterns[rule["name"]] = _compile(rule["name"], rf"\b(?:{names})\b")
            elif rule["kind"] not in ("score", "competitor", "repeat_contact"):
                raise ValueError(f"escalation rule {rule['name']!r}: unknown kind {rule['kind']!r}")

    def evaluate(self, customer_texts: Sequence[str], overall: Score, history: History | None = None) -> list[Flag]:
        """All flags for one interaction, from its customer texts, overall score and history."""
        flags = []
        for rule in self.rules:
            flag = self._check(rule, customer_texts, overall, history or History())
            if flag is not None:
                flags.append(flag)
        return flags

    def _check(self, rule: dict, texts: Sequence[str], overall: Score, history: History) -> Flag | None:
        kind, name, reason = rule["kind"], rule["name"], rule["reason"]
        if kind == "score":
            return Flag(name, reason, f"score {overall.score:.2f}") if overall.score <= rule["below"] else None
        if kind == "repeat_contact":
            hours = history.negative_within_hours
            if hours is not None and hours <= rule["within_hours"] and overall.label == "negative":
                return Flag(name, reason, f"previous negative interaction {hours:.0f} h earlier")
            return None
        pattern = self._patterns.get(name)
        if pattern is None or (rule.get("unless_positive") and overall.label == "positive"):
            return None  # a competitor rule with no competitors configured, or a positive message
        evidence = _find(pattern, texts, negatable=rule.get("negatable", False), as_written=rule.get("case_sensitive", False))
        if evidence is None:
            return None
        calm = rule.get("calm_priority") and is_calm(overall)
        return Flag(name, reason, evidence, rule["calm_priority"] if calm else "high")


def phrase_pattern(phrase: str) -> str:
    """A plain phrase as a regex: its words in order, any run of spaces between them, whole words only."""
    words = phrase.lower().split()
    body = r"\s+".join(re.escape(w) for w in words)
    start = r"\b" if words and re.match(r"\w", words[0]) else ""
    end = r"\b" if words and re.search(r"\w$", words[-1]) else ""
    return f"{start}{body}{end}"


def pattern_with_phrases(pattern: str, phrases: Sequence[str]) -> str:
    """A rule's regex and its plain phrases as one alternation ('' when it has neither)."""
    parts = [pattern] if pattern else []
    parts += [phrase_pattern(p) for p in phrases if p.strip()]
    return "|".join(f"(?:{p})" for p in parts) if len(parts) > 1 else "".join(parts)


def summary_reason(flags: Sequence[Flag]) -> str | None:
    """The text for the CRM's escalation reason: every distinct reason, in rule order."""
    reasons = list(dict.fromkeys(f.reason for f in flags))
    return "; ".join(reasons) if reasons else None


def _find(pattern: re.Pattern, texts: Sequence[str], negatable: bool, as_written: bool = False) -> str | None:
    """The sentence of the first non-negated match (on the lower-cased text unless `as_written`), or None."""
    for text in texts:
        lowered = text.lower()
        for match in pattern.finditer(text if as_written else lowered):
            if negatable and _negated(lowered, match.start()):
                continue
            return _sentence_around(text, match.start())
    return None


def _negated(lowered: str, start: int) -> bool:
    """Whether a negation in the match's clause, at most NEGATION_WINDOW words before it, negates it: not when
    the negation sits in an if/unless condition, nor when a new clause ("I'll", "so") starts after it."""
    clause = _WORD.findall(re.split(r"[.,;:!?]", lowered[:start])[-1])
    before = clause[-NEGATION_WINDOW:]
    for index in range(len(before) - 1, -1, -1):
        if before[index] not in NEGATIONS:
            continue
        position = len(clause) - len(before) + index
        if _in_condition(clause, position):
            return False
        return not any(word in CLAUSE_STARTS for word in before[index + 1:])
    return False


def _in_condition(words: list[str], position: int) -> bool:
    """Whether words[position] sits in an if/unless clause: a conditional before it, and no new clause ("I", "so")
    between them other than the condition's own subject ("if I don't get...")."""
    for start in range(position - 1, -1, -1):
        if words[start] in CONDITIONALS:
            return not any(word in CLAUSE_STARTS for word in words[start + 2:position])
    return False


def _sentence_around(text: str, position: int) -> str:
    for match in _SENTENCE.finditer(text):
        if match.start() <= position < match.end():
            return match.group().strip()[:EVIDENCE_CHARS]
    return text.strip()[:EVIDENCE_CHARS]


def _compile(name: str, pattern: str) -> re.Pattern:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"escalation rule {name!r}: bad pattern: {exc}") from None
