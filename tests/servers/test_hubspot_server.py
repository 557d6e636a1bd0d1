"""Tests of the HubSpot test server, driven through the real ``hubspot-api-client`` 12.x.

The client is built as ``HubSpot(access_token=..., host=server.base_url)``; ``host`` must have no
trailing slash, because the client appends paths such as ``/crm/v3/...`` to it verbatim.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.contacts import ApiException as ContactsApiException
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInput,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.objects import notes as hs_notes
from hubspot.crm.objects import tasks as hs_tasks
from hubspot.crm.properties import ApiException as PropertiesApiException
from hubspot.crm.properties import PropertyCreate, PropertyGroupCreate

from tests.servers.hubspot import HubSpotTestServer

DUE = "2030-01-15T09:00:00.000Z"


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock for rate limits and search lag."""
    return FakeClock()


@pytest.fixture
def server(clock):
    """A fresh server on a fake clock."""
    with HubSpotTestServer(clock=clock) as running:
        yield running


@pytest.fixture
def client(server) -> HubSpot:
    """The real client pointed at the server."""
    return HubSpot(access_token="test-token", host=server.base_url)


def search_request(*groups, properties=None, **kwargs) -> PublicObjectSearchRequest:
    """A search request from filter groups given as lists of (property, operator, value)."""
    filter_groups = [{"filters": [_filter(*f) for f in group]} for group in groups]
    return PublicObjectSearchRequest(filter_groups=filter_groups, properties=properties, **kwargs)


def _filter(name, operator, value=None):
    """One filter dict; a list value becomes ``values``."""
    flt = {"propertyName": name, "operator": operator}
    if isinstance(value, list):
        flt["values"] = value
    elif value is not None:
        flt["value"] = value
    return flt


def search_ids(client, *groups, **kwargs) -> list[str]:
    """Ids of contacts a search returns."""
    result = client.crm.contacts.search_api.do_search(
        public_object_search_request=search_request(*groups, **kwargs))
    return [r.id for r in result.results]


def task_input(contact_id=None, type_id=204, **properties) -> hs_tasks.SimplePublicObjectInputForCreate:
    """A task create body, associated with a contact when one is given."""
    props = {"hs_timestamp": DUE, "hs_task_subject": "Call back", **properties}
    associations = None
    if contact_id:
        associations = [hs_tasks.PublicAssociationsForObject(
            to=hs_tasks.PublicObjectId(id=contact_id),
            types=[hs_tasks.AssociationSpec(association_category="HUBSPOT_DEFINED",
                                            association_type_id=type_id)])]
    return hs_tasks.SimplePublicObjectInputForCreate(properties=props, associations=associations)


def note_input(contact_id, type_id=202, body="Customer sounded upset"):
    """A note create body associated with a contact."""
    return hs_notes.SimplePublicObjectInputForCreate(
        properties={"hs_timestamp": DUE, "hs_note_body": body},
        associations=[hs_notes.PublicAssociationsForObject(
            to=hs_notes.PublicObjectId(id=contact_id),
            types=[hs_notes.AssociationSpec(association_category="HUBSPOT_DEFINED",
                                            association_type_id=type_id)])])


def batch(*pairs) -> BatchInputSimplePublicObjectBatchInput:
    """A batch update body from (id, properties) pairs."""
    return BatchInputSimplePublicObjectBatchInput(
        inputs=[SimplePublicObjectBatchInput(id=i, properties=p) for i, p in pairs])


# ----------------------------------------------------------------------------- lifecycle and auth


def test_starts_quickly_on_loopback_and_stops():
    """The server starts well under a second on 127.0.0.1 and frees its port on stop."""
    began = time.monotonic()
    with HubSpotTestServer() as server:
        assert time.monotonic() - began < 0.5
        assert server.base_url.startswith("http://127.0.0.1:")
        assert not server.base_url.endswith("/")
        client = HubSpot(access_token="test-token", host=server.base_url)
        owners = client.crm.owners.owners_api.get_page()
        assert [o.email for o in owners.results] == ["owner@example.com"]


