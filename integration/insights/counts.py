"""Answers that count interactions: the sentiment mix (Q5, Q6), lines (Q2), agents (Q13), change (Q11)."""
from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from integration.insights import definitions as d
from integration.insights.base import percent, ranked, scored
from integration.insights.params import AgentsQuery, ChangeQuery, LinesQuery, MixQuery
from integration.insights.tables import InsightTheme
from integration.insights.window import Window
from integration.models import Interaction, InteractionScore
from integration.settings import Settings


def label_count(label: str):
    return func.sum(case((InteractionScore.label == label, 1), else_=0))


def mix(session: Session, query: MixQuery, window: Window, settings: Settings) -> dict:
    """How many interactions were positive, neutral and negative, and complaints against compliments."""
    counts = {label: 0 for label in d.LABELS}
    stmt = scored(InteractionScore.label, func.count(), query=query, window=window).group_by(InteractionScore.label)
    for label, count in session.execute(stmt):
        counts[label] = counts.get(label, 0) + count
    total = sum(counts.values())
    complaints, compliments = counts.get(d.COMPLAINT_LABEL, 0), counts.get(d.COMPLIMENT_LABEL, 0)
    return {"window": window.as_dict(), "total": total, "counts": counts,
            "percent": {label: percent(count, total) for label, count in counts.items()},
            "complaints": complaints, "compliments": compliments,
            "complaint_to_compliment": round(complaints / compliments, 3) if compliments else None}


def _grouped(session: Session, column, name_column, query, window: Window) -> list[dict]:
    stmt = scored(column, func.max(name_column), func.count(), label_count(d.NEGATIVE), label_count(d.NEUTRAL),
                  label_count(d.POSITIVE), func.avg(InteractionScore.score),
                  func.sum(case((InteractionScore.escalation_reason.is_not(None), 1), else_=0)),
                  func.sum(case((InteractionScore.trajectory == "recovered", 1), else_=0)),
                  query=query, window=window).group_by(column)
    rows = []
    for key, name, total, negative, neutral, positive, mean, escalated, recovered in session.execute(stmt):
        rows.append({"id": key, "name": name, "interactions": total, "negative": negative, "neutral": neutral,
                     "positive": positive, "percent_negative": percent(negative, total),
                     "mean_score": round(mean, 3), "escalations": escalated, "recovered": recovered,
                     "complaint_to_compliment": round(negative / positive, 3) if positive else None})
    return rows


def lines(session: Session, query: LinesQuery, window: Window, settings: Settings) -> dict:
    """Lines ranked by negative interactions (then by share negative); ties share a rank."""
    rows = _grouped(session, Interaction.line, Interaction.line_name, query, window)
    rows.sort(key=lambda r: (-r["negative"], -(r["percent_negative"] or 0), r["id"] is None, r["id"] or ""))
    rows = ranked(rows, "negative")[: query.rows]
    return {"window": window.as_dict(), "lines": [{"line": r.pop("id"), "line_name": r.pop("name"), **r}
                                                  for r in rows]}


def agents(session: Session, query: AgentsQuery, window: Window, settings: Settings) -> dict:
    """Each agent's conversations side by side: volume, sentiment, escalations, recoveries, top complaint."""
    rows = _grouped(session, Interaction.agent, Interaction.agent_name, query, window)
    rows.sort(key=lambda r: (r["id"] is None, r["id"] or ""))
    rows = rows[: query.rows]
    top = _top_negative_theme(session, query, window)
    return {"window": window.as_dict(),
            "agents": [{"agent": r["id"], "agent_name": r["name"], "top_complaint_theme": top.get(r["id"]),
                        **{k: v for k, v in r.items() if k not in ("id", "name")}} for r in rows]}


def _top_negative_theme(session: Session, query, window: Window) -> dict:
    """agent -> the theme most of their negative interactions carry (alphabetical on a tie)."""
    stmt = scored(Interaction.agent, InsightTheme.theme, func.count(), query=query, window=window).join(
        InsightTheme, InsightTheme.interaction_id == Interaction.id).where(
        InteractionScore.label == d.NEGATIVE).group_by(Interaction.agent, InsightTheme.theme)
    best: dict = {}
    for agent, theme, count in session.execute(stmt):
        if agent not in best or (-count, theme) < (-best[agent][1], best[agent][0]):
            best[agent] = (theme, count)
    return {agent: theme for agent, (theme, _) in best.items()}


def change(session: Session, query: ChangeQuery, window: Window, settings: Settings) -> dict:
    """Complaints (about a theme) in the window against the same length of time just before it."""
    after, before = _complaints(session, query, window), _complaints(session, query, window.before())
    verdict = "increased" if after > before else "decreased" if after < before else "unchanged"
    return {"window": window.as_dict(), "theme": query.theme,
            "before": {"window": window.before().as_dict(), "complaints": before},
            "after": {"window": window.as_dict(), "complaints": after},
            "change": after - before, "percent_change": percent(after - before, before), "verdict": verdict}


def _complaints(session: Session, query: ChangeQuery, window: Window) -> int:
    stmt = scored(func.count(), query=query, window=window).where(InteractionScore.label == d.COMPLAINT_LABEL)
    if query.theme is not None:
        stmt = stmt.join(InsightTheme, InsightTheme.interaction_id == Interaction.id).where(
            InsightTheme.theme == query.theme)
    return session.scalar(stmt)
