"""Digest data -> the DigestMessage every destination renders (parts with links, tables and charts), and the
plain text (the terminal preview and the e-mail's text alternative). Numbers are shown as the insights
answered them; nothing is computed here but formatting."""
from __future__ import annotations

from connectors.notify import DigestBar, DigestLine, DigestMessage, DigestPart, DigestTable
from integration.digest.build import Digest

LABELS = ("negative", "neutral", "positive")


def message(digest: Digest) -> DigestMessage:
    """The digest as a DigestMessage: structured parts, the plain sections and the whole plain text."""
    parts = tuple(builder(digest) for builder in PARTS)
    title = f"Undertone weekly digest, {digest.week}"
    subtitle = (f"{digest.first_day:%a %d %b} to {digest.last_day:%a %d %b %Y} ({digest.timezone}); every number "
                f"is the insights API's answer for the same week")
    sections = tuple((part.heading, tuple(_plain_lines(part))) for part in parts)
    text = plain_text(title, subtitle, parts)
    return DigestMessage(title, digest.week, sections, parts=parts, subtitle=subtitle, text=text)


# --- the parts, in the order the issue lists them

def _mix(d: Digest) -> DigestPart:
    now, before = d.parts["mix"]["answer"], d.parts["mix_last_week"]["answer"]

    def said(a: dict) -> str:
        counts = ", ".join(f"{a['counts'][k]} {k} ({_pct(a['percent'][k])})" for k in LABELS)
        return f"{a['total']} interactions: {counts}"

    summary = (f"This week {said(now)}. Last week {said(before)}. Complaints to compliments: "
               f"{_ratio(now['complaint_to_compliment'])} this week, {_ratio(before['complaint_to_compliment'])} "
               f"last week ({now['complaints']} to {now['compliments']}; {before['complaints']} to "
               f"{before['compliments']}).")
    chart = tuple(DigestBar(label, tuple((k, a["counts"][k]) for k in LABELS), f"{a['total']} interactions")
                  for label, a in (("This week", now), ("Last week", before)))
    return DigestPart("Sentiment mix, this week against last", summary, chart=chart)


def _trend(d: Digest) -> DigestPart:
    a = d.parts["trend"]["answer"]
    weeks = a["weeks"]
    summary = (f"Verdict: {a['verdict']} (slope {a['slope_per_week']:+.3f} per week of the weekly mean score over "
               f"{len(weeks)} weeks; rule: {a['rule']}).")
    rows = tuple((w["week_start"], str(w["interactions"]), *(str(w["counts"][k]) for k in LABELS),
                  _score(w["mean_score"])) for w in weeks)
    table = DigestTable(("Week of", "Interactions", "Negative", "Neutral", "Positive", "Mean score"), rows)
    chart = tuple(DigestBar(w["week_start"], tuple((k, w["counts"][k]) for k in LABELS),
                            f"mean {_score(w['mean_score'])}") for w in weeks)
    return DigestPart("Week-over-week trend", summary, table=table, chart=chart)


def _themes(part: str, heading: str, empty: str):
    def build(d: Digest) -> DigestPart:
        a = d.parts[part]["answer"]
        lines = []
        for row in a["themes"]:
            quote = next((e.get("quote") for e in row.get("examples", []) if e.get("quote")), None)
            text = (f"{row['rank']}. {row['theme']}: {row['interactions']} interactions "
                    f"({_pct(row['percent_of_interactions'])} of {a['interactions_considered']})")
            links = [("Example", _admin(d, e["interaction_id"])) for e in row.get("examples", [])[:1]]
            lines.append(DigestLine(text + (f": \u201c{quote}\u201d" if quote else ""), _links(links)))
        summary = (f"Among {a['interactions_considered']} {'' if a['sentiment'] == 'any' else a['sentiment'] + ' '}"
                   f"interactions." if a["themes"] else empty)
        return DigestPart(heading, summary, tuple(lines))
    return build


