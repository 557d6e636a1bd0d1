"""Answers to the owner's questions, from the database (shared by the CLI and, later, the insights API)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from integration.store.db import Database
from integration.store.models import Interaction, InteractionScore, utcnow
from scoring.theme_discovery import DiscoveredTheme, clusters, top_phrases


@dataclass
class ThemeCount:
    theme: str
    interactions: int
    negative: int


def top_themes(db: Database, since: datetime, top: int = 5) -> list[ThemeCount]:
    """Taxonomy themes by how many interactions since `since` carry them, with how many were negative."""
    totals: Counter[str] = Counter()
    negatives: Counter[str] = Counter()
    with db.session() as session:
        rows = session.execute(
            select(InteractionScore.themes, InteractionScore.label).join(Interaction)
            .where(func.coalesce(Interaction.occurred_at, Interaction.created_at) >= since)
        )
        for themes, label in rows:
            for name in {t["theme"] for t in themes or []}:
                totals[name] += 1
                negatives[name] += label == "negative"
    return [ThemeCount(name, count, negatives[name]) for name, count in totals.most_common(top)]


# Recurring topics read at most this many interactions (the most recent): noun phrases and their clusters cost
# about a millisecond per message, and a busy month can hold millions.
MAX_TOPIC_DOCUMENTS = 5000


def recurring_topics(db: Database, since: datetime, top: int = 5, embed=None) -> list[DiscoveredTheme]:
    """What customers keep bringing up in their own words, from the most recent interactions since `since`
    (at most MAX_TOPIC_DOCUMENTS)."""
    return topics_of(customer_texts(db, since), top, embed)


def topics_of(documents: list[str], top: int = 5, embed=None) -> list[DiscoveredTheme]:
    """Noun phrases merged by meaning with an embedding function (e.g. the packaged MiniLM), else key-phrase counts."""
    return clusters(documents, embed, top=top) if embed is not None else top_phrases(documents, top=top)


def customer_texts(db: Database, since: datetime, limit: int = MAX_TOPIC_DOCUMENTS) -> list[str]:
    """One document per interaction, the most recent `limit` since `since`: its customer turns joined (the summary
    when it has none)."""
    documents = []
    when = func.coalesce(Interaction.occurred_at, Interaction.created_at)
    with db.session() as session:
        stmt = (select(Interaction.turns, Interaction.summary).where(when >= since)
                .order_by(when.desc(), Interaction.id.desc()).limit(limit))
        for turns, summary in session.execute(stmt):
            words = " ".join(t["text"] for t in turns or [] if t.get("speaker") == "customer")
            if words or summary:
                documents.append(words or summary)
    return documents


def since_days(days: int) -> datetime:
    return utcnow() - timedelta(days=days)
