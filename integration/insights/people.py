"""Answers that list customers: who was negative (Q1), and who has not heard back since (Q10)."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from integration.insights import definitions as d
from integration.insights.base import AT, aware, contacts, evidence, interactions, iso, scored
from integration.insights.params import CustomersQuery, UnansweredQuery
from integration.insights.window import Window
from integration.models import Interaction, InteractionScore, Touch, utcnow
from integration.settings import Settings


def customers(session: Session, query: CustomersQuery, window: Window, settings: Settings) -> dict:
    """Customers with a complaint in the window, worst first, with their worst quote and its flags."""
    grouped = _negative_by_contact(query, window).subquery()
    total = session.scalar(select(func.count()).select_from(grouped))
    page = session.execute(select(grouped).order_by(grouped.c.worst, grouped.c.contact_id).limit(query.rows)).all()
    return {"window": window.as_dict(), "total_customers": total,
            "customers": _describe(session, page, query, window, settings)}


def unanswered(session: Session, query: UnansweredQuery, window: Window, settings: Settings) -> dict:
    """Customers whose latest complaint in the window has no touch (call, text, e-mail, reply) after it."""
    grouped = _negative_by_contact(query, window).subquery()
    touched_after = select(Touch.id).where(
        Touch.contact_id == grouped.c.contact_id, Touch.occurred_at > grouped.c.last_negative_at,
        Touch.kind.in_(d.HEARD_BACK_KINDS)).exists()
    waiting = select(grouped).where(~touched_after)
    total = session.scalar(select(func.count()).select_from(waiting.subquery()))
    page = session.execute(waiting.order_by(grouped.c.worst, grouped.c.contact_id).limit(query.rows)).all()
    listed = _describe(session, page, query, window, settings)
    last_touch = _last_touches(session, [row["contact_id"] for row in listed])
    for row, grouped_row in zip(listed, page):
        row["last_touch_at"] = iso(last_touch.get(row["contact_id"]))
        row["waiting_hours"] = round((utcnow() - aware(grouped_row.last_negative_at)).total_seconds() / 3600, 1)
    return {"window": window.as_dict(), "total_customers": total, "customers": listed}


def _negative_by_contact(query, window: Window):
    return scored(Interaction.contact_id, func.min(InteractionScore.score).label("worst"),
                  func.count().label("complaints"), func.max(AT).label("last_negative_at"),
                  query=query, window=window).where(
        InteractionScore.label == d.COMPLAINT_LABEL, Interaction.contact_id.is_not(None)
    ).group_by(Interaction.contact_id)


def _describe(session: Session, page, query, window: Window, settings: Settings) -> list[dict]:
    """Each contact of the page with its details and the evidence of its worst complaint."""
    ids = [row.contact_id for row in page]
    people = contacts(session, ids, settings)
    worst = _worst_interactions(session, ids, query, window)
    rows = interactions(session, list(worst.values()))
    listed = []
    for row in page:
        entry = dict(people.get(row.contact_id, {"contact_id": row.contact_id}))
        entry.update(complaints=row.complaints, worst_score=round(row.worst, 3),
                     last_negative_at=iso(row.last_negative_at), evidence=evidence(rows[worst[row.contact_id]]))
        listed.append(entry)
    return listed


def _worst_interactions(session: Session, ids: list[int], query, window: Window) -> dict[int, int]:
    """contact_id -> its most negative interaction in the window (the latest, on a tie)."""
    if not ids:
        return {}
    rank = func.row_number().over(partition_by=Interaction.contact_id,
                                  order_by=(InteractionScore.score, AT.desc(), Interaction.id.desc()))
    inner = scored(Interaction.contact_id, Interaction.id, rank.label("n"), query=query, window=window).where(
        InteractionScore.label == d.COMPLAINT_LABEL, Interaction.contact_id.in_(ids)).subquery()
    return {contact_id: interaction_id for contact_id, interaction_id in
            session.execute(select(inner.c.contact_id, inner.c.id).where(inner.c.n == 1))}


def _last_touches(session: Session, ids: list[int]) -> dict[int, object]:
    if not ids:
        return {}
    return dict(session.execute(select(Touch.contact_id, func.max(Touch.occurred_at))
                                .where(Touch.contact_id.in_(ids), Touch.kind.in_(d.HEARD_BACK_KINDS))
                                .group_by(Touch.contact_id)).all())
