"""The writer builds its request models with one client Configuration per API module: a model built without one
deep-copies the module's default Configuration, and each copy sets its loggers' levels, which clears the cache of
every logger in the process (hundreds in a worker with torch loaded): 0.17 ms per note's four models with 217
loggers, a thousand notes in a burst's flushes."""
from __future__ import annotations

from datetime import datetime, timezone

from hubspot.crm.objects import notes as hs_notes
from hubspot.crm.objects import tasks as hs_tasks

from connectors.crm import NoteSpec, TaskSpec
from connectors.hubspot.writer import HubSpotWriter
from tests.servers.hubspot import HubSpotTestServer


def test_notes_and_tasks_are_built_without_copying_the_default_configuration(monkeypatch):
    copies = []
    for module in (hs_notes, hs_tasks):
        real = module.Configuration.get_default_copy.__func__

        def counting(cls, real=real):
            copies.append(cls.__module__)
            return real(cls)

        monkeypatch.setattr(module.Configuration, "get_default_copy", classmethod(counting))
    with HubSpotTestServer(access_token="pat-test") as server:
        contact = server.add_contact({"email": "ana@example.com"})
        writer = HubSpotWriter("pat-test", host=server.base_url)
        at = datetime(2026, 11, 30, tzinfo=timezone.utc)
        copies.clear()  # what building the client itself copied
        made = writer.create_notes([NoteSpec(contact, f"note {i}", at, f"note-{i}") for i in range(20)])
        tasks = writer.create_tasks([TaskSpec("Call back", "body", at, "HIGH", "CALL", None, contact, f"task-{i}")
                                     for i in range(5)])
    assert len(made) == 20 and len(tasks) == 5
    assert len(server.notes) == 20
    assert len(copies) <= 4, copies  # one per module the writer builds models of, not one per model