def test_wrong_token_is_401_with_hubspot_body(server):
    """A wrong bearer token gets 401 INVALID_AUTHENTICATION and changes nothing."""
    intruder = HubSpot(access_token="wrong", host=server.base_url)
    with pytest.raises(ContactsApiException) as caught:
        intruder.crm.contacts.basic_api.create(
            simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
                properties={"email": "x@example.com"}))
    body = json.loads(caught.value.body)
    assert caught.value.status == 401
    assert body["status"] == "error" and body["category"] == "INVALID_AUTHENTICATION"
    assert uuid.UUID(body["correlationId"])
    assert server.contacts == {}
    assert server.requests[-1].status == 401


# ----------------------------------------------------------------------------- search


def test_search_ors_groups_for_phone_or_email(client, server):
    """Groups are OR'd: one contact matches by national phone digits, another by email (any case)."""
    by_phone = server.add_contact({"phone": "+1 (415) 555-0100", "firstname": "Pat"})
    by_email = server.add_contact({"email": "sam@example.com", "firstname": "Sam"})
    server.add_contact({"email": "other@example.com", "phone": "+1 212 555 0199"})
    result = client.crm.contacts.search_api.do_search(public_object_search_request=search_request(
        [("hs_searchable_calculated_phone_number", "EQ", "4155550100")],
        [("email", "EQ", "SAM@Example.com")],
        properties=["phone", "email"]))
    assert result.total == 2
    assert sorted(r.id for r in result.results) == sorted([by_phone, by_email])
    assert set(result.results[0].properties) == {"phone", "email", "hs_object_id", "createdate",
                                                 "lastmodifieddate"}


def test_filters_within_a_group_are_anded(client, server):
    """All filters of a group must match."""
    wanted = server.add_contact({"email": "a@example.com", "lifecyclestage": "lead"})
    server.add_contact({"email": "b@example.com", "lifecyclestage": "customer"})
    assert search_ids(client, [("lifecyclestage", "EQ", "lead"), ("email", "HAS_PROPERTY")]) == [wanted]
    assert search_ids(client, [("lifecyclestage", "EQ", "lead"), ("phone", "HAS_PROPERTY")]) == []


@pytest.mark.parametrize("flt, expected", [
    (("email", "IN", ["b@example.com", "c@example.com"]), ["b"]),
    (("email", "NEQ", "a@example.com"), ["b", "phone-only"]),
    (("email", "NOT_HAS_PROPERTY"), ["phone-only"]),
    (("mobilephone", "HAS_PROPERTY"), ["phone-only"]),
    (("email", "CONTAINS_TOKEN", "*@example.com"), ["a", "b"]),
    (("hs_searchable_calculated_mobile_number", "EQ", "2075550123"), ["phone-only"]),
])
def test_search_operators(client, server, flt, expected):
    """IN, NEQ, HAS_PROPERTY, NOT_HAS_PROPERTY and CONTAINS_TOKEN select the right contacts."""
    names = {server.add_contact({"email": "a@example.com"}): "a",
             server.add_contact({"email": "b@example.com"}): "b",
             server.add_contact({"mobilephone": "+1-207-555-0123"}): "phone-only"}
    assert sorted(names[i] for i in search_ids(client, [flt])) == expected


def test_search_is_eventually_consistent(client, server, clock):
    """New and updated contacts reach search only after search_lag_s; until then search is stale."""
    server.search_lag_s = 2.0
    created = client.crm.contacts.basic_api.create(
        simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
            properties={"email": "late@example.com", "firstname": "Old"}))
    query = [("email", "EQ", "late@example.com")]
    assert search_ids(client, query) == []
    clock.advance(2.0)
    assert search_ids(client, query) == [created.id]
    client.crm.contacts.basic_api.update(created.id, simple_public_object_input=SimplePublicObjectInput(
        properties={"firstname": "New"}))
    clock.advance(1.0)
    stale = client.crm.contacts.search_api.do_search(
        public_object_search_request=search_request(query, properties=["firstname"]))
    assert stale.results[0].properties["firstname"] == "Old"
    assert server.contacts[created.id]["firstname"] == "New"
    clock.advance(1.0)
    assert search_ids(client, [("firstname", "EQ", "new")]) == [created.id]


def test_search_pages_with_after(client, server):
    """``limit`` and ``after`` page through results; ``paging.next.after`` points at the next page."""
    ids = [server.add_contact({"email": f"p{i}@example.com"}) for i in range(3)]
    first = client.crm.contacts.search_api.do_search(public_object_search_request=search_request(
        [("email", "HAS_PROPERTY")], limit=2))
    second = client.crm.contacts.search_api.do_search(public_object_search_request=search_request(
        [("email", "HAS_PROPERTY")], limit=2, after=first.paging.next.after))
    assert [r.id for r in first.results + second.results] == ids
    assert first.total == 3 and second.paging is None


