"""HubSpot write-back at production quality, against the local HubSpot server on real Redis.

Interactions arrive as signed generic webhooks; a real RQ worker (SimpleWorker) processes them and
runs the batched CRM flush through hubspot-api-client.
"""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from pydantic import SecretStr
from rq.registry import FailedJobRegistry, ScheduledJobRegistry
from sqlalchemy import select

from connectors.hubspot.schema import CONTACT_PROPERTIES
from integration import defaults
from integration.store.models import Contact, CrmNote, FollowUpTask
from tests.connectors.signing import sign_standard, whsec_secret
from tests.servers.hubspot import HubSpotTestServer
from tests.workers.helpers import drain
from workers import context, jobs

SECRET = whsec_secret(b"crm-sync-test-key-0123456789abcde")
CONTACTS = "/crm/v3/objects/contacts"
ANGRY = "This is ridiculous, I want a refund and I will leave a one-star review."
UNHAPPY = "The plumber left a mess and the sink still leaks. Really disappointing, terrible work."
HAPPY = "Thank you so much, everything works perfectly now. Wonderful service!"


@pytest.fixture
def hubspot(worker_env, settings):
    settings.generic_webhook_secret = SecretStr(SECRET)
    with HubSpotTestServer(access_token="pat-test") as server:
        for prop in CONTACT_PROPERTIES:
            server.define_property(prop["name"], prop["type"], prop["fieldType"], options=prop.get("options"))
        worker_env.setenv("HUBSPOT_ACCESS_TOKEN", "pat-test")
        worker_env.setenv("HUBSPOT_API_BASE", server.base_url)
        context.reset()
        yield server


def say(client, text: str, *, email: str | None = None, phone: str | None = None, at: datetime | None = None,
        channel: str = "sms", thread: str | None = None, append: bool = False) -> None:
    """Deliver one interaction through the generic webhook, signed like any sender would."""
    document = {"id": uuid.uuid4().hex, "channel": channel, "text": text,
                "occurred_at": (at or datetime.now(timezone.utc)).isoformat(),
                "contact": {k: v for k, v in (("email", email), ("phone", phone)) if v}}
    if thread:
        document.update(thread_id=thread, append=append)
    body = json.dumps(document).encode()
    response = client.post("/webhooks/generic", data=body, headers=sign_standard(body, SECRET, f"msg_{uuid.uuid4().hex}",
                                                                                 int(time.time())))
    assert response.status_code == 200, response.get_json()


def calls(server, path_prefix: str, method: str = "POST") -> list:
    return [r for r in server.requests if r.path.startswith(path_prefix) and r.method == method]


def test_ten_interactions_of_one_contact_are_one_update_and_one_note_batch(client, redis_conn, hubspot):
    crm_id = hubspot.add_contact({"email": "ana@example.com", "hubspot_owner_id": "501"})
    for minute in range(10):
        say(client, UNHAPPY if minute % 2 else HAPPY, email="ana@example.com",
            at=datetime.now(timezone.utc) - timedelta(minutes=10 - minute))
    drain(redis_conn)
    updates = calls(hubspot, f"{CONTACTS}/batch/update")
    assert len(updates) == 1 and [i["id"] for i in updates[0].json["inputs"]] == [crm_id]
    assert len(calls(hubspot, "/crm/v3/objects/notes/batch/create")) == 1
    assert len(hubspot.notes) == 10
    assert all(hubspot.associated_ids("notes", n) == [crm_id] for n in hubspot.notes)
    assert len(calls(hubspot, f"{CONTACTS}/search")) == 1
    assert hubspot.contacts[crm_id]["undertone_negative_count_30d"] == "5"


def test_a_second_flush_sends_nothing(client, redis_conn, hubspot, db):
    hubspot.add_contact({"email": "ana@example.com"})
    say(client, ANGRY, email="ana@example.com")
    drain(redis_conn)
    before = len(hubspot.requests)
    with db.session() as session:
        for contact in session.scalars(select(Contact)):
            contact.synced_at = None  # as if the flush had died before recording it
    assert jobs.flush_crm()["status"] == "flushed"
    assert len(hubspot.requests) == before
    assert (len(hubspot.notes), len(hubspot.tasks)) == (1, 1)


