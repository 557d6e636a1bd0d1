"""Readable tables of the insights' answers, for the terminal."""
from __future__ import annotations

# insight -> (list key in the answer, [(heading, key or dotted path)])
TABLES = {
    "customers": ("customers", [("contact", "contact_id"), ("name", "name"), ("phone", "phone"),
                                ("complaints", "complaints"), ("worst", "worst_score"),
                                ("last", "last_negative_at"), ("quote", "evidence.quote")]),
    "unanswered": ("customers", [("contact", "contact_id"), ("name", "name"), ("phone", "phone"),
                                 ("worst", "worst_score"), ("waiting h", "waiting_hours"),
                                 ("last touch", "last_touch_at"), ("quote", "evidence.quote")]),
    "lines": ("lines", [("rank", "rank"), ("line", "line"), ("name", "line_name"), ("negative", "negative"),
                        ("of", "interactions"), ("% neg", "percent_negative"), ("mean", "mean_score")]),
    "agents": ("agents", [("agent", "agent"), ("name", "agent_name"), ("n", "interactions"),
                          ("neg", "negative"), ("neu", "neutral"), ("pos", "positive"),
                          ("% neg", "percent_negative"), ("mean", "mean_score"), ("escalations", "escalations"),
                          ("recovered", "recovered"), ("top complaint", "top_complaint_theme")]),
    "themes": ("themes", [("rank", "rank"), ("theme", "theme"), ("interactions", "interactions"),
                          ("customers", "customers"), ("%", "percent_of_interactions"),
                          ("example", "examples.0.quote")]),
    "spikes": ("spikes", [("theme", "theme"), ("customers", "customers"), ("interactions", "interactions"),
                          ("first", "first_at"), ("last", "last_at"), ("example", "examples.0.quote")]),
    "trend": ("weeks", [("week of", "week_start"), ("n", "interactions"), ("mean", "mean_score"),
                        ("neg", "counts.negative"), ("neu", "counts.neutral"), ("pos", "counts.positive"),
                        ("partial", "partial")]),
    "escalations": ("escalations", [("interaction", "interaction_id"), ("contact", "contact.contact_id"),
                                    ("name", "contact.name"), ("at", "at"), ("reason", "reason"),
                                    ("waiting h", "waiting_hours"), ("quote", "evidence.quote")]),
    "callbacks": ("callbacks", [("contact", "contact.contact_id"), ("name", "contact.name"),
                                ("at", "interaction.at"), ("score", "interaction.score"),
                                ("back after h", "callback.hours_after"), ("quote", "interaction.quote")]),
}
SUMMARY = {
    "mix": ["total", "counts", "percent", "complaints", "compliments", "complaint_to_compliment"],
    "trend": ["verdict", "slope_per_week", "rule"],
    "change": ["theme", "before", "after", "change", "percent_change", "verdict"],
    "callbacks": ["line", "total", "top_issue", "recurring_themes"],
    "customers": ["more"],
    "unanswered": ["more"],
    "escalations": ["more"],
    "spikes": ["min_customers"],
    "themes": ["sentiment", "interactions_considered"],
}
MAX_CELL = 60


def render(name: str, answer: dict) -> str:
    """The answer as a heading, summary lines and a table."""
    window = answer["window"]
    lines = [f"{name}: {window['since']} to {window['until']} ({window['timezone']})"]
    for key in SUMMARY.get(name, []):
        lines.append(f"  {key}: {_text(answer.get(key), 200)}")
    if name in TABLES:
        key, columns = TABLES[name]
        lines.append(table(columns, answer.get(key) or []))
    return "\n".join(lines)


def table(columns: list[tuple[str, str]], rows: list[dict]) -> str:
    if not rows:
        return "  (none)"
    cells = [[_text(_get(row, path)) for _, path in columns] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, (h, _) in enumerate(columns)]
    out = ["  " + "  ".join(h.ljust(w) for (h, _), w in zip(columns, widths))]
    out += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in cells]
    return "\n".join(line.rstrip() for line in out)


def _get(row, path: str):
    for part in path.split("."):
        if isinstance(row, list):
            row = row[int(part)] if part.isdigit() and int(part) < len(row) else None
        elif isinstance(row, dict):
            row = row.get(part)
        else:
            return None
    return row


def _text(value, limit: int = MAX_CELL) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        value = ", ".join(f"{k}={_text(v, limit)}" for k, v in value.items() if k != "window")
    elif isinstance(value, list):
        value = ", ".join(_text(v, limit) for v in value)
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
