"""Answers that count interactions, from the daily rollups: the sentiment mix (Q5, Q6), lines (Q2),
agents (Q13) and change (Q11)."""
from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from integration.insights import definitions as d
from integration.insights.base import percent, ranked
from integration.insights.params import AgentsQuery, ChangeQuery, LinesQuery, MixQuery, Query
from integration.insights.tables import NONE, InsightDaily, InsightDailyTheme, InsightName
from integration.insights.window import Window
from integration.settings import Settings


def daily(table, *columns, query: Query, window: Window):
    """SELECT columns FROM a rollup table over the window's days, with the query's filters."""
    stmt = select(*columns).where(table.day >= window.first_day, table.day <= window.last_day)
    for name in ("source", "channel", "line", "agent"):
        value = getattr(query, name)
        if value is not None:
            stmt = stmt.where(getattr(table, name) == value)
    return stmt


def label_sum(table, label: str):
    return func.coalesce(func.sum(case((table.label == label, table.n), else_=0)), 0)


def mix(session: Session, query: MixQuery, window: Window, settings: Settings) -> dict:
    """How many interactions were positive, neutral and negative, and complaints against compliments."""
    counts = {label: 0 for label in d.LABELS}
    stmt = daily(InsightDaily, InsightDaily.label, func.sum(InsightDaily.n), query=query, window=window
                 ).group_by(InsightDaily.label)
    for label, count in session.execute(stmt):
        counts[label] = counts.get(label, 0) + int(count)
    total = sum(counts.values())
    complaints, compliments = counts.get(d.COMPLAINT_LABEL, 0), counts.get(d.COMPLIMENT_LABEL, 0)
    return {"window": window.as_dict(), "total": total, "counts": counts,
            "percent": {label: percent(count, total) for label, count in counts.items()},
            "complaints": complaints, "compliments": compliments,
            "complaint_to_compliment": round(complaints / compliments, 3) if compliments else None}


def _grouped(session: Session, column: str, query, window: Window) -> list[dict]:
    key = getattr(InsightDaily, column)
    stmt = daily(InsightDaily, key, func.sum(InsightDaily.n), label_sum(InsightDaily, d.NEGATIVE),
                 label_sum(InsightDaily, d.NEUTRAL), label_sum(InsightDaily, d.POSITIVE),
                 func.sum(InsightDaily.score_sum), func.sum(InsightDaily.escalated), func.sum(InsightDaily.recovered),
                 query=query, window=window).group_by(key)
    names = dict(session.execute(select(InsightName.key, InsightName.name).where(InsightName.kind == column)).all())
    rows = []
    for value, total, negative, neutral, positive, score_sum, escalated, recovered in session.execute(stmt):
        total, negative, positive = int(total), int(negative), int(positive)
        if not total:
            continue
        rows.append({"id": value or None, "name": names.get(value), "interactions": total, "negative": negative,
                     "neutral": int(neutral), "positive": positive, "percent_negative": percent(negative, total),
                     "mean_score": round(score_sum / total, 3), "escalations": int(escalated),
                     "recovered": int(recovered),
                     "complaint_to_compliment": round(negative / positive, 3) if positive else None})
    return rows


def lines(session: Session, query: LinesQuery, window: Window, settings: Settings) -> dict:
    """Lines ranked by negative interactions (then by share negative); ties share a rank."""
    rows = _grouped(session, "line", query, window)
    rows.sort(key=lambda r: (-r["negative"], -(r["percent_negative"] or 0), r["id"] is None, r["id"] or ""))
    rows = ranked(rows, "negative")[: query.rows]
    return {"window": window.as_dict(), "lines": [{"line": r.pop("id"), "line_name": r.pop("name"), **r}
                                                  for r in rows]}


def agents(session: Session, query: AgentsQuery, window: Window, settings: Settings) -> dict:
    """Each agent's conversations side by side: volume, sentiment, escalations, recoveries, top complaint."""
    rows = _grouped(session, "agent", query, window)
    rows.sort(key=lambda r: (r["id"] is None, r["id"] or ""))
    rows = rows[: query.rows]
    top = _top_negative_theme(session, query, window)
    return {"window": window.as_dict(),
            "agents": [{"agent": r["id"], "agent_name": r["name"], "top_complaint_theme": top.get(r["id"] or NONE),
                        **{k: v for k, v in r.items() if k not in ("id", "name")}} for r in rows]}


def _top_negative_theme(session: Session, query, window: Window) -> dict:
    """agent -> the theme most of their negative interactions carry (alphabetical on a tie)."""
    t = InsightDailyTheme
    stmt = daily(t, t.agent, t.theme, func.sum(t.n), query=query, window=window).where(
        t.label == d.NEGATIVE).group_by(t.agent, t.theme)
    best: dict = {}
    for agent, theme, count in session.execute(stmt):
        if count and (agent not in best or (-count, theme) < (-best[agent][1], best[agent][0])):
            best[agent] = (theme, count)
    return {agent: theme for agent, (theme, _) in best.items()}


def change(session: Session, query: ChangeQuery, window: Window, settings: Settings) -> dict:
    """Complaints (about a theme) in the window against the same number of days just before it."""
    after, before = _complaints(session, query, window), _complaints(session, query, window.before())
    verdict = "increased" if after > before else "decreased" if after < before else "unchanged"
    return {"window": window.as_dict(), "theme": query.theme,
            "before": {"window": window.before().as_dict(), "complaints": before},
            "after": {"window": window.as_dict(), "complaints": after},
            "change": after - before, "percent_change": percent(after - before, before), "verdict": verdict}


def _complaints(session: Session, query: ChangeQuery, window: Window) -> int:
    table = InsightDaily if query.theme is None else InsightDailyTheme
    stmt = daily(table, func.coalesce(func.sum(table.n), 0), query=query, window=window).where(
        table.label == d.COMPLAINT_LABEL)
    if query.theme is not None:
        stmt = stmt.where(table.theme == query.theme)
    return int(session.scalar(stmt))
