"""HubSpot CRM writer: find contacts, set their properties, add notes, open tasks — all in batches.

A hundred contacts cost a handful of calls: searches with IN filters (many phones and emails per
request), batch update, batch create for notes and tasks. Rate limits and retries are in
`connectors.hubspot.api`. Unconfirmed facts are marked where they are used:
- the calculated phone property seems to hold the national number's digits;
- how many values an IN filter takes (we send at most ~100: HUBSPOT_SEARCH_CONTACTS x 3);
- batch create answers with each record's properties, so results are matched to inputs by the
  ref line in their bodies (HubSpot does not promise result order).
"""
from __future__ import annotations

import logging
import re
from typing import Mapping, Sequence

import phonenumbers
from hubspot.crm import contacts as hs_contacts
from hubspot.crm.objects import notes as hs_notes
from hubspot.crm.objects import tasks as hs_tasks

from connectors.common.phones import to_e164
from connectors.crm import (
    ContactKeys,
    CrmContact,
    CRMError,
    CRMWriter,
    NoteSpec,
    TaskSpec,
    UpdateResult,
    chunks,
    ref_line,
)
from connectors.hubspot import defaults
from connectors.hubspot.api import Budgets, HubSpotAPI

log = logging.getLogger(__name__)

NOTE_TO_CONTACT = 202  # HUBSPOT_DEFINED association types
TASK_TO_CONTACT = 204
SEARCHED = ["email", "phone", "mobilephone", "hs_searchable_calculated_phone_number", "hubspot_owner_id", "createdate"]
_REF = re.compile(r"\(Undertone ref ([\w-]+)\)")
_EXISTING_ID = re.compile(r"Existing ID: (\d+)")


