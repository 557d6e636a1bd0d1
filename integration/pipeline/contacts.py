"""Find or create our contact for a customer, by any identity the source gave (phone, email, provider id)."""
from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, joinedload

from connectors.base import CustomerRef
from connectors.crm import ContactKeys
from integration.pipeline.contact_merge import merge_into
from integration.store.db import add_unless_exists
from integration.store.models import Contact, ContactIdentity


def identities_of(customer: CustomerRef, source: str) -> list[tuple[str, str]]:
    """(kind, value) pairs in matching priority: phone, email, then the provider's own id."""
    pairs = []
    if customer.phone:
        pairs.append(("phone", customer.phone))
    if customer.email:
        pairs.append(("email", customer.email.strip().lower()))
    if customer.provider_id:
        pairs.append((f"{source}:contact", str(customer.provider_id)))
    return pairs


def resolve_contact(session: Session, customer: CustomerRef, source: str, known=None) -> Contact | None:
    """The contact for these identities, created when new; None when the source named nobody. `known`: a batch's
    `KnownRows`, asked first (a known customer whose identities all point at one contact is not read again)."""
    pairs = identities_of(customer, source)
    if not pairs:
        return None
    held = known.contact(pairs) if known is not None else None
    for _ in range(3):  # a concurrent worker may create the same contact between our read and write
        contact, have = ((held, set(pairs)) if held is not None else None) or _match(session, pairs, known) or (
            _create(session, customer, known), set())
        if _attach(session, contact, pairs, have):
            if customer.name and not contact.name:
                contact.name = customer.name[:255]
            return contact
        session.delete(contact)  # lost the race for every identity: use the winner's contact
        session.flush()
    raise RuntimeError("could not resolve contact after concurrent updates")


def contact_keys(contact: Contact) -> ContactKeys:
    """What a CRM writer needs to find this contact."""
    return ContactKeys(
        contact_id=contact.id,
        phones=tuple(i.value for i in contact.identities if i.kind == "phone"),
        emails=tuple(i.value for i in contact.identities if i.kind == "email"),
        name=contact.name,
    )


def _match(session: Session, pairs: list[tuple[str, str]], known=None) -> tuple[Contact, set[tuple[str, str]]] | None:
    """The contact holding the highest-priority identity, and which of `pairs` it holds; others these identities
    point at are the same person and are merged into it (a phone-only and an e-mail-only contact, say)."""
    condition = or_(*(and_(ContactIdentity.kind == k, ContactIdentity.value == v) for k, v in pairs))
    found = {(i.kind, i.value): i.contact for i in session.scalars(  # each with its contact, in the same statement;
        select(ContactIdentity).where(condition)                     # the contact's other identities only if asked
        .options(joinedload(ContactIdentity.contact).lazyload(Contact.identities)))}
    ranked = [found[pair] for pair in pairs if pair in found]  # priority order: phone, email, provider id
    if not ranked:
        return None
    survivor = ranked[0]
    if merge_into(session, survivor, ranked[1:]) and known is not None:
        known.forget_contacts()
    return survivor, set(found)  # every found identity is the survivor's now (the merge moved the others')


def _create(session: Session, customer: CustomerRef, known=None) -> Contact:
    contact = Contact(name=customer.name[:255] if customer.name else None)
    session.add(contact)
    session.flush()
    if known is not None:
        known.created(contact)
    return contact


def _attach(session: Session, contact: Contact, pairs: list[tuple[str, str]], have: set[tuple[str, str]]) -> bool:
    """Add the identities this contact lacks (`have`: of `pairs`, those it is known to hold); False when it ends up
    with none (a concurrent insert won)."""
    if all(pair in have for pair in pairs):
        return True  # nothing to add (a known customer, the usual case): its identities need no read at all
    have = have | {(i.kind, i.value) for i in contact.identities}
    if all(pair in have for pair in pairs):
        return True
    for kind, value in pairs:
        if (kind, value) in have:
            continue
        if add_unless_exists(session, ContactIdentity(contact_id=contact.id, kind=kind, value=value)):
            have.add((kind, value))
        else:
            # Held by another contact (a conflict to merge later) or inserted concurrently; keep going.
            session.expire(contact, ["identities"])
    session.refresh(contact, ["identities"])
    return bool(contact.identities)