def test_search_over_five_a_second_is_429_without_rate_headers(client, server, clock):
    """The sixth search in a second is a 429; search responses carry no rate-limit headers."""
    for _ in range(5):
        info = client.crm.contacts.search_api.do_search_with_http_info(
            public_object_search_request=search_request())
        assert "X-HubSpot-RateLimit-Max" not in info[2]
    with pytest.raises(ContactsApiException) as caught:
        client.crm.contacts.search_api.do_search(public_object_search_request=search_request())
    assert caught.value.status == 429
    assert json.loads(caught.value.body)["errorType"] == "RATE_LIMIT"
    assert "X-HubSpot-RateLimit-Remaining" not in caught.value.headers
    clock.advance(1.0)
    assert client.crm.contacts.search_api.do_search(
        public_object_search_request=search_request()).total == 0


def test_search_rejects_filters_on_undefined_properties(client):
    """A filter on a property that does not exist is a 400."""
    with pytest.raises(ContactsApiException) as caught:
        search_ids(client, [("no_such_property", "EQ", "x")])
    assert caught.value.status == 400


# ----------------------------------------------------------------------------- contacts


def test_batch_update_of_existing_contacts_is_200(client, server):
    """A batch where every id exists answers 200 COMPLETE and updates every contact."""
    first, second = server.add_contact({"email": "1@example.com"}), server.add_contact({})
    result, status, _ = client.crm.contacts.batch_api.update_with_http_info(
        batch_input_simple_public_object_batch_input=batch((first, {"firstname": "One"}),
                                                           (second, {"firstname": "Two"})))
    assert status == 200 and result.status == "COMPLETE"
    assert sorted(r.id for r in result.results) == sorted([first, second])
    assert [server.contacts[i]["firstname"] for i in (first, second)] == ["One", "Two"]


def test_batch_update_with_a_missing_id_is_207(client, server):
    """A batch naming a missing id answers 207: results for the rest, OBJECT_NOT_FOUND for it."""
    known = server.add_contact({"email": "k@example.com"})
    result, status, _ = client.crm.contacts.batch_api.update_with_http_info(
        batch_input_simple_public_object_batch_input=batch((known, {"firstname": "Kay"}),
                                                           ("424242", {"firstname": "Nobody"})))
    assert status == 207
    assert [r.id for r in result.results] == [known]
    assert result.num_errors == 1
    assert result.errors[0].category == "OBJECT_NOT_FOUND"
    assert result.errors[0].context == {"ids": ["424242"]}
    assert server.contacts[known]["firstname"] == "Kay"


def test_batch_update_over_100_inputs_is_400(client, server):
    """More than 100 inputs is refused whole."""
    known = server.add_contact({})
    with pytest.raises(ContactsApiException) as caught:
        client.crm.contacts.batch_api.update(batch_input_simple_public_object_batch_input=batch(
            *[(known, {"firstname": str(i)}) for i in range(101)]))
    assert caught.value.status == 400
    assert "firstname" not in server.contacts[known]


def test_unknown_property_is_400_property_doesnt_exist(client, server):
    """Writing an undefined property is a 400 VALIDATION_ERROR naming it, and nothing changes."""
    known = server.add_contact({"firstname": "Ann"})
    with pytest.raises(ContactsApiException) as caught:
        client.crm.contacts.basic_api.update(known, simple_public_object_input=SimplePublicObjectInput(
            properties={"firstname": "Bea", "undertone_score": "0.4"}))
    body = json.loads(caught.value.body)
    assert caught.value.status == 400 and body["category"] == "VALIDATION_ERROR"
    assert body["errors"] == [{"message": 'Property "undertone_score" does not exist',
                               "code": "PROPERTY_DOESNT_EXIST",
                               "context": {"propertyName": ["undertone_score"]}}]
    assert body["message"].startswith("Property values were not valid: ")
    assert server.contacts[known]["firstname"] == "Ann"


def test_missing_contact_is_404_object_not_found(client):
    """Reading an id that does not exist is a 404 OBJECT_NOT_FOUND."""
    with pytest.raises(ContactsApiException) as caught:
        client.crm.contacts.basic_api.get_by_id("999999")
    assert caught.value.status == 404
    assert json.loads(caught.value.body)["category"] == "OBJECT_NOT_FOUND"


