"""What /admin/contacts shows: contacts most recently active first (or found by a search), each with their
latest sentiment, trend and CRM status; one contact's scores, CRM writes and timeline.

Every list is read by an index a page at a time:
- recent: interactions newest first (`ix_interactions_at`), keeping each contact at their latest one;
  the cursor is that interaction's (time, id), so a page never repeats or skips a contact;
- search: an e-mail or phone is matched exactly on `uq_contact_identities_kind_value`, `#123` by id; a name
  is matched anywhere in it, case-insensitive (a scan of `contacts`, newest first by primary key);
- a contact's history by `ix_interactions_contact_occurred`, `ix_touches_contact_occurred` and
  `ix_crm_writes_contact_created`.

A contact's trend: the least-squares slope of their last CONTACT_TREND_POINTS scores (x = the n-th
interaction) above +CONTACT_TREND_SLOPE is improving, below -CONTACT_TREND_SLOPE declining, else steady; with
fewer than CONTACT_TREND_MIN_POINTS scores, not enough data.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, false, func, or_, select, true
from sqlalchemy.orm import Session

from connectors.common.phones import to_e164
from integration import defaults
from integration.insights import definitions as d
from integration.insights.base import AT, aware, evidence
from integration.store.models import Contact, ContactIdentity, CrmWrite, Interaction, InteractionScore, Touch

WALK_CHUNK = 200
INTERACTION, TOUCH = 1, 0  # timeline order on equal times: the interaction before the touch it caused


class BadCursor(ValueError):
    """A page cursor this list did not hand out."""


@dataclass(frozen=True)
class Cursor:
    at: datetime
    rank: int
    id: int

    def encode(self) -> str:
        return f"{self.at.isoformat()}~{self.rank}~{self.id}"

    @classmethod
    def decode(cls, text: str | None) -> "Cursor | None":
        if not text:
            return None
        try:
            at, rank, ident = text.split("~")
            moment = datetime.fromisoformat(at)
            if moment.tzinfo is None or rank not in ("0", "1"):
                raise ValueError
            return cls(moment, int(rank), int(ident))
        except ValueError:
            raise BadCursor("this page link is not one the console made; start from the first page") from None


def recent(session: Session, cursor: Cursor | None, size: int | None = None
           ) -> tuple[list[int], Cursor | None]:
    """Contact ids, most recently active first (by their latest interaction), and the next page's cursor."""
    size = size or defaults.ADMIN_PAGE_SIZE
    found: list[tuple[int, datetime, int]] = []  # one more than a page says whether there is a next one
    last = (cursor.at, cursor.id) if cursor else None
    while len(found) <= size:
        stmt = select(Interaction.id, Interaction.contact_id, AT).where(Interaction.contact_id.is_not(None))
        if last is not None:
            stmt = stmt.where(or_(AT < last[0], and_(AT == last[0], Interaction.id < last[1])))
        rows = [(iid, cid, aware(at)) for iid, cid, at in
                session.execute(stmt.order_by(AT.desc(), Interaction.id.desc()).limit(WALK_CHUNK))]
        latest = _latest(session, {cid for _, cid, _ in rows}, min((at for _, _, at in rows), default=None))
        found += [(cid, at, iid) for iid, cid, at in rows if latest.get(cid) == (at, iid)]
        if len(rows) < WALK_CHUNK:
            break
        last = (rows[-1][2], rows[-1][0])
    if len(found) <= size:
        return [cid for cid, _, _ in found], None
    cid, at, iid = found[size - 1]
    return [c for c, _, _ in found[:size]], Cursor(at, INTERACTION, iid)


def _latest(session: Session, contact_ids: set[int], since: datetime | None) -> dict[int, tuple[datetime, int]]:
    """contact -> (time, id) of their latest interaction, looking only at or after `since`."""
    if not contact_ids:
        return {}
    found: dict[int, tuple[datetime, int]] = {}
    stmt = select(Interaction.contact_id, AT, Interaction.id).where(
        Interaction.contact_id.in_(sorted(contact_ids)), AT >= since)
    for cid, at, iid in session.execute(stmt):
        key = (aware(at), iid)
        if cid not in found or key > found[cid]:
            found[cid] = key
    return found


