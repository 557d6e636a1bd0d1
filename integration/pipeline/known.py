"""What a batch's storing transaction reads once at its start, for all of its events: the interactions their items
merge into (locked), the contacts their customers' identities point at, and those contacts' latest negative
interactions (`KnownRows.read`), instead of a read of each per event (`contacts.resolve_contact`,
`interactions.upsert_interaction` and `interactions.needs_scoring` ask here first). Storing writes no score, so the
history read at the start holds for the transaction; a later event of the batch about the same contact is read again
after the earlier one's score is written (`batch.process_batch`), as before.

Only what was there at the start is answered from here: a thread or an identity that was not is looked up as one
event at a time would (an earlier event of the same transaction may have created it), and a merge of contacts in the
transaction makes every identity be looked up again (`forget_contacts`).
"""
from __future__ import annotations

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, joinedload

from connectors.base import ContactMerge, Touch
from integration.pipeline.contacts import identities_of
from integration.pipeline.interactions import history_since, history_time
from integration.store.models import Contact, ContactIdentity, Interaction, InteractionScore
from scoring.escalation import History


class KnownRows:
    def __init__(self):
        self._threads: set[tuple[str, str]] = set()  # (source, thread_key) looked up at the start
        self._rows: dict[tuple[str, str], Interaction] = {}  # those found, locked
        self._pairs: set[tuple[str, str]] = set()  # (kind, value) identities looked up at the start
        self._contacts: dict[tuple[str, str], Contact] = {}  # those found -> their contact
        self._negatives: dict[int, list[tuple[int, object]]] = {}  # contact -> its 2 latest negative (id, when)

    def read(self, session: Session, events: list[tuple[str, list]]) -> None:
        """Lock and read the interactions of these events' items (source, items) in id order, and read the contacts
        their identities point at: one statement each (plus the interactions' scores)."""
        self.__init__()
        interactions = [item for _, items in events for item in items if not isinstance(item, (ContactMerge, Touch))]
        self._threads = {(item.source, item.thread_key) for item in interactions}
        self._pairs = {pair for source, items in events for item in items
                       if not isinstance(item, (ContactMerge, Touch)) for pair in identities_of(item.customer, source)}
        if self._threads:
            self._rows = {(row.source, row.thread_key): row for row in session.scalars(
                select(Interaction).where(or_(*(and_(Interaction.source == source, Interaction.thread_key == key)
                                                for source, key in sorted(self._threads))))
                .order_by(Interaction.id).with_for_update())}
        if self._pairs:
            self._contacts = {(i.kind, i.value): i.contact for i in session.scalars(
                select(ContactIdentity).where(or_(*(and_(ContactIdentity.kind == kind, ContactIdentity.value == value)
                                                    for kind, value in sorted(self._pairs))))
                .options(joinedload(ContactIdentity.contact).lazyload(Contact.identities)))}
        contact_ids = {c.id for c in self._contacts.values()} | {
            row.contact_id for row in self._rows.values() if row.contact_id is not None}
        if contact_ids:
            self._negatives = {contact_id: [] for contact_id in contact_ids}
            occurred = func.coalesce(Interaction.occurred_at, Interaction.created_at)
            rank = func.row_number().over(partition_by=Interaction.contact_id, order_by=occurred.desc())
            latest = (select(Interaction.contact_id, Interaction.id, occurred.label("at"), rank.label("rank"))
                      .join(InteractionScore).where(Interaction.contact_id.in_(sorted(contact_ids)),
                                                    InteractionScore.label == "negative").subquery())
            for contact_id, interaction_id, at in session.execute(
                    select(latest.c.contact_id, latest.c.id, latest.c.at).where(latest.c.rank <= 2)
                    .order_by(latest.c.contact_id, latest.c.rank)):
                self._negatives[contact_id].append((interaction_id, at))

    def interaction(self, source: str, thread_key: str) -> tuple[bool, Interaction | None]:
        """(looked up at the start, the row found then: locked). Not found then: it may exist since (insert it
        unless it exists)."""
        key = (source, thread_key)
        return key in self._threads, self._rows.get(key)

    def contact(self, pairs: list[tuple[str, str]]) -> Contact | None:
        """The contact every one of these identities pointed at, at the start; None when one was not there then,
        or when they pointed at different contacts (to be merged): such a customer is looked up again."""
        if not pairs or not all(pair in self._contacts for pair in pairs):
            return None
        found = {self._contacts[pair] for pair in pairs}
        return found.pop() if len(found) == 1 else None

    def history(self, row: Interaction) -> History | None:
        """The repeat-contact history of this interaction, from its contact's two latest negative interactions read
        at the start; None when they cannot tell (its contact was not read, or both are this interaction or later
        than it): then it is read on its own."""
        latest = self._negatives.get(row.contact_id) if row.contact_id is not None else None
        if latest is None:
            return None
        when = history_time(row)
        for interaction_id, at in latest:
            at_utc = history_since(when, at)  # compared as the per-event read compares: at <= when
            if interaction_id != row.id and at_utc.negative_within_hours is not None \
                    and at_utc.negative_within_hours >= 0:
                return at_utc
        return History() if len(latest) < 2 else None

    def created(self, contact: Contact) -> None:
        """A contact this transaction created: it has no scored interaction (storing writes no score)."""
        self._negatives[contact.id] = []

    def forget_contacts(self) -> None:
        """Contacts were merged in this transaction: what was read at the start may point at one merged away (and
        its interactions moved to another contact)."""
        self._pairs.clear()
        self._contacts.clear()
        self._negatives.clear()