def test_creating_a_contact_with_a_taken_email_is_409(client, server):
    """Email is unique: a second contact with it is a 409 CONFLICT naming the first."""
    existing = server.add_contact({"email": "dup@example.com"})
    with pytest.raises(ContactsApiException) as caught:
        client.crm.contacts.basic_api.create(simple_public_object_input_for_create=(
            SimplePublicObjectInputForCreate(properties={"email": "DUP@example.com"})))
    body = json.loads(caught.value.body)
    assert caught.value.status == 409 and body["category"] == "CONFLICT"
    assert body["message"] == f"Contact already exists. Existing ID: {existing}"


# ----------------------------------------------------------------------------- properties


def test_property_creation_409_on_repeat_then_usable(client, server):
    """A group and a property are created (201); repeating either is a 409; the property is usable."""
    client.crm.properties.groups_api.create("contacts", PropertyGroupCreate(name="undertone",
                                                                            label="Undertone"))
    spec = PropertyCreate(name="undertone_score", label="Sentiment score", type="number",
                          field_type="number", group_name="undertone")
    created = client.crm.properties.core_api.create("contacts", spec)
    assert created.name == "undertone_score" and created.group_name == "undertone"
    with pytest.raises(PropertiesApiException) as caught:
        client.crm.properties.core_api.create("contacts", spec)
    assert caught.value.status == 409
    with pytest.raises(PropertiesApiException) as again:
        client.crm.properties.groups_api.create("contacts", PropertyGroupCreate(name="undertone",
                                                                                label="Undertone"))
    assert again.value.status == 409
    known = server.add_contact({})
    client.crm.contacts.basic_api.update(known, simple_public_object_input=SimplePublicObjectInput(
        properties={"undertone_score": "-0.25"}))
    assert server.contacts[known]["undertone_score"] == "-0.25"
    assert client.crm.properties.core_api.get_by_name("contacts", "undertone_score").type == "number"


def test_enumeration_rejects_values_outside_its_options(client, server):
    """An enumeration value that is not one of the options is a 400 INVALID_OPTION."""
    server.define_property("undertone_mood", "enumeration", "select", options=["positive", "negative"])
    known = server.add_contact({})
    with pytest.raises(ContactsApiException) as caught:
        client.crm.contacts.basic_api.update(known, simple_public_object_input=SimplePublicObjectInput(
            properties={"undertone_mood": "furious"}))
    assert json.loads(caught.value.body)["errors"][0]["code"] == "INVALID_OPTION"
    client.crm.contacts.basic_api.update(known, simple_public_object_input=SimplePublicObjectInput(
        properties={"undertone_mood": "negative"}))
    assert server.contacts[known]["undertone_mood"] == "negative"


# ----------------------------------------------------------------------------- tasks and notes


def test_task_with_association_204_is_linked_to_the_contact(client, server):
    """A task created with association type 204 is associated with the contact, both ways."""
    contact = server.add_contact({"email": "t@example.com"})
    task = client.crm.objects.tasks.basic_api.create(
        simple_public_object_input_for_create=task_input(contact, hs_task_priority="HIGH",
                                                         hs_task_type="CALL",
                                                         hs_task_status="NOT_STARTED",
                                                         hubspot_owner_id="501"))
    assert server.associated_ids("tasks", task.id) == [contact]
    assert server.tasks[task.id]["hs_task_priority"] == "HIGH"
    read = client.crm.objects.tasks.basic_api.get_by_id(task.id, properties=["hs_task_subject"],
                                                        associations=["contacts"])
    assert read.properties["hs_task_subject"] == "Call back"
    assert [a.id for a in read.associations["contacts"].results] == [contact]


@pytest.mark.parametrize("properties", [
    {"hs_timestamp": ""},
    {"hs_task_status": "DONE"},
    {"hs_task_priority": "URGENT"},
    {"hs_task_type": "MEETING"},
    {"hubspot_owner_id": "404"},
])
def test_invalid_tasks_are_400(client, server, properties):
    """No hs_timestamp, an unknown status, priority or type, or an unknown owner is a 400."""
    with pytest.raises(hs_tasks.ApiException) as caught:
        client.crm.objects.tasks.basic_api.create(
            simple_public_object_input_for_create=task_input(**properties))
    assert caught.value.status == 400
    assert server.tasks == {}