def search(session: Session, text: str, before: int | None, size: int | None = None
           ) -> tuple[list[int], int | None]:
    """Contact ids matching `text` (an e-mail, a phone, #id, or part of a name), newest first, and the next
    page's `before` id."""
    size, text = size or defaults.ADMIN_PAGE_SIZE, text.strip()
    stmt = select(Contact.id)
    if "@" in text:
        stmt = stmt.where(Contact.id.in_(select(ContactIdentity.contact_id).where(
            ContactIdentity.kind == "email", ContactIdentity.value == text.lower())))
    elif text.startswith("#") and text[1:].isdigit():
        stmt = stmt.where(Contact.id == int(text[1:]))
    elif sum(c.isdigit() for c in text) >= 7 and (phone := to_e164(text)):
        stmt = stmt.where(Contact.id.in_(select(ContactIdentity.contact_id).where(
            ContactIdentity.kind == "phone", ContactIdentity.value == phone)))
    else:
        pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(func.lower(Contact.name).like(pattern, escape="\\"))
    if before is not None:
        stmt = stmt.where(Contact.id < before)
    ids = list(session.scalars(stmt.order_by(Contact.id.desc()).limit(size + 1)))
    return ids[:size], (ids[size - 1] if len(ids) > size else None)


def describe(session: Session, contact_ids: list[int]) -> list[dict]:
    """Each contact with name, phone, e-mail, CRM status, latest sentiment and trend, in the given order."""
    if not contact_ids:
        return []
    contacts = {row.id: row for row in session.execute(
        select(Contact.id, Contact.name, Contact.crm_status, Contact.crm_error).where(Contact.id.in_(contact_ids)))}
    first: dict[tuple[int, str], str] = {}
    for cid, kind, value in session.execute(
            select(ContactIdentity.contact_id, ContactIdentity.kind, ContactIdentity.value).where(
                ContactIdentity.contact_id.in_(contact_ids), ContactIdentity.kind.in_(("phone", "email")))
            .order_by(ContactIdentity.id)):
        first.setdefault((cid, kind), value)
    # Each contact's last CONTACT_TREND_POINTS scores, numbered newest first in SQL (a heavy contact's whole
    # history is not sent over); scored counts them all.
    newest = func.row_number().over(partition_by=Interaction.contact_id,
                                    order_by=(AT.desc(), Interaction.id.desc())).label("n")
    counted = func.count().over(partition_by=Interaction.contact_id).label("scored")
    ranked = select(Interaction.contact_id, AT.label("at"), Interaction.id, InteractionScore.label,
                    InteractionScore.score, newest, counted).join(InteractionScore).where(
        Interaction.contact_id.in_(contact_ids)).subquery()
    scores: dict[int, list[tuple]] = {}
    total: dict[int, int] = {}
    for cid, at, iid, label, score, _n, scored_count in session.execute(
            select(ranked).where(ranked.c.n <= defaults.CONTACT_TREND_POINTS)):
        scores.setdefault(cid, []).append((aware(at), iid, label, score))
        total[cid] = scored_count
    rows = []
    for cid in contact_ids:
        contact = contacts.get(cid)
        if contact is None:
            continue
        history = sorted(scores.get(cid, []))
        latest = history[-1] if history else None
        rows.append({
            "id": cid, "name": contact.name, "phone": first.get((cid, "phone")), "email": first.get((cid, "email")),
            "crm_status": contact.crm_status, "crm_error": contact.crm_error,
            "latest": None if latest is None else {"at": latest[0], "interaction_id": latest[1],
                                                   "label": latest[2], "score": latest[3]},
            "trend": trend([h[3] for h in history]), "scored": total.get(cid, 0)})
    return rows


def trend(scores: list[float]) -> str:
    """The verdict over a contact's scores, oldest first (see the module's docstring)."""
    recent_scores = scores[-defaults.CONTACT_TREND_POINTS:]
    if len(recent_scores) < defaults.CONTACT_TREND_MIN_POINTS:
        return d.NOT_ENOUGH_DATA
    slope = d.least_squares_slope(list(enumerate(recent_scores)))
    if slope > defaults.CONTACT_TREND_SLOPE:
        return d.IMPROVING
    if slope < -defaults.CONTACT_TREND_SLOPE:
        return d.DECLINING
    return d.STEADY


