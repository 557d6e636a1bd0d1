"""What we write into the CRM for a contact: its properties, one note per interaction, follow-up tasks.

Pure functions of what is stored, so a second sync computes the same thing and writes nothing new.
Property names are the fixed contract (README, connectors/hubspot/schema.py).
"""
from __future__ import annotations

import hashlib
import html
import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from connectors.crm import NoteSpec, TaskSpec
from integration import defaults
from integration.store.models import Interaction

RULES_PATH = Path(__file__).with_name("follow_up_rules.json")
TREND_MARGIN = 0.15  # mean score change between the two halves of the window that counts as a trend
WRITTEN_CHANNELS = {"email", "ticket", "chat", "review", "survey"}


@dataclass(frozen=True)
class ContactView:
    """A contact's scored interactions in the window, newest first, and its latest one."""

    latest: Interaction
    recent: list[Interaction]  # scored, within NEGATIVE_WINDOW_DAYS, newest first


def when(interaction: Interaction) -> datetime:
    return interaction.occurred_at or interaction.created_at


def contact_properties(view: ContactView, now: datetime) -> dict[str, str]:
    """The contact's sentiment properties: the latest interaction's, and the 30-day picture."""
    score = view.latest.score
    scores = [i.score.score for i in view.recent]
    return {
        "undertone_sentiment": score.intensity,
        "undertone_sentiment_score": f"{score.score:.3f}",
        "undertone_last_interaction_at": iso(when(view.latest)),
        "undertone_escalation": "true" if score.escalation_reason else "false",
        "undertone_escalation_reason": score.escalation_reason or "",
        "undertone_negative_count_30d": str(sum(1 for i in view.recent if i.score.label == "negative")),
        "undertone_score_30d": f"{sum(scores) / len(scores):.3f}" if scores else "",
        "undertone_trend": trend(view.recent, now),
        "undertone_top_theme": top_theme(view.recent),
    }


def trend(recent: list[Interaction], now: datetime) -> str:
    """improving / declining when the last 14 days' mean score differs from the 16 before by the margin."""
    half = now - timedelta(days=defaults.NEGATIVE_WINDOW_DAYS / 2)
    newer = [i.score.score for i in recent if when(i) >= half]
    older = [i.score.score for i in recent if when(i) < half]
    if not newer or not older:
        return "steady"
    change = sum(newer) / len(newer) - sum(older) / len(older)
    return "improving" if change >= TREND_MARGIN else "declining" if change <= -TREND_MARGIN else "steady"


def top_theme(recent: list[Interaction]) -> str:
    """The theme most interactions in the window carry (ties: the most recent); '' when none."""
    counts = Counter(t["theme"] for i in recent for t in {t["theme"]: t for t in i.score.themes or []}.values())
    if not counts:
        return ""
    best = max(counts.values())
    for interaction in recent:  # newest first
        for item in interaction.score.themes or []:
            if counts[item["theme"]] == best:
                return item["theme"]
    return ""


def note_body(interaction: Interaction) -> str:
    """The timeline note for one interaction (simple HTML: HubSpot renders note bodies as HTML)."""
    score = interaction.score
    lines = [f"<b>Undertone: {html.escape(score.intensity.replace('_', ' '))} {html.escape(interaction.channel)}</b>"
             f" (score {score.score:.2f}, confidence {score.confidence:.2f}"
             + ("; uncertain score" if score.confidence < defaults.UNCERTAIN_CONFIDENCE else "") + ")",
             f"When: {iso(when(interaction))}"]
    if score.trajectory in ("recovered", "soured"):
        lines.append(f"Trajectory: {score.trajectory} ({score.start_score:.2f} → {score.end_score:.2f})")
    for flag in score.flags or []:
        lines.append(f"Escalation: {html.escape(flag['reason'])} — “{html.escape(flag.get('evidence') or '')}”")
    if score.themes:
        lines.append("Themes: " + html.escape(", ".join(t["theme"] for t in score.themes)))
    if interaction.summary:
        lines.append("Summary: " + html.escape(interaction.summary[:2000]))
    link = safe_link(interaction.url, interaction.source)
    if link:
        lines.append(f'<a href="{html.escape(link, quote=True)}">Open in {html.escape(interaction.source)}</a>')
    return "<br>".join(lines)


