"""Bring the CRM in line with the database, a hundred contacts at a time (the body of the flush job).

A round takes the contacts whose `needs_sync_at` is newer than `synced_at` and, in batches:
resolves their CRM records (database link, Redis cache, then search; create or mark unmatched),
updates the properties that changed, writes one note per scored interaction, and opens follow-up
tasks the rules call for. Every write is recorded before or right after the call, so a second run
sends nothing new; records a crashed run created are found again by the ref line in their bodies.
Only one flush runs at a time (a Redis lock in the job), so no two rounds race on a contact.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, insert, or_, select, update

from connectors.crm import ContactKeys, CrmContact, CRMWriter, TaskSpec
from integration import defaults
from integration.pipeline.contact_merge import merge_into
from integration.pipeline.contacts import contact_keys
from integration.store.db import Database
from integration.store.models import (
    Contact,
    CrmNote,
    CrmWrite,
    FollowUpTask,
    Interaction,
    InteractionScore,
    utcnow,
)
from integration.sync import content
from integration.sync.cache import ContactCache

log = logging.getLogger(__name__)


@dataclass
class SyncOptions:
    create_contacts: bool = False  # no CRM match: create the contact, or record it as unmatched
    default_owner_id: str | None = None
    rules: dict | None = None  # follow-up rules; None = the packaged file


@dataclass
class RoundResult:
    contacts: int = 0
    updated: int = 0
    notes: int = 0
    tasks: int = 0
    unmatched: int = 0
    retry: list[int] = field(default_factory=list)  # contacts whose record vanished: resolve again


def due_contacts(db: Database, limit: int = defaults.CRM_FLUSH_BATCH) -> list[tuple[int, datetime]]:
    """(contact id, needs_sync_at) of contacts with changes not yet in the CRM, oldest change first."""
    with db.read_session() as session:
        stmt = select(Contact.id, Contact.needs_sync_at).where(
            Contact.needs_sync_at.is_not(None),
            func.coalesce(Contact.synced_at < Contact.needs_sync_at, True),
        ).order_by(Contact.needs_sync_at).limit(limit)
        return [(row.id, row.needs_sync_at) for row in session.execute(stmt)]


def another_round_now(db: Database, flush_started: datetime, settle_s: float,
                      limit: int = defaults.CRM_FLUSH_BATCH) -> bool:
    """Whether a running flush should do another round now, or end and leave the rest to the next flush.

    Changes that arrive while a flush runs each ask for a flush of their own (the marker is cleared
    when a flush starts), which waits CRM_FLUSH_DELAY_S. A flush that looped on every change as it
    trickled in sent a round per few contacts (0.8 HubSpot calls per interaction while the workers
    were slow). So another round goes only for a full batch, for changes older than this flush (no
    flush is coming for them), or once the oldest change has waited `settle_s`.
    """
    due = due_contacts(db, limit)
    if not due:
        return False
    oldest = due[0][1]
    return len(due) >= limit or oldest <= flush_started or oldest <= utcnow() - timedelta(seconds=settle_s)


def sync_round(db: Database, writer: CRMWriter, cache: ContactCache, options: SyncOptions,
               due: list[tuple[int, datetime]], now: datetime | None = None) -> RoundResult:
    """One batch: resolve, properties, notes, tasks, then mark what was covered as synced."""
    now = now or utcnow()
    result = RoundResult(contacts=len(due))
    records = _resolve(db, writer, cache, options, [cid for cid, _ in due], result)
    views = _views(db, list(records), now)
    _write_properties(db, writer, cache, records, views, now, result)
    live = {cid: rec for cid, rec in records.items() if cid not in result.retry}
    _write_notes(db, writer, live, result)
    _write_tasks(db, writer, cache, live, views, options, now, result)
    _mark_synced(db, [(cid, at) for cid, at in due if cid not in result.retry])
    return result


def open_tasks(db: Database, writer: CRMWriter, cache: ContactCache, options: SyncOptions,
               wanted: dict[int, tuple[int, str, TaskSpec]]) -> RoundResult:
    """Open a follow-up task per contact (contact id -> (interaction id, reason, task)) unless one is open for
    that reason already: the flush's rule and bookkeeping (the no-one-left-waiting job uses it). The CRM record
    is resolved as a round resolves it; a contact the CRM does not have gets no task."""
    result = RoundResult(contacts=len(wanted))
    records = _resolve(db, writer, cache, options, list(wanted), result)
    new = _task_rows(db, writer.name, [(contact_id, *wanted[contact_id]) for contact_id in wanted
                                       if contact_id in records])
    if new:
        _create_tasks(db, writer, cache, records, new, options, result)
    return result


# --- resolving CRM records

def _resolve(db, writer, cache, options, ids, result) -> dict[int, CrmContact]:
    """CRM record per contact: stored link, cache, search, then create (or record unmatched)."""
    keys, records = _keys_and_links(db, ids, writer.name)
    unresolved = [k for k in keys if k.contact_id not in records]
    for contact_id, crm_id in cache.lookup(unresolved).items():
        records[contact_id] = CrmContact(crm_id)
    searching = [k for k in unresolved if k.contact_id not in records and (k.phones or k.emails)]
    found = writer.find_contacts(searching) if searching else {}
    missing = [k for k in searching if k.contact_id not in found]
    created = writer.create_contacts(missing) if missing and options.create_contacts else {}
    cache.remember([(k, found.get(k.contact_id, created.get(k.contact_id)).id) for k in searching
                    if k.contact_id in found or k.contact_id in created])
    cache.remember_owners({r.id: r.owner_id for r in found.values() if r.owner_known})
    records.update(found)
    records.update(created)
    _link(db, writer.name, records, created)
    unmatched = [k.contact_id for k in keys if k.contact_id not in records]
    _set_status(db, unmatched, "unmatched", "no CRM contact has this phone or e-mail")
    result.unmatched = len(unmatched)
    return {cid: rec for cid, rec in records.items() if cid in ids}


def _keys_and_links(db, ids, crm) -> tuple[list[ContactKeys], dict[int, CrmContact]]:
    prefix = f"{crm}:"
    with db.read_session() as session:
        contacts = list(session.scalars(select(Contact).where(Contact.id.in_(ids))))
        links = {c.id: CrmContact(c.crm_id[len(prefix):]) for c in contacts if (c.crm_id or "").startswith(prefix)}
        return [contact_keys(c) for c in contacts], links


def _link(db, crm: str, records: dict[int, CrmContact], created: dict[int, CrmContact]) -> None:
    """Store each contact's CRM id; two local contacts on one CRM record are one person: merge them.

    The contacts and who holds each link are read once for the round; only a contact whose link someone else
    may hold (rare: a merge in the CRM, two local records of one person) looks its twins up on its own."""
    links = {contact_id: f"{crm}:{record.id}" for contact_id, record in records.items()}
    if not links:
        return
    with db.session() as session:
        contacts = {c.id: c for c in session.scalars(select(Contact).where(Contact.id.in_(list(links))))}
        holders: dict[str, set[int]] = {}  # link -> contacts that may hold it (never fewer than do)
        for contact_id, crm_id in session.execute(select(Contact.id, Contact.crm_id)
                                                  .where(Contact.crm_id.in_(set(links.values())))):
            holders.setdefault(crm_id, set()).add(contact_id)
        gone: set[int] = set()
        for contact_id, link in links.items():
            contact = contacts.get(contact_id)
            if contact is None or contact_id in gone:
                continue
            if holders.get(link, set()) - {contact_id}:
                twins = list(session.scalars(select(Contact).where(Contact.crm_id == link, Contact.id != contact_id)))
                gone.update(merge_into(session, contact, twins))
            contact.crm_id = link
            holders.setdefault(link, set()).add(contact_id)
            contact.crm_status = "created" if contact_id in created else "matched"
            contact.crm_error = None


# --- what we know of each contact

def _views(db, ids, now) -> dict[int, content.ContactView]:
    since = now - timedelta(days=defaults.NEGATIVE_WINDOW_DAYS)
    if not ids:
        return {}
    scored: dict[int, list[Interaction]] = {}  # contact -> its scored interactions, newest first
    when = func.coalesce(Interaction.occurred_at, Interaction.created_at)
    with db.read_session() as session:  # one read for the round's contacts, not one per contact
        for interaction in session.scalars(select(Interaction).join(InteractionScore).where(
                Interaction.contact_id.in_(ids)).order_by(Interaction.contact_id, when.desc(), Interaction.id.desc())):
            scored.setdefault(interaction.contact_id, []).append(interaction)
    return {contact_id: content.ContactView(scored[contact_id][0],
                                            [i for i in scored[contact_id] if content.when(i) >= since])
            for contact_id in ids if contact_id in scored}


# --- properties

def _write_properties(db, writer, cache, records, views, now, result) -> None:
    wanted = {}  # CRM id -> (contact id, idempotency key, properties)
    for contact_id, view in views.items():
        properties = content.contact_properties(view, now)
        key = f"{writer.name}:props:{contact_id}:{records[contact_id].id}:{content.digest(properties)}"
        wanted[records[contact_id].id] = (contact_id, key, properties)
    done = _written(db, [key for _, key, _ in wanted.values()])
    updates = {crm_id: properties for crm_id, (_, key, properties) in wanted.items() if key[:255] not in done}
    if not updates:
        return
    outcome = writer.update_contacts(updates)
    logged = []
    for crm_id in updates:
        contact_id, key, properties = wanted[crm_id]
        if crm_id in outcome.missing:  # merged or deleted in the CRM: look it up again next round
            result.retry.append(contact_id)
        elif crm_id in outcome.failed:
            _set_status(db, [contact_id], "error", str(outcome.failed[crm_id]))
        else:
            logged.append((contact_id, key, properties))
            result.updated += 1
    _log(db, writer.name, "update_contact", logged)
    _forget_links(db, cache, writer.name, result.retry)


def _forget_links(db, cache, crm, contact_ids) -> None:
    if not contact_ids:
        return
    with db.session() as session:
        contacts = list(session.scalars(select(Contact).where(Contact.id.in_(contact_ids))))
        cache.forget([contact_keys(c) for c in contacts])
        for contact in contacts:
            contact.crm_id = None


# --- notes

def _write_notes(db, writer, records, result) -> None:
    """One note per scored interaction; a changed score updates the note instead of adding one."""
    new, changed = [], {}
    with db.session() as session:
        found = _interactions_and_notes(session, writer.name, list(records))
        rows = []  # (contact, interaction, its note row or None for a new one, its body hash)
        for contact_id in records:
            for interaction, note in found.get(contact_id, []):
                rows.append((contact_id, interaction, note, content.digest(content.note_body(interaction))))
        adding = [(contact_id, interaction, body_hash) for contact_id, interaction, note, body_hash in rows
                  if note is None]
        ids = {}  # interaction -> its new note row's id (its ref), from one multi-row INSERT ... RETURNING
        if adding:
            now = utcnow()
            ids = dict(session.execute(insert(CrmNote.__table__).values([
                {"crm": writer.name, "interaction_id": interaction.id, "contact_id": contact_id, "body_hash": body_hash,
                 "crm_note_id": None, "created_at": now, "updated_at": now}
                for contact_id, interaction, body_hash in adding]).returning(CrmNote.interaction_id, CrmNote.id)).all())
        for contact_id, interaction, note, body_hash in rows:
            record = records[contact_id]
            if note is None:
                note_id = ids[interaction.id]
                new.append((note_id, content.note_spec(interaction, record.id, CrmNote.ref_for(note_id)), False))
            elif note.crm_note_id is None:  # a pending row from a run that died before storing the id
                new.append((note.id, content.note_spec(interaction, record.id, note.ref), True))
            elif note.body_hash != body_hash:
                changed[note.id] = (note.crm_note_id, content.note_spec(interaction, record.id, note.ref), body_hash)
    _create_notes(db, writer, new, result)
    if changed:
        writer.update_notes({crm_id: spec for crm_id, spec, _ in changed.values()})
        _update_rows(db, CrmNote, "body_hash", [(note_id, body_hash) for note_id, (_, _, body_hash) in changed.items()])


def _interactions_and_notes(session, crm, contact_ids) -> dict[int, list]:
    """contact -> its scored interactions with their note rows (None when none yet), read in one statement."""
    stmt = (select(Interaction, CrmNote).join(InteractionScore)
            .outerjoin(CrmNote, (CrmNote.interaction_id == Interaction.id) & (CrmNote.crm == crm))
            .where(Interaction.contact_id.in_(contact_ids)).order_by(Interaction.contact_id, Interaction.id))
    found: dict[int, list] = {}
    for interaction, note in session.execute(stmt):
        found.setdefault(interaction.contact_id, []).append((interaction, note))
    return found


def _create_notes(db, writer, new, result) -> None:
    if not new:
        return
    ids = _recover(writer, "notes", [spec for _, spec, stale in new if stale])
    pending = [spec for _, spec, _ in new if spec.ref not in ids]
    ids.update(writer.create_notes(pending) if pending else {})
    stored = [(note_id, ids[spec.ref]) for note_id, spec, _ in new if spec.ref in ids]
    _update_rows(db, CrmNote, "crm_note_id", stored)
    result.notes += len(stored)


def _recover(writer, kind, specs) -> dict[str, str]:
    """Refs a crashed run may already have created in the CRM (searched only for rows it left pending)."""
    found = {}
    for crm_contact_id in {s.crm_contact_id for s in specs}:
        refs = [s.ref for s in specs if s.crm_contact_id == crm_contact_id]
        found.update(writer.find_refs(kind, crm_contact_id, refs))
    return found


# --- tasks

def _write_tasks(db, writer, cache, records, views, options, now, result) -> None:
    wanted: list[tuple[int, int, str, TaskSpec]] = []  # (contact, interaction, reason, task) per task a rule calls for
    resolved: dict[int, tuple[str, str, int]] = {}  # task row -> (CRM task id, line to add, interaction)
    views = {contact_id: view for contact_id, view in views.items() if contact_id in records}
    names = _who(db, list(views))
    latest_positive = {}  # contact -> its latest interaction, positive and calling for no task
    for contact_id, view in views.items():
        decided = content.follow_up(view.latest, names.get(contact_id, "the customer"), now, options.rules)
        if decided is None:
            if view.latest.score.label == "positive":
                latest_positive[contact_id] = view.latest
            continue
        wanted.append((contact_id, view.latest.id, *decided))
    resolved.update(_resolutions(db, latest_positive))
    new = _task_rows(db, writer.name, wanted)
    if new:
        _create_tasks(db, writer, cache, records, new, options, result)
    if resolved:  # one read and one write per hundred tasks, then remember it was said
        writer.append_to_tasks({crm_task_id: line for crm_task_id, line, _ in resolved.values()})
        _update_rows(db, FollowUpTask, "resolution_noted_for",
                     [(row_id, interaction_id) for row_id, (_, _, interaction_id) in resolved.items()])


def _task_rows(db, crm, wanted: list[tuple[int, int, str, TaskSpec]]) -> list[tuple[int, bool, TaskSpec]]:
    """(row id, left pending by a crashed run?, spec) per wanted (contact, interaction, reason, task) that needs a
    task created in the CRM: a new row, or one a crashed run left without its CRM id; none when a task is open for
    that contact and reason already. All in one transaction (not one per contact: on SQLite each is a write turn)."""
    if not wanted:
        return []
    new = []
    with db.session() as session:
        open_tasks = {(row.contact_id, row.reason): row for row in session.scalars(select(FollowUpTask).where(
            FollowUpTask.contact_id.in_({contact_id for contact_id, *_ in wanted}), FollowUpTask.status == "open"))}
        for contact_id, interaction_id, reason, spec in wanted:  # the open tasks read once, not once per contact
            row = open_tasks.get((contact_id, reason))
            if row is not None:
                if row.crm_task_id is None:
                    new.append((row.id, True, spec))
                continue
            row = FollowUpTask(contact_id=contact_id, interaction_id=interaction_id, reason=reason, crm=crm,
                               subject=spec.subject, due_at=spec.due_at, priority=spec.priority, task_type=spec.task_type)
            session.add(row)
            session.flush()
            open_tasks[(contact_id, reason)] = row
            new.append((row.id, False, spec))
    return new


def _create_tasks(db, writer, cache, records, new, options, result) -> None:
    """Owner = the rule's owner, else the contact's owner in the CRM (cached), else the configured default;
    one batch create."""
    owners_of = _contacts_of(db, [row_id for row_id, _, _ in new])
    contacts = {row_id: records[owners_of[row_id]] for row_id, _, _ in new}
    cache.remember_owners({c.id: c.owner_id for c in contacts.values() if c.owner_known})
    unknown = sorted({c.id for c in contacts.values() if not c.owner_known})
    owners = cache.owners(unknown)
    missing = [i for i in unknown if i not in owners]
    if missing:
        fetched = writer.owners(missing)
        cache.remember_owners(fetched)
        owners.update(fetched)
    specs = []
    for row_id, stale, spec in new:
        crm_contact = contacts[row_id]
        owner = (spec.owner_id or crm_contact.owner_id or owners.get(crm_contact.id)
                 or options.default_owner_id)  # a rule's own owner first
        specs.append((row_id, stale, TaskSpec(spec.subject, spec.body, spec.due_at, spec.priority, spec.task_type, owner,
                                              crm_contact.id, f"task-{row_id}")))
    ids = _recover(writer, "tasks", [s for _, stale, s in specs if stale])
    pending = [s for _, _, s in specs if s.ref not in ids]
    ids.update(writer.create_tasks(pending) if pending else {})
    with db.session() as session:
        for row_id, _, spec in specs:
            if spec.ref in ids:
                row = session.get(FollowUpTask, row_id)
                row.crm_task_id, row.owner_id = ids[spec.ref], spec.owner_id
                result.tasks += 1


def _resolutions(db, latest: dict[int, Interaction]) -> dict[int, tuple[str, str, int]]:
    """Open tasks to tell about a later positive interaction (contact -> its latest, positive), once per interaction;
    read in one statement for the round's contacts, not one per contact."""
    if not latest:
        return {}
    with db.read_session() as session:
        tasks = list(session.scalars(select(FollowUpTask).where(
            FollowUpTask.contact_id.in_(list(latest)), FollowUpTask.status == "open",
            FollowUpTask.crm_task_id.is_not(None))))
    lines = {contact_id: content.resolution_line(interaction) for contact_id, interaction in latest.items()}
    return {t.id: (t.crm_task_id, lines[t.contact_id], latest[t.contact_id].id) for t in tasks
            if t.interaction_id != latest[t.contact_id].id and t.resolution_noted_for != latest[t.contact_id].id}