def test_an_older_interaction_never_overwrites_the_newer_result(client, redis_conn, hubspot):
    crm_id = hubspot.add_contact({"phone": "+14155550123"})
    now = datetime.now(timezone.utc)
    say(client, HAPPY, phone="+14155550123", at=now)
    drain(redis_conn)
    newest = dict(hubspot.contacts[crm_id])
    say(client, UNHAPPY, phone="+14155550123", at=now - timedelta(days=2))  # arrives late
    drain(redis_conn)
    after = hubspot.contacts[crm_id]
    for name in ("undertone_sentiment", "undertone_sentiment_score", "undertone_last_interaction_at"):
        assert after[name] == newest[name], name
    assert after["undertone_negative_count_30d"] == "1"  # the 30-day picture does include it
    assert len(hubspot.notes) == 2


def test_escalation_opens_one_high_priority_task_for_the_owner_and_a_later_good_call_is_noted(client, redis_conn, hubspot, db):
    crm_id = hubspot.add_contact({"email": "ana@example.com", "hubspot_owner_id": "501"})
    say(client, ANGRY, email="ana@example.com", channel="email")
    drain(redis_conn)
    say(client, ANGRY + " Still nothing!", email="ana@example.com", channel="email")
    drain(redis_conn)
    [task_id] = hubspot.tasks
    task = hubspot.tasks[task_id]
    assert (task["hs_task_priority"], task["hs_task_type"], task["hubspot_owner_id"]) == ("HIGH", "EMAIL", "501")
    due = datetime.fromisoformat(task["hs_timestamp"].replace("Z", "+00:00"))
    assert timedelta(hours=3.9) < due - datetime.now(timezone.utc) <= timedelta(hours=4)
    assert task["hs_task_subject"].startswith("Call ana@example.com back today: ")
    assert hubspot.associated_ids("tasks", task_id) == [crm_id]
    say(client, HAPPY, email="ana@example.com", channel="email")
    drain(redis_conn)
    assert "the issue may be resolved" in hubspot.tasks[task_id]["hs_task_body"]
    assert len(calls(hubspot, "/crm/v3/objects/tasks/batch/update")) == 1
    jobs.flush_crm()  # nothing new: the resolution is noted once
    assert len(calls(hubspot, "/crm/v3/objects/tasks/batch/update")) == 1
    with db.session() as session:
        assert session.scalars(select(FollowUpTask.status)).all() == ["open"]


def test_default_owner_when_the_contact_has_none(client, redis_conn, hubspot, worker_env):
    worker_env.setenv("HUBSPOT_DEFAULT_OWNER_ID", "501")
    context.reset()
    hubspot.add_contact({"phone": "+13125550147"})
    say(client, ANGRY, phone="+13125550147", channel="call")
    drain(redis_conn)
    [task] = hubspot.tasks.values()
    assert (task["hubspot_owner_id"], task["hs_task_type"]) == ("501", "CALL")


def test_no_match_records_unmatched_or_creates_the_contact(client, redis_conn, hubspot, worker_env, db):
    say(client, UNHAPPY, email="new@example.com")
    drain(redis_conn)
    assert hubspot.contacts == {}
    with db.session() as session:
        assert session.scalar(select(Contact.crm_status)) == "unmatched"
    worker_env.setenv("CRM_CREATE_CONTACTS", "true")
    context.reset()
    say(client, UNHAPPY + " Again.", email="new@example.com")
    drain(redis_conn)
    [(crm_id, record)] = hubspot.contacts.items()
    assert record["email"] == "new@example.com"
    assert hubspot.contacts[crm_id]["undertone_negative_count_30d"] == "2"
    with db.session() as session:
        assert session.scalar(select(Contact.crm_status)) == "created"


