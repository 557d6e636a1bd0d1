"""Open escalations: flagged interactions nobody has followed up yet.

An escalation is open when a scored interaction in the window carries an escalation flag
(`InteractionScore.escalation_reason` set) and, after it, the same contact has had neither a touch from us
(`definitions.HEARD_BACK_KINDS`: a call, text, e-mail or reply) nor a positive interaction
(`definitions.RESOLVED_BY_LABEL`). An interaction with no known contact cannot be followed up, so it stays open.

The window is walked newest first by the interactions' time index, a chunk at a time, and the walk stops once
the page is full, so the cost follows the page size rather than the number of escalations.
"""
from __future__ import annotations

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from integration.insights import definitions as d
from integration.insights.base import AT, aware, contacts, evidence, interactions, iso, scored
from integration.insights.params import EscalationsQuery
from integration.insights.window import Window
from integration.store.models import Interaction, InteractionScore, Touch, utcnow

WALK_CHUNK = 50  # escalated interactions read per step of the walk (about twice a page: most stay open)


def open_escalations(session: Session, query: EscalationsQuery, window: Window, settings) -> dict:
    """Escalated interactions in the window with no touch and no positive interaction of the contact since."""
    page, more = [], False
    for chunk in _escalated_newest_first(session, query, window):
        followed = _followed_up(session, chunk)
        for interaction_id, contact_id, at in chunk:
            if interaction_id in followed:
                continue
            if len(page) == query.rows:
                more = True
                break
            page.append((interaction_id, contact_id, at))
        if more:
            break
    rows = interactions(session, [iid for iid, _, _ in page])
    people = contacts(session, sorted({cid for _, cid, _ in page if cid is not None}), settings)
    now = utcnow()
    listed = [{"interaction_id": iid, "contact": people.get(cid), "at": iso(at),
               "reason": rows[iid].score.escalation_reason if rows[iid].score else None,
               "waiting_hours": round((now - at).total_seconds() / 3600, 1), "evidence": evidence(rows[iid])}
              for iid, cid, at in page]
    return {"window": window.as_dict(), "more": more, "escalations": listed}


def _escalated_newest_first(session: Session, query, window: Window):
    """Chunks of (interaction id, contact id, when) of escalated interactions in the window, newest first."""
    last = None
    while True:
        stmt = scored(Interaction.id, Interaction.contact_id, AT, query=query, window=window).where(
            InteractionScore.escalation_reason.is_not(None))
        if last is not None:
            stmt = stmt.where(or_(AT < last[0], and_(AT == last[0], Interaction.id < last[1])))
        rows = [(iid, cid, aware(at)) for iid, cid, at in
                session.execute(stmt.order_by(AT.desc(), Interaction.id.desc()).limit(WALK_CHUNK))]
        if rows:
            yield rows
        if len(rows) < WALK_CHUNK:
            return
        last = (rows[-1][2], rows[-1][0])


def _followed_up(session: Session, chunk: list[tuple]) -> set[int]:
    """The interactions of the chunk after which their contact was touched or had a positive interaction."""
    ids = sorted({cid for _, cid, _ in chunk if cid is not None})
    if not ids:
        return set()
    touched = dict(session.execute(select(Touch.contact_id, func.max(Touch.occurred_at)).where(
        Touch.contact_id.in_(ids), Touch.kind.in_(d.HEARD_BACK_KINDS)).group_by(Touch.contact_id)).all())
    # The contacts' interactions since the chunk's oldest escalation, by the contact index; the label is
    # checked here rather than in SQL, so no planner walks every positive score instead.
    praised: dict[int, object] = {}
    stmt = select(Interaction.contact_id, AT, InteractionScore.label).join(InteractionScore).where(
        Interaction.contact_id.in_(ids), AT > min(at for _, _, at in chunk))
    for cid, at, label in session.execute(stmt):
        at = aware(at)
        if label == d.RESOLVED_BY_LABEL and (cid not in praised or at > praised[cid]):
            praised[cid] = at
    followed = set()
    for iid, cid, at in chunk:
        later = [aware(t) for t in (touched.get(cid), praised.get(cid)) if t is not None]
        if any(t > at for t in later):
            followed.add(iid)
    return followed