# --- bookkeeping

# Reads go through read_session: on SQLite a plain deferred BEGIN, no write turn, so a round of a hundred contacts
# does not queue a hundred times behind the workers' write transactions (only one flush runs at a time, so nothing
# it reads can change under it but what processing adds, which the next round covers).

def _who(db, contact_ids: list[int]) -> dict[int, str]:
    """How a task names each contact: its name, else its first phone or e-mail."""
    names = {}
    with db.read_session() as session:
        for contact in session.scalars(select(Contact).where(Contact.id.in_(contact_ids))):
            keys = contact_keys(contact)
            names[contact.id] = keys.name or (keys.phones or keys.emails or ("the customer",))[0]
    return names


def _contacts_of(db, task_row_ids: list[int]) -> dict[int, int]:
    with db.read_session() as session:
        return dict(session.execute(select(FollowUpTask.id, FollowUpTask.contact_id)
                                    .where(FollowUpTask.id.in_(task_row_ids))).all())


def _written(db, keys: list[str]) -> set[str]:
    """Which of these idempotency keys are recorded as written."""
    if not keys:
        return set()
    with db.read_session() as session:
        return set(session.scalars(select(CrmWrite.idempotency_key).where(
            CrmWrite.idempotency_key.in_([key[:255] for key in keys]))))