def test_task_association_to_a_missing_contact_is_400(client, server):
    """An association to a contact that does not exist is refused."""
    with pytest.raises(hs_tasks.ApiException) as caught:
        client.crm.objects.tasks.basic_api.create(simple_public_object_input_for_create=task_input("77"))
    assert caught.value.status == 400 and server.tasks == {}


def test_batch_create_tasks_and_search_them_by_contact(client, server):
    """Batch create answers 201 with every task; tasks search finds them by associated contact."""
    contact = server.add_contact({})
    inputs = [hs_tasks.SimplePublicObjectBatchInputForCreate(
        properties=task_input(contact).properties, associations=task_input(contact).associations)
        for _ in range(2)]
    result, status, _ = client.crm.objects.tasks.batch_api.create_with_http_info(
        batch_input_simple_public_object_batch_input_for_create=(
            hs_tasks.BatchInputSimplePublicObjectBatchInputForCreate(inputs=inputs)))
    assert status == 201 and len(result.results) == 2
    by_contact = {"propertyName": "associations.contact", "operator": "EQ", "value": contact}
    found = client.crm.objects.tasks.search_api.do_search(
        public_object_search_request=hs_tasks.PublicObjectSearchRequest(
            filter_groups=[{"filters": [by_contact]}]))
    assert sorted(r.id for r in found.results) == sorted(r.id for r in result.results)


def test_note_with_association_202_is_linked_to_the_contact(client, server):
    """A note created with association type 202 is associated with the contact."""
    contact = server.add_contact({})
    note = client.crm.objects.notes.basic_api.create(
        simple_public_object_input_for_create=note_input(contact))
    assert server.notes[note.id]["hs_note_body"] == "Customer sounded upset"
    assert server.associated_ids("notes", note.id) == [contact]


@pytest.mark.parametrize("kwargs", [{"type_id": 204}, {"body": "x" * 65_537}])
def test_invalid_notes_are_400(client, server, kwargs):
    """A note using the task association type, or a body over 65,536 characters, is a 400."""
    contact = server.add_contact({})
    with pytest.raises(hs_notes.ApiException) as caught:
        client.crm.objects.notes.basic_api.create(
            simple_public_object_input_for_create=note_input(contact, **kwargs))
    assert caught.value.status == 400 and server.notes == {}


# ----------------------------------------------------------------------------- rate limits


def test_rate_limit_headers_are_present_and_decrease(clock):
    """Each response says the window's max, interval and a falling remaining count."""
    with HubSpotTestServer(limit_per_window=3, window_s=1.0, clock=clock) as server:
        client = HubSpot(access_token="test-token", host=server.base_url)
        remaining = []
        for _ in range(3):
            _, _, headers = client.crm.owners.owners_api.get_page_with_http_info()
            assert headers["X-HubSpot-RateLimit-Max"] == "3"
            assert headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "1000"
            remaining.append(int(headers["X-HubSpot-RateLimit-Remaining"]))
        assert remaining == [2, 1, 0]


def test_over_the_window_is_429_ten_secondly_rolling():
    """Past the limit the answer is 429 TEN_SECONDLY_ROLLING until the real-time window rolls on."""
    with HubSpotTestServer(limit_per_window=2, window_s=0.3) as server:
        contacts = HubSpot(access_token="test-token", host=server.base_url).crm.contacts.basic_api
        known = server.add_contact({"email": "r@example.com"})
        contacts.get_by_id(known)
        contacts.get_by_id(known)
        with pytest.raises(ContactsApiException) as caught:
            contacts.get_by_id(known)
        body = json.loads(caught.value.body)
        assert caught.value.status == 429
        assert body["message"] == "You have reached your ten_secondly_rolling limit."
        assert (body["status"], body["errorType"], body["policyName"]) == (
            "error", "RATE_LIMIT", "TEN_SECONDLY_ROLLING")
        assert body["groupName"] and uuid.UUID(body["correlationId"])
        assert caught.value.headers["X-HubSpot-RateLimit-Remaining"] == "0"
        time.sleep(0.35)
        assert contacts.get_by_id(known).id == known


