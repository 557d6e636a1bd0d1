"""The insights by name: parameters, the function that answers, and which owner's questions each answers.

The HTTP API, the CLI and the MCP server all answer through `answer`, so they agree by construction.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from integration.insights import counts, escalations, params, people, rollup, topics, trend
from integration.insights.tables import InsightName
from integration.insights.window import resolve
from integration.settings import Settings
from integration.store.db import Database
from integration.store.models import utcnow


@dataclass(frozen=True)
class Insight:
    name: str
    model: type[params.Query]
    answer: Callable
    summary: str
    questions: tuple[str, ...]


INSIGHTS = {i.name: i for i in (
    Insight("customers", params.CustomersQuery, people.customers,
            "Customers who used negative or frustrated language, worst first, with their worst quote, flags "
            "and CRM link.", ("Which customers have used negative or frustrated language in the last 7 days?",)),
    Insight("lines", params.LinesQuery, counts.lines,
            "Phone numbers and inboxes (lines) ranked by negative interactions.",
            ("Which of our phone numbers had the most negative interactions in the last 30 days?",)),
    Insight("themes", params.ThemesQuery, topics.themes,
            "Themes (reasons, topics) ranked by volume among interactions of one sentiment, with example quotes.",
            ("What are the top three reasons customers express frustration? (sentiment=negative, limit=3)",
             "What are the top five topics customers contact us about this month? (since=<1st of month>, limit=5)",
             "Which issues appear most often across negative interactions, ranked by volume? (sentiment=negative)",
             "What do customers consistently praise? (sentiment=positive)")),
    Insight("callbacks", params.CallbacksQuery, topics.callbacks,
            "Unresolved interactions followed by a callback from the same customer within 48 hours, and the "
            "issue that kept coming up across them.",
            ("Across calls to a given line in the last 30 days, which unresolved interactions were followed by a "
             "callback within 48 hours, and what issue kept coming up?",)),
    Insight("mix", params.MixQuery, counts.mix,
            "Counts and percentages of positive, neutral and negative interactions, and complaints to compliments.",
            ("Across all calls this month, what is the ratio of complaints to compliments? (channel=call)",
             "Over the last 30 days, what percentage of interactions were positive, neutral and negative?")),
    Insight("trend", params.TrendQuery, trend.trend,
            "Weekly sentiment (Monday-start weeks in TIMEZONE) and the verdict improving, declining or steady.",
            ("How has sentiment trended week over week over the last 60 days?",)),
    Insight("unanswered", params.UnansweredQuery, people.unanswered,
            "Customers with a negative interaction who have had no call, text, e-mail or reply from us since.",
            ("Which customers with negative sentiment have not heard back from us in the last 7 days?",)),
    Insight("change", params.ChangeQuery, counts.change,
            "Complaints (about one theme) since a date against the same length of time before it.",
            ("Have complaints about a given issue increased or decreased since a given date?",)),
    Insight("agents", params.AgentsQuery, counts.agents,
            "Each agent's conversations side by side: volume, sentiment mix, mean score, escalations, "
            "recoveries, top complaint theme.", ("How does each agent's conversations compare?",)),
    Insight("spikes", params.SpikesQuery, topics.spikes,
            "Themes that five or more different customers were negative about within the window (14 days).",
            ("Which issue is spiking: five or more different customers negative about the same theme within "
             "14 days?",)),
    Insight("escalations", params.EscalationsQuery, escalations.open_escalations,
            "Open escalations: flagged interactions after which the customer has had no call, text, e-mail or "
            "reply from us and no positive interaction, newest first.",
            ("Which escalated conversations has nobody followed up yet in the last 14 days?",)),
)}


def answer(name: str, query: params.Query, db: Database, settings: Settings, now=None) -> dict:
    """Answer insight `name` for a validated query (bringing the rollups up to date first)."""
    insight = INSIGHTS[name]
    rollup.refresh(db, settings.tzinfo)
    window = resolve(query, settings.tzinfo, now)
    with db.session() as session:
        return insight.answer(session, by_line_key(session, query), window, settings)


def answer_many(asks: dict[str, tuple[str, params.Query]], db: Database, settings: Settings, now=None) -> dict:
    """Several answers at once (key -> (insight name, query)): the rollups refreshed once, one `now` and one
    session for all of them, so the figures of one page agree with each other and with `answer`."""
    rollup.refresh(db, settings.tzinfo)
    now = now or utcnow()
    with db.session() as session:
        return {key: INSIGHTS[name].answer(session, by_line_key(session, query), resolve(query, settings.tzinfo, now),
                                           settings)
                for key, (name, query) in asks.items()}


def by_line_key(session: Session, query: params.Query) -> params.Query:
    """The query with `line` given as the line's name (a business number as the owner knows it) replaced by the
    line's key, when it is not a key itself and names exactly one line: Quo keys its lines by phone number id
    (`quo:phone_number:PN…`) and names them by their number, so `--line +16175550100` means that line."""
    line = getattr(query, "line", None)
    if not line or session.get(InsightName, ("line", line)) is not None:
        return query
    keys = session.scalars(select(InsightName.key).where(InsightName.kind == "line", InsightName.name == line)
                           ).all()
    return query.model_copy(update={"line": keys[0]}) if len(keys) == 1 else query
