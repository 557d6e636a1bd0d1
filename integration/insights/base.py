"""Shared pieces of the insight queries: when an interaction happened, filters, contacts, quotes."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Select, and_, func, select, type_coerce
from sqlalchemy.orm import Session

from integration import defaults
from integration.insights.params import Query
from integration.insights.window import Window, _iso
from integration.settings import Settings
from integration.store.models import Contact, ContactIdentity, Interaction, InteractionScore, UTCDateTime

# When an interaction happened: its start, else when we first stored it. Indexed as this exact expression.
AT = type_coerce(func.coalesce(Interaction.occurred_at, Interaction.created_at), UTCDateTime)


def scored(*columns, query: Query, window: Window) -> Select:
    """SELECT columns FROM scored interactions in the window, with the query's filters applied."""
    stmt = select(*columns).select_from(Interaction).join(InteractionScore)
    return stmt.where(and_(AT >= window.since, AT < window.until, *filters(query)))


def filters(query: Query) -> list:
    """WHERE terms for source, channel, line and agent (those given)."""
    terms = []
    for name in ("source", "channel", "line", "agent"):
        value = getattr(query, name)
        if value is not None:
            terms.append(getattr(Interaction, name) == value)
    return terms


def aware(value) -> datetime | None:
    """A datetime from the database as aware UTC (aggregates can bypass the column type on SQLite)."""
    if value is None or isinstance(value, datetime) and value.tzinfo is not None:
        return value
    if not isinstance(value, datetime):
        value = datetime.fromisoformat(str(value))
    return value.replace(tzinfo=timezone.utc)


def iso(value) -> str | None:
    value = aware(value)
    return None if value is None else _iso(value)


def contacts(session: Session, ids: list[int], settings: Settings) -> dict[int, dict]:
    """contact_id -> {contact_id, name, phone, email, crm_url} for the given contacts."""
    if not ids:
        return {}
    found = {c.id: {"contact_id": c.id, "name": c.name, "phone": None, "email": None,
                    "crm_url": crm_url(c.crm_id, settings)}
             for c in session.scalars(select(Contact).where(Contact.id.in_(ids)))}
    rows = session.execute(select(ContactIdentity.contact_id, ContactIdentity.kind, ContactIdentity.value)
                           .where(ContactIdentity.contact_id.in_(ids), ContactIdentity.kind.in_(("phone", "email")))
                           .order_by(ContactIdentity.id))
    for contact_id, kind, value in rows:
        if found.get(contact_id, {}).get(kind) is None and contact_id in found:
            found[contact_id][kind] = value
    return found


def crm_url(crm_id: str | None, settings: Settings) -> str | None:
    """The contact's HubSpot record page, when HubSpot is the CRM and its portal id is configured."""
    if not crm_id or not settings.hubspot_access_token or not settings.hubspot_portal_id:
        return None
    return f"https://app.hubspot.com/contacts/{settings.hubspot_portal_id}/record/0-1/{crm_id}"


def worst_quote(turns: list | None, turn_scores: list | None, summary: str | None) -> str | None:
    """The customer's most negative turn (the summary when no turn was scored), cut to a quotable length."""
    worst = min(turn_scores or [], key=lambda t: t.get("score", 0), default=None)
    text = None
    if worst is not None and turns and 0 <= worst.get("turn", -1) < len(turns):
        text = turns[worst["turn"]].get("text")
    return clip(text or summary)


def clip(text: str | None) -> str | None:
    limit = defaults.INSIGHTS_QUOTE_CHARS
    if not text:
        return None
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def evidence(row: Interaction) -> dict:
    """What an answer shows of one interaction: where and when, the score, a quote and the flags."""
    score = row.score
    return {
        "interaction_id": row.id, "at": iso(row.occurred_at or row.created_at), "source": row.source,
        "channel": row.channel, "line": row.line, "line_name": row.line_name, "agent": row.agent,
        "agent_name": row.agent_name, "label": score.label if score else None,
        "score": round(score.score, 3) if score else None,
        "quote": worst_quote(row.turns, score.turn_scores if score else None, row.summary),
        "flags": [{"rule": f.get("rule"), "reason": f.get("reason"), "evidence": clip(f.get("evidence"))}
                  for f in (score.flags if score else [])],
        "themes": sorted({t["theme"] for t in (score.themes if score else [])}),
        "url": row.url,
    }


def interactions(session: Session, ids: list[int]) -> dict[int, Interaction]:
    if not ids:
        return {}
    return {row.id: row for row in session.scalars(select(Interaction).where(Interaction.id.in_(ids)))}


def percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def ranked(rows: list[dict], key: str) -> list[dict]:
    """Competition ranks (1, 1, 3) by `key`, rows already sorted: ties share a rank."""
    previous, rank = object(), 0
    for index, row in enumerate(rows, start=1):
        if row[key] != previous:
            rank, previous = index, row[key]
        row["rank"] = rank
    return rows