def test_daily_limit_is_429_daily_and_counts_search(clock):
    """With a daily limit, its headers appear (on search too) and exhausting it gives policy DAILY."""
    with HubSpotTestServer(daily_limit=2, clock=clock) as server:
        client = HubSpot(access_token="test-token", host=server.base_url)
        _, _, headers = client.crm.contacts.search_api.do_search_with_http_info(
            public_object_search_request=search_request())
        assert headers["X-HubSpot-RateLimit-Daily-Remaining"] == "1"
        client.crm.owners.owners_api.get_page()
        with pytest.raises(Exception) as caught:
            client.crm.owners.owners_api.get_page()
        assert caught.value.status == 429
        assert json.loads(caught.value.body)["policyName"] == "DAILY"


# ----------------------------------------------------------------------------- test hooks


def test_fail_next_forces_errors_then_recovers(client, server):
    """fail_next answers the next matching requests as told, headers included, then lets them through."""
    server.fail_next("/crm/v3/objects/contacts/search", 502, count=2)
    server.fail_next("/crm/v3/objects/contacts/search", 429, headers={"Retry-After": "3"})
    for _ in range(2):
        with pytest.raises(ContactsApiException) as caught:
            client.crm.contacts.search_api.do_search(public_object_search_request=search_request())
        assert caught.value.status == 502
    with pytest.raises(ContactsApiException) as throttled:
        client.crm.contacts.search_api.do_search(public_object_search_request=search_request())
    assert throttled.value.status == 429 and throttled.value.headers["Retry-After"] == "3"
    assert json.loads(throttled.value.body)["policyName"] == "TEN_SECONDLY_ROLLING"
    recovered = client.crm.contacts.search_api.do_search(public_object_search_request=search_request())
    assert recovered.total == 0
    assert [r.status for r in server.requests] == [502, 502, 429, 200]


def test_fail_for_answers_every_matching_request_until_its_time_is_up(client, server, clock):
    """fail_for is a storm on the server's clock: every matching request fails until it ends."""
    server.fail_for("/crm/v3/objects/contacts/search", 500, seconds=30)
    for _ in range(3):
        with pytest.raises(ContactsApiException) as caught:
            client.crm.contacts.search_api.do_search(public_object_search_request=search_request())
        assert caught.value.status == 500
        clock.advance(9)
    clock.advance(3.5)
    assert client.crm.contacts.search_api.do_search(public_object_search_request=search_request()).total == 0
    assert [r.status for r in server.requests] == [500, 500, 500, 200]


def test_fail_for_daily_body_and_clear_failures(client, server):
    """A DAILY storm carries the daily policy's body; clear_failures ends it at once."""
    server.fail_for("/crm/v3/", 429, seconds=3600, body=server.daily_limit_body())
    with pytest.raises(ContactsApiException) as caught:
        client.crm.contacts.search_api.do_search(public_object_search_request=search_request())
    assert caught.value.status == 429 and json.loads(caught.value.body)["policyName"] == "DAILY"
    server.clear_failures()
    assert client.crm.contacts.search_api.do_search(public_object_search_request=search_request()).total == 0


def test_stopped_server_refuses_connections_and_restarts_on_the_same_port():
    """stop() then start() is an outage: connections are refused, then the same URL answers again."""
    with HubSpotTestServer() as server:
        url = server.base_url
        server.stop()
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{url}/crm/v3/owners/", timeout=2)
        server.start()
        assert server.base_url == url
        answer = requests.get(f"{url}/crm/v3/owners/", headers={"Authorization": "Bearer test-token"}, timeout=5)
        assert answer.status_code == 200


def test_client_silently_retries_a_get_answered_429_with_retry_after(client, server):
    """urllib3's default Retry repeats a GET (not a POST) that got 429 with Retry-After."""
    server.fail_next("/crm/v3/owners", 429, headers={"Retry-After": "0"})
    assert client.crm.owners.owners_api.get_page().results
    assert [r.status for r in server.requests] == [429, 200]


def test_requests_records_exactly_the_calls_received(client, server):
    """Every request is recorded with method, path, query, JSON body and the status answered."""
    contact = server.add_contact({})
    client.crm.contacts.basic_api.update(contact, simple_public_object_input=SimplePublicObjectInput(
        properties={"firstname": "Rae"}))
    client.crm.contacts.basic_api.get_by_id(contact, properties=["firstname"])
    calls = [(r.method, r.path, r.status) for r in server.requests]
    assert calls == [("PATCH", f"/crm/v3/objects/contacts/{contact}", 200),
                     ("GET", f"/crm/v3/objects/contacts/{contact}", 200)]
    assert server.requests[0].json == {"properties": {"firstname": "Rae"}}
    assert server.requests[1].query["properties"] == ["firstname"]