# The hosts (and their subdomains) each provider's own links live on. A source not listed (generic:
# surveys, reviews, your own tools) has no one host, so any http(s) link of it is kept.
PROVIDER_HOSTS = {
    "quo": ("quo.com", "openphone.com"), "twilio": ("twilio.com",), "aircall": ("aircall.io",),
    "dialpad": ("dialpad.com",), "zendesk": ("zendesk.com",), "intercom": ("intercom.com", "intercom.io"),
    "freshdesk": ("freshdesk.com",), "hubspot": ("hubspot.com",),
}


def safe_link(url: str | None, source: str) -> str | None:
    """`url` when it is an http(s) link on the source's own host (any host for a source without one),
    else None: a link taken from a webhook body must not send a CRM user to another site."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host or parts.username or parts.password:
        return None
    allowed = PROVIDER_HOSTS.get(source)
    if allowed is not None and not any(host == h or host.endswith("." + h) for h in allowed):
        return None
    return url


def note_spec(interaction: Interaction, crm_contact_id: str, ref: str) -> NoteSpec:
    return NoteSpec(crm_contact_id=crm_contact_id, body=note_body(interaction), at=when(interaction), ref=ref)


@lru_cache(maxsize=4)
def follow_up_rules(path: str | None = None) -> dict:
    return json.loads(Path(path or RULES_PATH).read_text())


def follow_up(latest: Interaction, who: str, now: datetime, rules: dict | None = None) -> tuple[str, TaskSpec] | None:
    """(reason, task) for the first rule the latest interaction meets, if recent enough; else None.

    A rule's `owner_id` (set in the console) owns its tasks; without one the flush picks the contact's owner.
    """
    rules = rules or follow_up_rules()
    score = latest.score
    if when(latest) < now - timedelta(days=rules.get("max_age_days", 7)):
        return None
    for rule in rules["rules"]:
        if _meets(rule, score):
            values = _template_values(latest, who)
            return rule["reason"], TaskSpec(
                subject=rule["subject"].format(**values)[:255], body=rule["body"].format(**values).strip(),
                due_at=now + timedelta(hours=rule["due_hours"]), priority=rule.get("priority", "MEDIUM"),
                task_type=rule.get("task_type") or ("EMAIL" if latest.channel in WRITTEN_CHANNELS else "CALL"),
                owner_id=rule.get("owner_id") or None)
    return None


def waiting_task(latest: Interaction, who: str, now: datetime, days: float,
                 rules: dict | None = None) -> tuple[str, TaskSpec]:
    """(reason, task) for a customer left waiting since `latest` (the rules file's "waiting" entry)."""
    rule = (rules or follow_up_rules()).get("waiting") or follow_up_rules()["waiting"]
    values = {**_template_values(latest, who), "days": f"{days:g}"}
    return rule["reason"], TaskSpec(
        subject=rule["subject"].format(**values)[:255], body=rule["body"].format(**values).strip(),
        due_at=now + timedelta(hours=rule["due_hours"]), priority=rule.get("priority", "HIGH"),
        task_type=rule.get("task_type") or ("EMAIL" if latest.channel in WRITTEN_CHANNELS else "CALL"))


def resolution_line(latest: Interaction) -> str:
    return (f"Update {iso(when(latest))[:10]}: a later {latest.channel} was {latest.score.intensity.replace('_', ' ')}"
            f" (score {latest.score.score:.2f}); the issue may be resolved.")


def digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:24]


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _meets(rule: dict, score) -> bool:
    if rule["when"] == "escalation":
        return bool(score.escalation_reason)
    if rule["when"] == "score_at_most":
        return score.score <= rule["threshold"] and score.confidence >= rule.get("min_confidence", 0.0)
    raise ValueError(f"follow-up rule {rule['reason']!r}: unknown condition {rule['when']!r}")


def _template_values(latest: Interaction, who: str) -> dict[str, str]:
    score = latest.score
    worst = min(score.turn_scores or [], key=lambda t: t["score"], default=None)
    evidence = (latest.turns[worst["turn"]]["text"] if worst is not None and latest.turns else latest.summary or "")[:400]
    flags = score.flags or []
    return {
        "who": who, "channel": latest.channel, "when": iso(when(latest))[:16].replace("T", " "),
        "score": f"{score.score:.2f}", "intensity": score.intensity.replace("_", " "),
        "escalation": score.escalation_reason or "", "themes": ", ".join(t["theme"] for t in score.themes or []) or "-",
        "evidence": (flags[0].get("evidence") if flags and flags[0].get("evidence", "").strip() else evidence) or "",
        "link": safe_link(latest.url, latest.source) or "",
    }