def test_a_merged_contact_is_followed_to_the_surviving_record(client, redis_conn, hubspot, db):
    old = hubspot.add_contact({"phone": "+13125550147"})
    survivor = hubspot.add_contact({"email": "maria@example.com"})
    say(client, HAPPY, phone="+13125550147")
    drain(redis_conn)
    hubspot.merge_contacts(survivor, old)  # the old id now answers 404; the survivor gains the phone
    say(client, UNHAPPY, phone="+13125550147")
    drain(redis_conn)
    assert hubspot.contacts[survivor]["undertone_negative_count_30d"] == "1"
    with db.session() as session:
        assert session.scalar(select(Contact.crm_id)) == f"hubspot:{survivor}"
    assert {n for n in hubspot.notes if hubspot.associated_ids("notes", n) == [survivor]}


def test_a_429_waits_and_retries_without_losing_anything(client, redis_conn, hubspot):
    crm_id = hubspot.add_contact({"email": "ana@example.com"})
    hubspot.fail_next(f"{CONTACTS}/batch/update", 429, headers={"Retry-After": "1"})
    say(client, UNHAPPY, email="ana@example.com")
    drain(redis_conn)
    statuses = [r.status for r in calls(hubspot, f"{CONTACTS}/batch/update")]
    assert statuses == [429, 200]
    assert hubspot.contacts[crm_id]["undertone_negative_count_30d"] == "1"


def test_5xx_is_retried_a_bounded_number_of_times(client, redis_conn, hubspot):
    hubspot.add_contact({"email": "ana@example.com"})
    hubspot.fail_next("/crm/v3/objects/notes/batch/create", 502, count=2)
    say(client, UNHAPPY, email="ana@example.com")
    drain(redis_conn)
    assert [r.status for r in calls(hubspot, "/crm/v3/objects/notes/batch/create")] == [502, 502, 201]
    assert len(hubspot.notes) == 1


def test_a_batch_refused_whole_is_split_to_find_the_bad_record(client, redis_conn, hubspot, db):
    first = hubspot.add_contact({"email": "a@example.com"})
    second = hubspot.add_contact({"email": "b@example.com"})
    say(client, UNHAPPY, email="a@example.com")
    say(client, HAPPY, email="b@example.com")
    hubspot.fail_next(f"{CONTACTS}/batch/update", 400, count=2, body={
        "status": "error", "message": "Property values were not valid", "category": "VALIDATION_ERROR"})
    drain(redis_conn)
    sizes = [len(r.json["inputs"]) for r in calls(hubspot, f"{CONTACTS}/batch/update")]
    assert sizes == [2, 1, 1]  # whole batch refused, then each half alone: the first half refused again
    statuses = {}
    with db.session() as session:
        for contact in session.scalars(select(Contact)):
            statuses[contact.crm_id] = (contact.crm_status, contact.crm_error)
    bad = statuses.pop(f"hubspot:{first}")
    assert bad[0] == "error" and "Property values were not valid" in bad[1]
    assert statuses == {f"hubspot:{second}": ("matched", None)}
    assert hubspot.contacts[second]["undertone_sentiment"] in ("positive", "very_positive")


def test_401_fails_the_job_at_once_and_it_lands_in_the_failed_registry(client, redis_conn, hubspot):
    hubspot.add_contact({"email": "ana@example.com"})
    hubspot.fail_next(f"{CONTACTS}/search", 401, count=10)
    say(client, UNHAPPY, email="ana@example.com")
    drain(redis_conn)
    registry = FailedJobRegistry(defaults.CRM_QUEUE, connection=redis_conn)
    assert registry.count == 1
    assert len(calls(hubspot, f"{CONTACTS}/search")) == 1  # not retried


def test_a_daily_limit_waits_for_the_reset_instead_of_retrying_soon(client, redis_conn, hubspot):
    hubspot.add_contact({"email": "ana@example.com"})
    hubspot.fail_next(f"{CONTACTS}/batch/update", 429, count=1, body={
        "status": "error", "message": "You have reached your daily limit.", "errorType": "RATE_LIMIT",
        "policyName": "DAILY"})
    say(client, UNHAPPY, email="ana@example.com")
    drain(redis_conn)
    scheduled = ScheduledJobRegistry(defaults.CRM_QUEUE, connection=redis_conn)
    [job_id] = scheduled.get_job_ids()
    when = scheduled.get_scheduled_time(job_id)
    assert when - datetime.now(timezone.utc) > timedelta(minutes=59)
    assert len(calls(hubspot, f"{CONTACTS}/batch/update")) == 1