def _customers(d: Digest) -> DigestPart:
    a = d.parts["customers"]["answer"]
    lines = []
    for c in a["customers"]:
        ev = c["evidence"]
        flags = "; ".join(f["reason"] for f in ev.get("flags", []) if f.get("reason"))
        competitor = any(f.get("rule") == "competitor" for f in ev.get("flags", []))
        text = (f"{_who(c)}: worst score {c['worst_score']:+.2f}, {c['complaints']} complaint(s)"
                + (f"; {flags}" if flags else "") + (" (named a competitor)" if competitor else "")
                + (f": \u201c{ev['quote']}\u201d" if ev.get("quote") else ""))
        lines.append(DigestLine(text, _links([("CRM record", c.get("crm_url")),
                                              ("Interaction", _admin(d, ev["interaction_id"]))])))
    summary = (f"{len(a['customers'])}{'+' if a['more'] else ''} customers were negative or frustrated this week, "
               f"worst first; escalation flags (anger, a competitor named, a refund asked...) are shown."
               if lines else "No customer was negative this week.")
    return DigestPart("Customers who expressed frustration or named a competitor", summary, tuple(lines))


def _unanswered(d: Digest) -> DigestPart:
    a = d.parts["unanswered"]["answer"]
    lines = []
    for c in a["customers"]:
        ev = c["evidence"]
        lines.append(DigestLine(
            f"{_who(c)}: negative {ev['channel']} on {(c['last_negative_at'] or '')[:10]}, waiting "
            f"{c['waiting_hours']:g} h; last touch from us: {(c['last_touch_at'] or 'never')[:10]}",
            _links([("CRM record", c.get("crm_url")), ("Interaction", _admin(d, ev["interaction_id"]))])))
    summary = (f"{len(a['customers'])}{'+' if a['more'] else ''} customers with a negative interaction in the last 7 "
               f"days have had no call, text, e-mail or reply from us since." if lines
               else "Every customer with a negative interaction in the last 7 days has heard back from us.")
    return DigestPart("Negative customers not heard back within 7 days", summary, tuple(lines))


def _callbacks(d: Digest) -> DigestPart:
    a = d.parts["callbacks"]["answer"]
    lines = []
    for pair in a["callbacks"]:
        first, back = pair["interaction"], pair["callback"]
        who = _who(pair.get("contact") or {})
        lines.append(DigestLine(
            f"{who}: back {back['hours_after']:g} h after an unresolved {first['channel']}"
            + (f" on {first['line_name'] or first['line']}" if first.get("line") else "")
            + (f" ({', '.join(first['themes'])})" if first.get("themes") else ""),
            _links([("CRM record", (pair.get("contact") or {}).get("crm_url")),
                    ("First", _admin(d, first["interaction_id"])), ("Callback", _admin(d, back["interaction_id"]))])))
    recurring = ", ".join(f"{r['theme']} ({r['pairs']})" for r in a["recurring_themes"][:5])
    summary = (f"{a['total']} unresolved interactions were followed by a callback within 48 hours; the issue that "
               f"kept coming up: {a['top_issue'] or 'none'}" + (f" (all: {recurring})." if recurring else ".")
               if a["total"] else "No unresolved interaction was followed by a callback within 48 hours.")
    return DigestPart("Callbacks within 48 hours after unresolved interactions", summary, tuple(lines))


def _spikes(d: Digest) -> DigestPart:
    a = d.parts["spikes"]["answer"]
    lines = [DigestLine(f"{s['theme']}: {s['customers']} different customers negative, {s['interactions']} "
                        f"interactions, {(s['first_at'] or '')[:10]} to {(s['last_at'] or '')[:10]}",
                        _links([("Example", _admin(d, e["interaction_id"])) for e in s.get("examples", [])[:1]]))
             for s in a["spikes"]]
    window = a["window"]
    summary = (f"Themes {a['min_customers']} or more different customers were negative about between "
               f"{window['first_day']} and {window['last_day']}." if lines else
               f"No theme had {a['min_customers']} or more different customers negative about it between "
               f"{window['first_day']} and {window['last_day']}.")
    return DigestPart("Spiking issues", summary, tuple(lines))