class HubSpotWriter(CRMWriter):
    name = "hubspot"

    def __init__(self, access_token: str, host: str = defaults.HUBSPOT_API_BASE, budgets: Budgets | None = None, **kw):
        self.api = HubSpotAPI(access_token, host, budgets, **kw)
        self.client = self.api.client

    # --- contacts

    def find_contacts(self, keys: Sequence[ContactKeys]) -> dict[int, CrmContact]:
        found: dict[int, CrmContact] = {}
        for batch in chunks(list(keys), defaults.HUBSPOT_SEARCH_CONTACTS):
            records = self._search_contacts(batch)
            for key in batch:
                match = _best_match(key, records)
                if match is not None:
                    found[key.contact_id] = match
        return found

    def create_contacts(self, keys: Sequence[ContactKeys]) -> dict[int, CrmContact]:
        created = {}
        for key in keys:  # one by one: a 409 names the record that already has the e-mail
            body = hs_contacts.SimplePublicObjectInputForCreate(properties=_new_contact_properties(key))
            try:
                record = self.api.call(lambda **kw: self.client.crm.contacts.basic_api.create_with_http_info(body, **kw))
                created[key.contact_id] = CrmContact(record.id)
            except CRMError as exc:
                existing = _EXISTING_ID.search(exc.message or "") if exc.status == 409 else None
                if existing is None:
                    raise
                created[key.contact_id] = CrmContact(existing.group(1))
        return created

    def owners(self, crm_ids: Sequence[str]) -> dict[str, str | None]:
        owners: dict[str, str | None] = {}
        for batch in chunks(list(crm_ids)):
            body = hs_contacts.BatchReadInputSimplePublicObjectId(
                properties=["hubspot_owner_id"], properties_with_history=[],
                inputs=[hs_contacts.SimplePublicObjectId(id=i) for i in batch])
            page = self.api.call(lambda **kw: self.client.crm.contacts.batch_api.read_with_http_info(body, **kw))
            owners.update({r.id: (r.properties or {}).get("hubspot_owner_id") or None for r in page.results})
        return owners

    def update_contacts(self, updates: Mapping[str, dict[str, str]]) -> UpdateResult:
        result = UpdateResult()
        for batch in chunks(list(updates.items())):
            self._update_batch(dict(batch), result)
        return result

    # --- notes and tasks

    def create_notes(self, notes: Sequence[NoteSpec]) -> dict[str, str]:
        made = {}
        for batch in chunks(list(notes)):
            inputs = [hs_notes.SimplePublicObjectInputForCreate(
                properties={"hs_timestamp": _iso(n.at), "hs_note_body": f"{n.body}\n{ref_line(n.ref)}"},
                associations=[_association(hs_notes, n.crm_contact_id, NOTE_TO_CONTACT)],
                local_vars_configuration=_config(hs_notes)) for n in batch]
            body = hs_notes.BatchInputSimplePublicObjectBatchInputForCreate(inputs=inputs)
            page = self.api.call(lambda **kw: self.client.crm.objects.notes.batch_api.create_with_http_info(body, **kw))
            made.update(_refs_of(page.results, "hs_note_body"))
        return made

    def update_notes(self, notes: Mapping[str, NoteSpec]) -> None:
        """New bodies for existing notes, each still ending with its ref line (so a later search finds it)."""
        for batch in chunks(list(notes.items())):
            inputs = [hs_notes.SimplePublicObjectBatchInput(
                id=i, properties={"hs_note_body": f"{n.body}\n{ref_line(n.ref)}"},
                local_vars_configuration=_config(hs_notes)) for i, n in batch]
            body = hs_notes.BatchInputSimplePublicObjectBatchInput(inputs=inputs)
            self.api.call(lambda **kw: self.client.crm.objects.notes.batch_api.update_with_http_info(body, **kw))

    def create_tasks(self, tasks: Sequence[TaskSpec]) -> dict[str, str]:
        made = {}
        for batch in chunks(list(tasks)):
            inputs = [hs_tasks.SimplePublicObjectInputForCreate(
                properties=_task_properties(t), associations=[_association(hs_tasks, t.crm_contact_id, TASK_TO_CONTACT)],
                local_vars_configuration=_config(hs_tasks)) for t in batch]
            body = hs_tasks.BatchInputSimplePublicObjectBatchInputForCreate(inputs=inputs)
            page = self.api.call(lambda **kw: self.client.crm.objects.tasks.batch_api.create_with_http_info(body, **kw))
            made.update(_refs_of(page.results, "hs_task_body"))
        return made

    def append_to_tasks(self, lines: Mapping[str, str]) -> None:
        """Two calls per hundred tasks: read their bodies, then write them back with the line added."""
        for batch in chunks(list(lines.items())):
            read = hs_tasks.BatchReadInputSimplePublicObjectId(
                properties=["hs_task_body"], properties_with_history=[],
                inputs=[hs_tasks.SimplePublicObjectId(id=i, local_vars_configuration=_config(hs_tasks)) for i, _ in batch])
            page = self.api.call(lambda **kw: self.client.crm.objects.tasks.batch_api.read_with_http_info(read, **kw))
            bodies = {r.id: (r.properties or {}).get("hs_task_body") or "" for r in page.results}
            inputs = [hs_tasks.SimplePublicObjectBatchInput(id=i, properties={"hs_task_body": f"{bodies[i]}\n{line}".strip()},
                                                            local_vars_configuration=_config(hs_tasks))
                      for i, line in batch if i in bodies]
            if inputs:
                body = hs_tasks.BatchInputSimplePublicObjectBatchInput(inputs=inputs)
                self.api.call(lambda **kw: self.client.crm.objects.tasks.batch_api.update_with_http_info(body, **kw))

    def find_refs(self, kind: str, crm_contact_id: str, refs: Sequence[str]) -> dict[str, str]:
        """Search the contact's notes or tasks for our ref lines (recovers ids after a crash)."""
        module = hs_notes if kind == "notes" else hs_tasks
        prop = "hs_note_body" if kind == "notes" else "hs_task_body"
        request = module.PublicObjectSearchRequest(
            filter_groups=[module.FilterGroup(filters=[module.Filter(property_name="associations.contact", operator="EQ",
                                                                      value=crm_contact_id)])],
            properties=[prop], limit=100)
        api = self.client.crm.objects.notes if kind == "notes" else self.client.crm.objects.tasks
        page = self.api.call(lambda **kw: api.search_api.do_search_with_http_info(request, **kw), search=True)
        found = _refs_of(page.results, prop)
        return {ref: found[ref] for ref in refs if ref in found}

    # --- internals

    def _search_contacts(self, keys: Sequence[ContactKeys]) -> list:
        phones = sorted({p for k in keys for p in k.phones})
        digits = sorted({d for p in phones if (d := _national_digits(p))})
        emails = sorted({e for k in keys for e in k.emails})
        groups = [_in(prop, values) for prop, values in (("phone", phones), ("mobilephone", phones),
                  ("hs_searchable_calculated_phone_number", digits), ("email", emails)) if values]
        results, after = [], None
        for _ in range(defaults.HUBSPOT_SEARCH_PAGES):
            request = hs_contacts.PublicObjectSearchRequest(filter_groups=groups, properties=SEARCHED,
                                                            sorts=["createdate"], limit=100, after=after)
            page = self.api.call(lambda **kw: self.client.crm.contacts.search_api.do_search_with_http_info(request, **kw),
                                 search=True)
            results.extend(page.results)
            after = page.paging.next.after if page.paging and page.paging.next else None
            if after is None:
                break
        return results

    def _update_batch(self, batch: dict[str, dict], result: UpdateResult) -> None:
        """One batch update; a 400 for the whole batch is split to find the bad record (binary search)."""
        inputs = [hs_contacts.SimplePublicObjectBatchInput(id=i, properties=p, local_vars_configuration=_config(hs_contacts))
                  for i, p in batch.items()]
        body = hs_contacts.BatchInputSimplePublicObjectBatchInput(inputs=inputs)
        try:
            page = self.api.call(lambda **kw: self.client.crm.contacts.batch_api.update_with_http_info(body, **kw))
        except CRMError as exc:
            if exc.status != 400 or len(batch) == 1:
                if exc.retryable:
                    raise
                result.failed.update({i: exc for i in batch})
                return
            items = list(batch.items())
            for half in (items[: len(items) // 2], items[len(items) // 2:]):
                self._update_batch(dict(half), result)
            return
        for error in getattr(page, "errors", None) or []:  # 207: some inputs failed
            ids = [str(i) for i in ((error.context or {}).get("ids") or []) if str(i) in batch]
            if error.category == "OBJECT_NOT_FOUND":
                result.missing.update(ids or [i for i in batch if i not in {r.id for r in page.results}])
            else:
                result.failed.update({i: CRMError(error.message or "batch error", 400, False) for i in ids})


def _best_match(key: ContactKeys, records: list) -> CrmContact | None:
    """The oldest record matching one of the contact's phones (any phone property), else its email."""
    phones, emails = set(key.phones), set(key.emails)
    digits = {d for p in phones if (d := _national_digits(p))}
    by_phone = [r for r in records if _record_phones(r) & phones or (r.properties or {}).get(
        "hs_searchable_calculated_phone_number") in digits]
    by_email = [r for r in records if ((r.properties or {}).get("email") or "").lower() in emails]
    for candidates in (by_phone, by_email):
        if candidates:
            record = candidates[0]  # results are sorted by createdate: the oldest wins
            return CrmContact(record.id, (record.properties or {}).get("hubspot_owner_id") or None, owner_known=True)
    return None


def _record_phones(record) -> set[str]:
    props = record.properties or {}
    return {p for p in (to_e164(props.get("phone")), to_e164(props.get("mobilephone"))) if p}


def _new_contact_properties(key: ContactKeys) -> dict[str, str]:
    properties = {}
    if key.emails:
        properties["email"] = key.emails[0]
    if key.phones:
        properties["phone"] = key.phones[0]
    if key.name:
        first, _, last = key.name.partition(" ")
        properties.update({"firstname": first, **({"lastname": last} if last else {})})
    return properties


def _task_properties(task: TaskSpec) -> dict[str, str]:
    properties = {
        "hs_timestamp": _iso(task.due_at), "hs_task_subject": task.subject, "hs_task_body": f"{task.body}\n{ref_line(task.ref)}",
        "hs_task_status": "NOT_STARTED", "hs_task_priority": task.priority, "hs_task_type": task.task_type,
    }
    if task.owner_id:
        properties["hubspot_owner_id"] = task.owner_id
    return properties


def _association(module, contact_id: str, type_id: int):
    config = _config(module)
    return module.PublicAssociationsForObject(
        to=module.PublicObjectId(id=contact_id, local_vars_configuration=config),
        types=[module.AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=type_id,
                                      local_vars_configuration=config)],
        local_vars_configuration=config)


_configs: dict = {}


def _config(module):
    """One client Configuration per API module, given to the request models built per record. A model built
    without one deep-copies the module's default Configuration, which sets its loggers' levels, and each
    `setLevel` clears the cache of every logger in the process (hundreds once torch is loaded): 0.17 ms per
    note's four models with 217 loggers, a thousand notes in a burst's flushes. The models only read it
    (client-side validation)."""
    config = _configs.get(module.__name__)
    if config is None:
        config = _configs[module.__name__] = module.Configuration.get_default_copy()
    return config


def _refs_of(results, prop: str) -> dict[str, str]:
    refs = {}
    for record in results or []:
        match = _REF.search((record.properties or {}).get(prop) or "")
        if match:
            refs[match.group(1)] = record.id
    return refs


def _in(prop: str, values: list[str]):
    return hs_contacts.FilterGroup(filters=[hs_contacts.Filter(property_name=prop, operator="IN", values=values)])


def _national_digits(e164: str) -> str | None:
    try:
        return str(phonenumbers.parse(e164, None).national_number)
    except phonenumbers.NumberParseException:
        return None


def _iso(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