def test_records_a_crashed_run_created_are_recovered_not_duplicated(client, redis_conn, hubspot, db):
    crm_id = hubspot.add_contact({"email": "ana@example.com"})
    say(client, UNHAPPY, email="ana@example.com")
    hubspot.fail_next("/crm/v3/objects/notes/batch/create", 500, count=3)  # the flush dies at the notes
    drain(redis_conn)
    with db.session() as session:
        note = session.scalar(select(CrmNote))
        assert note.crm_note_id is None
        ref = note.ref
    # The CRM did create it after all (the answer was lost): our ref line is in its body.
    from hubspot import HubSpot
    from hubspot.crm.objects import notes as hs_notes

    HubSpot(access_token="pat-test", host=hubspot.base_url).crm.objects.notes.basic_api.create(
        hs_notes.SimplePublicObjectInputForCreate(
            properties={"hs_timestamp": "2026-11-26T00:00:00.000Z", "hs_note_body": f"earlier\n(Undertone ref {ref})"},
            associations=[hs_notes.PublicAssociationsForObject(to=hs_notes.PublicObjectId(id=crm_id), types=[
                hs_notes.AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=202)])]))
    with db.session() as session:
        session.scalar(select(Contact)).synced_at = None
    jobs.flush_crm()
    assert len(hubspot.notes) == 1
    with db.session() as session:
        assert session.scalar(select(CrmNote.crm_note_id)) == next(iter(hubspot.notes))


def test_a_contact_we_created_is_not_searched_again_while_search_lags(client, redis_conn, hubspot, worker_env):
    worker_env.setenv("CRM_CREATE_CONTACTS", "true")
    context.reset()
    hubspot.search_lag_s = 30.0  # HubSpot's search lags behind writes
    say(client, UNHAPPY, email="new@example.com")
    drain(redis_conn)
    say(client, HAPPY, email="new@example.com")
    drain(redis_conn)
    assert len(hubspot.contacts) == 1  # the stored link is used, not a search that cannot see it yet
    assert len(calls(hubspot, f"{CONTACTS}/search")) == 1


def test_follow_up_rules_edited_in_the_console_shape_the_task(client, redis_conn, worker_env, settings, db):
    """The console's copy of the follow-up rules (SLA, priority, owner, templates) is what the flush uses; the
    rule's owner wins over the contact's."""
    from integration.store import rules as owner_rules

    document = owner_rules.default("follow_up", settings)
    document["rules"][0].update(due_hours=2, priority="LOW", owner_id="777", task_type="TODO",
                                subject="Ring {who} ({themes})", body="{who} said: {evidence}")
    owner_rules.save(db, "follow_up", document)
    settings.generic_webhook_secret = SecretStr(SECRET)
    owners = [{"id": "501", "email": "owner@example.com"}, {"id": "777", "email": "manager@example.com"}]
    with HubSpotTestServer(access_token="pat-test", owners=owners) as hubspot:
        for prop in CONTACT_PROPERTIES:
            hubspot.define_property(prop["name"], prop["type"], prop["fieldType"], options=prop.get("options"))
        worker_env.setenv("HUBSPOT_ACCESS_TOKEN", "pat-test")
        worker_env.setenv("HUBSPOT_API_BASE", hubspot.base_url)
        context.reset()
        hubspot.add_contact({"email": "ana@example.com", "hubspot_owner_id": "501"})
        say(client, ANGRY, email="ana@example.com", channel="email")
        drain(redis_conn)
        [task] = hubspot.tasks.values()
    assert (task["hs_task_priority"], task["hs_task_type"], task["hubspot_owner_id"]) == ("LOW", "TODO", "777")
    assert task["hs_task_subject"] == "Ring ana@example.com (billing)"
    assert task["hs_task_body"].startswith("ana@example.com said: ")
    due = datetime.fromisoformat(task["hs_timestamp"].replace("Z", "+00:00"))
    assert timedelta(hours=1.9) < due - datetime.now(timezone.utc) <= timedelta(hours=2)
