"""Answers that list customers: who was negative (Q1), and who has not heard back since (Q10).

Both walk the window's complaints worst first (an index on score) and stop once the page is full, so
their cost follows the page size rather than the number of complaints."""
from __future__ import annotations

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from integration.insights import definitions as d
from integration.insights.base import AT, aware, contacts, evidence, filters, interactions, iso, scored
from integration.insights.params import CustomersQuery, UnansweredQuery
from integration.insights.window import Window
from integration.store.models import Interaction, InteractionScore, Touch, utcnow

WALK_CHUNK = 100  # complaints read per step of the walk (small, so the planner walks the score index)


def customers(session: Session, query: CustomersQuery, window: Window, settings) -> dict:
    """Customers with a complaint in the window, worst first, with their worst quote and its flags."""
    page, more = [], False
    for contact_id, worst_id in _worst_first(session, query, window):
        if len(page) == query.rows:
            more = True
            break
        page.append((contact_id, worst_id))
    listed = _describe(session, page, query, window, settings)
    for row in listed:
        row.pop("_last")
    return {"window": window.as_dict(), "more": more, "customers": listed}


def unanswered(session: Session, query: UnansweredQuery, window: Window, settings) -> dict:
    """Customers whose latest complaint in the window has no touch (call, text, e-mail, reply) after it."""
    page, more, batch = [], False, []
    walk = _worst_first(session, query, window)
    while not more:
        batch = [item for _, item in zip(range(50), walk)]
        if not batch:
            break
        latest = _latest_complaints(session, [c for c, _ in batch], query, window)
        touched = _touched_after(session, latest)
        for contact_id, worst_id in batch:
            if contact_id not in touched:
                if len(page) == query.rows:
                    more = True
                    break
                page.append((contact_id, worst_id))
    listed = _describe(session, page, query, window, settings)
    last_touch = _last_touches(session, [row["contact_id"] for row in listed])
    now = utcnow()
    for row in listed:
        row["last_touch_at"] = iso(last_touch.get(row["contact_id"]))
        row["waiting_hours"] = round((now - aware(row.pop("_last"))).total_seconds() / 3600, 1)
    return {"window": window.as_dict(), "more": more, "customers": listed}


def _worst_first(session: Session, query, window: Window):
    """(contact_id, worst interaction id) for each contact with a complaint in the window, worst first."""
    seen, last = set(), None
    while True:
        stmt = scored(InteractionScore.score, InteractionScore.interaction_id, Interaction.contact_id,
                      query=query, window=window).where(
            InteractionScore.label == d.COMPLAINT_LABEL, Interaction.contact_id.is_not(None))
        if last is not None:
            stmt = stmt.where(tuple_(InteractionScore.score, InteractionScore.interaction_id) > last)
        rows = session.execute(stmt.order_by(InteractionScore.score, InteractionScore.interaction_id)
                               .limit(WALK_CHUNK)).all()
        for _score, interaction_id, contact_id in rows:
            if contact_id not in seen:
                seen.add(contact_id)
                yield contact_id, interaction_id
        if len(rows) < WALK_CHUNK:
            return
        last = (rows[-1][0], rows[-1][1])


def _latest_complaints(session: Session, ids: list[int], query, window: Window) -> dict:
    """contact_id -> (complaints in the window, when the latest happened). Read by contact (its index), as a
    contact's history is short and the window's is not."""
    # The label is checked here, not in SQL: given `label = 'negative'`, SQLite's planner (without ANALYZE)
    # walks every complaint by the label index instead of these contacts' rows.
    stmt = select(Interaction.contact_id, AT, InteractionScore.label).join(InteractionScore).where(
        Interaction.contact_id.in_(ids), *filters(query))
    found: dict = {}
    for contact_id, at, label in session.execute(stmt):
        at = aware(at)
        if label == d.COMPLAINT_LABEL and window.since <= at < window.until:
            count, latest = found.get(contact_id, (0, at))
            found[contact_id] = (count + 1, max(latest, at))
    return found


def _touched_after(session: Session, latest: dict) -> set[int]:
    """The contacts with a touch after their latest complaint."""
    if not latest:
        return set()
    stmt = select(Touch.contact_id, func.max(Touch.occurred_at)).where(
        Touch.contact_id.in_(list(latest)), Touch.kind.in_(d.HEARD_BACK_KINDS)).group_by(Touch.contact_id)
    return {contact_id for contact_id, at in session.execute(stmt) if aware(at) > latest[contact_id][1]}


def _describe(session: Session, page: list, query, window: Window, settings) -> list[dict]:
    """Each contact of the page with its details and the evidence of its worst complaint."""
    ids = [contact_id for contact_id, _ in page]
    people = contacts(session, ids, settings)
    latest = _latest_complaints(session, ids, query, window) if ids else {}
    rows = interactions(session, [worst_id for _, worst_id in page])
    listed = []
    for contact_id, worst_id in page:
        count, last = latest.get(contact_id, (0, None))
        entry = dict(people.get(contact_id, {"contact_id": contact_id}))
        entry.update(complaints=count, worst_score=round(rows[worst_id].score.score, 3),
                     last_negative_at=iso(last), _last=last, evidence=evidence(rows[worst_id]))
        listed.append(entry)
    return listed


def _last_touches(session: Session, ids: list[int]) -> dict[int, object]:
    if not ids:
        return {}
    return dict(session.execute(select(Touch.contact_id, func.max(Touch.occurred_at))
                                .where(Touch.contact_id.in_(ids), Touch.kind.in_(d.HEARD_BACK_KINDS))
                                .group_by(Touch.contact_id)).all())