def _table(part: str, heading: str, key: str, name: str, extra: tuple = ()):
    def build(d: Digest) -> DigestPart:
        rows = d.parts[part]["answer"][part]
        columns = (heading.split(" ")[-1].capitalize(), "Interactions", "Negative", "% negative", "Positive",
                   "Mean score", "Escalations", *(label for label, _ in extra))
        table = DigestTable(columns, tuple(
            (r[name] or r[key] or "(none)", str(r["interactions"]), str(r["negative"]), _pct(r["percent_negative"]),
             str(r["positive"]), _score(r["mean_score"]), str(r["escalations"]),
             *(str(r.get(field) if r.get(field) is not None else "-") for _, field in extra)) for r in rows))
        summary = f"{len(rows)} {part} this week." if rows else f"No {part} had interactions this week."
        return DigestPart(heading, summary, table=table if rows else None)
    return build


def _waiting(d: Digest) -> DigestPart:
    a = d.parts["waiting"]["answer"]
    lines = []
    for c in a["customers"]:
        ev, task = c["interaction"], c["follow_up_task"]
        lines.append(DigestLine(
            f"{_who(c)}: negative {ev['channel']} {c['waiting_days']:g} days ago, no reply since; "
            + ("follow-up task open in the CRM" if task and task["crm_task_id"] else
               "follow-up task being opened" if task else "no task yet (the daily job opens one)"),
            _links([("CRM record", c.get("crm_url")), ("Interaction", _admin(d, ev["interaction_id"]))])))
    summary = (f"{a['total']} customers whose latest interaction was negative have heard nothing from us for "
               f"{a['after_days']} days or more; each gets a follow-up task." if a["total"] else
               f"No customer has waited {a['after_days']} days or more after a negative interaction.")
    return DigestPart("No one left waiting", summary, tuple(lines))


PARTS = (
    _mix, _trend,
    _themes("topics", "Top five themes", "No themes were found this week."),
    _themes("issues", "Issues ranked across negative interactions", "No negative interactions this week."),
    _customers, _unanswered, _callbacks, _spikes,
    _themes("praise", "What customers praised", "No positive interactions this week."),
    _table("lines", "Per line", "line", "line_name"),
    _table("agents", "Per agent", "agent", "agent_name", (("Recovered", "recovered"), ("Top complaint",
                                                                                        "top_complaint_theme"))),
    _waiting,
)


# --- plain text

def plain_text(title: str, subtitle: str, parts: tuple[DigestPart, ...]) -> str:
    """The whole digest as plain text: the terminal preview and the e-mail's text alternative."""
    out = [title, "=" * len(title), subtitle, ""]
    for part in parts:
        out += [part.heading, "-" * len(part.heading)]
        out += _plain_lines(part)
        if part.table:
            out += _text_table(part.table)
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _plain_lines(part: DigestPart) -> list[str]:
    lines = [part.summary] if part.summary else []
    for bar in part.chart if not part.table else ():
        total = sum(n for _, n in bar.segments) or 1
        cells = "".join(symbol * round(20 * n / total) for (_, n), symbol in zip(bar.segments, "-=+"))
        lines.append(f"  {bar.label:<10} [{cells:<20}] " + ", ".join(f"{k} {n}" for k, n in bar.segments))
    for line in part.lines:
        links = "; ".join(f"{label}: {url}" for label, url in line.links)
        lines.append(f"* {line.text}" + (f" ({links})" if links else ""))
    return lines


def _text_table(table: DigestTable) -> list[str]:
    widths = [max(len(str(c)) for c in column) for column in zip(table.columns, *table.rows)]
    row = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return [row(table.columns), row("-" * w for w in widths), *(row(r) for r in table.rows)]


# --- formatting

def _pct(value) -> str:
    return "-" if value is None else f"{value:g}%"


def _ratio(value) -> str:
    return "no compliments" if value is None else f"{value:g}"


def _score(value) -> str:
    return "-" if value is None else f"{value:+.2f}"


def _who(contact: dict) -> str:
    return contact.get("name") or contact.get("phone") or contact.get("email") or f"contact {contact.get('contact_id')}"


def _admin(d: Digest, interaction_id) -> str | None:
    base = d.public_base_url
    return f"{base.rstrip('/')}/admin/interactions/{interaction_id}" if base and interaction_id else None


def _links(pairs) -> tuple[tuple[str, str], ...]:
    return tuple((label, url) for label, url in pairs if url)
