"""A signed Quo transcript, through the web app and a real `undertone worker` process, into HubSpot.

The HubSpot side is the local test server (tests/servers/hubspot.py), reached through the real
hubspot-api-client; the assertions read the requests it received.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from connectors.hubspot.schema import CONTACT_PROPERTIES
from integration.store.models import Contact, CrmNote, CrmWrite, FollowUpTask
from tests.quo_requests import classic_headers, fixture_body
from tests.servers.hubspot import HubSpotTestServer

CUSTOMER = "+13125550147"


@pytest.fixture
def hubspot():
    with HubSpotTestServer(access_token="pat-test") as server:
        for prop in CONTACT_PROPERTIES:
            server.define_property(prop["name"], prop["type"], prop["fieldType"], options=prop.get("options"))
        yield server


def run_worker_process(settings, hubspot) -> subprocess.CompletedProcess:
    """`undertone worker --burst`: a real RQ worker (forking work horses) in its own process."""
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url, "CRM_FLUSH_DELAY_S": "0",
        "HUBSPOT_ACCESS_TOKEN": "pat-test",
        "HUBSPOT_API_BASE": hubspot.base_url,
    }
    undertone = Path(sys.executable).with_name("undertone")
    return subprocess.run([str(undertone), "worker", "--burst"], env=env, capture_output=True, text=True, timeout=120)


def test_frustrated_caller_becomes_contact_update_and_task_in_hubspot(client, settings, db, hubspot):
    contact_id = hubspot.add_contact({"firstname": "Maria", "phone": CUSTOMER, "email": "maria@example.com"})
    body = fixture_body("call_transcript_completed.json")
    assert client.post("/webhooks/quo", data=body, headers=classic_headers(body)).status_code == 200

    for _ in range(2):  # the process job queues the sync job; a second burst is harmless
        result = run_worker_process(settings, hubspot)
        assert result.returncode == 0, result.stderr[-2000:]

    calls = [(r.method, r.path, r.status) for r in hubspot.requests]
    assert calls == [
        ("POST", "/crm/v3/objects/contacts/search", 200),
        ("POST", "/crm/v3/objects/contacts/batch/update", 200),
        ("POST", "/crm/v3/objects/notes/batch/create", 201),
        ("POST", "/crm/v3/objects/tasks/batch/create", 201),
    ]
    search, update, note, task = hubspot.requests
    searched = {f["propertyName"]: f["values"] for g in search.json["filterGroups"] for f in g["filters"]}
    assert searched["phone"] == [CUSTOMER] and searched["hs_searchable_calculated_phone_number"] == ["3125550147"]
    [change] = update.json["inputs"]
    assert change["id"] == contact_id
    assert change["properties"]["undertone_sentiment"] in ("negative", "very_negative")
    assert float(change["properties"]["undertone_sentiment_score"]) < 0
    assert hubspot.contacts[contact_id]["undertone_negative_count_30d"] == "1"
    assert hubspot.contacts[contact_id]["undertone_escalation"] == "true"
    [note_id] = hubspot.notes
    assert hubspot.associated_ids("notes", note_id) == [contact_id]
    assert note.json["inputs"][0]["associations"][0]["types"][0]["associationTypeId"] == 202
    assert "Escalation: threat of a chargeback" in hubspot.notes[note_id]["hs_note_body"]
    [task_id] = hubspot.tasks
    assert hubspot.associated_ids("tasks", task_id) == [contact_id]
    association = task.json["inputs"][0]["associations"][0]["types"][0]
    assert association == {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}
    assert hubspot.tasks[task_id]["hs_task_status"] == "NOT_STARTED"
    assert hubspot.tasks[task_id]["hs_task_priority"] == "HIGH"  # an escalation
    with db.session() as session:
        assert {w.operation for w in session.scalars(select(CrmWrite))} == {"update_contact"}
        assert session.scalar(select(FollowUpTask.crm_task_id)) == task_id
        assert session.scalar(select(CrmNote.crm_note_id)) == note_id


def test_unknown_caller_is_recorded_as_unmatched_and_nothing_is_written(client, settings, db, hubspot):
    body = fixture_body("call_transcript_completed.json")
    client.post("/webhooks/quo", data=body, headers=classic_headers(body))
    result = run_worker_process(settings, hubspot)
    assert result.returncode == 0, result.stderr[-2000:]
    assert [(r.method, r.path) for r in hubspot.requests] == [("POST", "/crm/v3/objects/contacts/search")]
    assert hubspot.tasks == {}
    with db.session() as session:
        assert session.scalars(select(CrmWrite)).all() == []
        contact = session.scalar(select(Contact))
        assert contact.crm_status == "unmatched" and contact.crm_id is None
        assert contact.synced_at == contact.needs_sync_at  # nothing left to retry until she is heard from again