def _log(db, crm, operation, writes: list[tuple[int, str, dict]]) -> None:
    """Record (contact, idempotency key, payload) writes as done, in one transaction."""
    if not writes:
        return
    now = utcnow()
    with db.session() as session:  # one executemany INSERT, not an ORM flush of a row at a time
        session.execute(insert(CrmWrite), [
            {"contact_id": contact_id, "crm": crm, "operation": operation, "idempotency_key": key[:255],
             "payload": payload, "status": "done", "detail": None, "created_at": now}
            for contact_id, key, payload in writes])


def _update_rows(db, model, column: str, values: list[tuple[int, object]]) -> None:
    """Set `column` of each (row id, value), in one transaction and one executemany UPDATE."""
    if not values:
        return
    table = model.__table__
    stmt = update(table).where(table.c.id == bindparam("row")).values({column: bindparam("value")})
    with db.session() as session:
        session.connection().execute(stmt, [{"row": row_id, "value": value} for row_id, value in values])


def _set_status(db, contact_ids, status, error) -> None:
    if not contact_ids:
        return
    with db.session() as session:
        for contact in session.scalars(select(Contact).where(Contact.id.in_(contact_ids))):
            contact.crm_status, contact.crm_error = status, error[:2000] if error else None


def _mark_synced(db, covered: list[tuple[int, datetime]]) -> None:
    """synced_at = the change each contact was due for, unless it is already as new: one statement for the round."""
    params = [{"contact": contact_id, "at": at} for contact_id, at in covered if at is not None]
    if not params:
        return
    contacts = Contact.__table__
    stmt = (update(contacts).where(contacts.c.id == bindparam("contact"),
                                   or_(contacts.c.synced_at.is_(None), contacts.c.synced_at < bindparam("at")))
            .values(synced_at=bindparam("at")))
    with db.session() as session:
        session.connection().execute(stmt, params)