def scores(session: Session, contact_id: int, count: int = defaults.CONTACT_SPARK_POINTS) -> list[dict]:
    """The contact's last `count` scores, oldest first: {at, interaction_id, label, score}."""
    stmt = select(AT, Interaction.id, InteractionScore.label, InteractionScore.score).join(InteractionScore).where(
        Interaction.contact_id == contact_id).order_by(AT.desc(), Interaction.id.desc()).limit(count)
    rows = [{"at": aware(at), "interaction_id": iid, "label": label, "score": score}
            for at, iid, label, score in session.execute(stmt)]
    return rows[::-1]


def crm_writes(session: Session, contact_id: int, count: int = 10) -> list[CrmWrite]:
    """The contact's newest CRM writes (what was written, and how it went)."""
    return list(session.scalars(select(CrmWrite).where(CrmWrite.contact_id == contact_id)
                                .order_by(CrmWrite.created_at.desc(), CrmWrite.id.desc()).limit(count)))


def timeline(session: Session, contact_id: int, cursor: Cursor | None, size: int | None = None
             ) -> tuple[list[dict], Cursor | None]:
    """The contact's interactions and touches, newest first, one page, and the next page's cursor."""
    size = size or defaults.ADMIN_PAGE_SIZE
    found_interactions = select(Interaction).where(Interaction.contact_id == contact_id)
    touches = select(Touch).where(Touch.contact_id == contact_id)
    if cursor is not None:
        found_interactions = found_interactions.where(_before(AT, Interaction.id, INTERACTION, cursor))
        touches = touches.where(_before(Touch.occurred_at, Touch.id, TOUCH, cursor))
    items = [{"kind": "interaction", "at": aware(row.occurred_at or row.created_at), "rank": INTERACTION,
              "id": row.id, "row": row, "evidence": evidence(row)}
             for row in session.scalars(found_interactions.order_by(AT.desc(), Interaction.id.desc())
                                        .limit(size + 1))]
    items += [{"kind": "touch", "at": aware(row.occurred_at), "rank": TOUCH, "id": row.id, "row": row}
              for row in session.scalars(touches.order_by(Touch.occurred_at.desc(), Touch.id.desc()).limit(size + 1))]
    items.sort(key=lambda i: (i["at"], i["rank"], i["id"]), reverse=True)
    if len(items) <= size:
        return items, None
    items = items[:size]
    return items, Cursor(items[-1]["at"], items[-1]["rank"], items[-1]["id"])


def _before(at_column, id_column, rank: int, cursor: Cursor):
    """(time, rank, id) strictly before the cursor, in the timeline's newest-first order."""
    if rank == cursor.rank:
        same = id_column < cursor.id
    else:
        same = true() if rank < cursor.rank else false()
    return or_(at_column < cursor.at, and_(at_column == cursor.at, same))


def identities(session: Session, contact_id: int) -> list[tuple[str, str]]:
    """(kind, value) of every way the contact is recognised, phones and e-mails first."""
    rows = session.execute(select(ContactIdentity.kind, ContactIdentity.value).where(
        ContactIdentity.contact_id == contact_id).order_by(ContactIdentity.id)).all()
    return sorted(((k, v) for k, v in rows), key=lambda r: (r[0] not in ("phone", "email"), r[0] != "phone"))


def crm_link(session: Session, contact_id: int, settings) -> dict:
    """The contact's CRM record: {"id", "url"}; the URL when HubSpot is the CRM and its portal id is set.
    Stored links read "<crm>:<record id>" (`integration/sync/flush.py`)."""
    stored = session.scalar(select(Contact.crm_id).where(Contact.id == contact_id))
    if not stored:
        return {"id": None, "url": None}
    crm, _, record = stored.partition(":") if ":" in stored else ("", "", stored)
    url = None
    if crm in ("hubspot", "") and record and settings.hubspot_access_token and settings.hubspot_portal_id:
        url = f"https://app.hubspot.com/contacts/{settings.hubspot_portal_id}/record/0-1/{record}"
    return {"id": stored, "url": url}