# ----------------------------------------------------------------------------- conversations (read only)


def conversations_get(server, path: str, token: str = "test-token") -> requests.Response:
    """GET a Conversations API path with a bearer token (hubspot-api-client has no conversations API)."""
    return requests.get(f"{server.base_url}/conversations/v3/conversations/threads/{path}",
                        headers={"Authorization": f"Bearer {token}"}, timeout=5)


def test_seeded_conversation_thread_and_message_are_answered_as_seeded(server):
    """A seeded thread and its message come back as seeded; the message names its thread."""
    thread_id = server.add_conversation_thread({"id": 7480127731, "associatedContactId": "1001",
                                                "createdAt": "2026-03-31T23:28:58.120Z", "status": "OPEN"})
    message_id = server.add_conversation_message(thread_id, {
        "type": "MESSAGE", "id": "9b38dc6d", "text": "Where is my refund?", "direction": "INCOMING",
        "senders": [{"actorId": "V-1", "deliveryIdentifier": {"type": "HS_EMAIL_ADDRESS",
                                                              "value": "maria@example.com"}}]})
    assert (thread_id, message_id) == ("7480127731", "9b38dc6d")
    thread = conversations_get(server, thread_id)
    assert thread.status_code == 200 and thread.headers["Content-Type"].startswith("application/json")
    assert thread.json() == {"id": "7480127731", "associatedContactId": "1001",
                             "createdAt": "2026-03-31T23:28:58.120Z", "status": "OPEN"}
    message = conversations_get(server, f"{thread_id}/messages/{message_id}").json()
    assert message["conversationsThreadId"] == thread_id and message["text"] == "Where is my refund?"
    assert message["senders"][0]["deliveryIdentifier"]["value"] == "maria@example.com"
    assert [(r.method, r.path, r.status) for r in server.requests] == [
        ("GET", "/conversations/v3/conversations/threads/7480127731", 200),
        ("GET", "/conversations/v3/conversations/threads/7480127731/messages/9b38dc6d", 200)]


def test_unknown_threads_and_messages_are_404_with_hubspot_body(server):
    """A missing thread, a missing message and a message asked for under another thread are 404s."""
    server.add_conversation_thread({"id": "1"})
    server.add_conversation_thread({"id": "2"})
    server.add_conversation_message("1", {"id": "m1", "text": "hi"})
    for path in ("404404", "404404/messages/m1", "1/messages/nope", "2/messages/m1"):
        answer = conversations_get(server, path)
        assert answer.status_code == 404, path
        body = answer.json()
        assert body["status"] == "error" and body["category"] == "OBJECT_NOT_FOUND", body
        assert body["correlationId"] == answer.headers["X-HubSpot-Correlation-Id"]
    assert conversations_get(server, "1/messages/m1").status_code == 200
    with pytest.raises(KeyError):
        server.add_conversation_message("3", {"id": "m2"})


def test_conversations_need_the_bearer_token_and_seeds_are_copies(server):
    """A wrong token is a 401; changing a seeded dict afterwards does not change the answer."""
    thread = {"id": "5", "status": "OPEN"}
    server.add_conversation_thread(thread)
    thread["status"] = "CLOSED"
    denied = conversations_get(server, "5", token="wrong")
    assert denied.status_code == 401 and denied.json()["category"] == "INVALID_AUTHENTICATION"
    assert conversations_get(server, "5").json()["status"] == "OPEN"


def test_batch_read_returns_named_properties_and_207_for_missing(client, server):
    from hubspot.crm.contacts import (
        BatchReadInputSimplePublicObjectId,
        SimplePublicObjectId,
    )

    owned = server.add_contact({"email": "a@example.com", "hubspot_owner_id": "501"})
    body = BatchReadInputSimplePublicObjectId(properties=["hubspot_owner_id"], properties_with_history=[],
                                              inputs=[SimplePublicObjectId(id=owned), SimplePublicObjectId(id="999")])
    data, status, _ = client.crm.contacts.batch_api.read_with_http_info(body)
    assert status == 207
    assert [(r.id, r.properties["hubspot_owner_id"]) for r in data.results] == [(owned, "501")]
    assert data.errors[0].category == "OBJECT_NOT_FOUND" and data.errors[0].context == {"ids": ["999"]}
