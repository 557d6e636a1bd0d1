"""A local HubSpot CRM v3 API server for tests, honouring HubSpot's wire contract.

Start it, point the real client at it, and inspect what it received::

    with HubSpotTestServer() as server:
        client = HubSpot(access_token="test-token", host=server.base_url)  # no trailing slash
        ...
        assert [r.path for r in server.requests] == [...]

What is modelled (sources: developers.hubspot.com docs, captured responses in public
fixtures; "UNCONFIRMED" marks what no source confirmed):

- Bearer auth; 401 ``category: INVALID_AUTHENTICATION``.
- Contacts, tasks and notes: create, read, update, batch update/create, search.
- Search: filterGroups OR'd, filters AND'd; at most 5 groups, 6 filters a group, 18 in all;
  ``limit`` up to 200; ``after`` past 10,000 is a 400. Eventually consistent: a write becomes
  searchable ``search_lag_s`` after it happened, and until then search returns the old values.
  ``search_per_second`` requests a second, then 429 ``policyName: SECONDLY``. Search does not count
  against, and sends no headers of, the ten-second limit (docs: "This excludes the CRM Search
  API"); it does count against the daily limit and carries its headers (seen in a 2022 capture).
- Rate limit: a rolling window of ``limit_per_window`` requests per ``window_s`` with the
  ``X-HubSpot-RateLimit-*`` headers, 429 ``policyName: TEN_SECONDLY_ROLLING``; optional daily limit.
- Property definitions: writing an undefined property is a 400 ``PROPERTY_DOESNT_EXIST`` (body as in
  HubSpot's docs), an enumeration value outside its options a 400 ``INVALID_OPTION``.
- Conversations API (legacy v3 paths, read only): ``GET /conversations/v3/conversations/threads/
  {threadId}`` and ``.../threads/{threadId}/messages/{messageId}`` answer what the test seeded with
  ``add_conversation_thread`` / ``add_conversation_message``, as is; anything else is a 404
  ``OBJECT_NOT_FOUND`` (category as for CRM objects; the messages are UNCONFIRMED).
- ``fail_next`` forces the next responses of a path, to test retry logic; ``fail_for`` forces every
  answer of a path for a while (a storm or an outage, on the server's clock); ``stop`` then ``start``
  listens on the same port again, so a stopped server is an outage that refuses connections.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

JSON_TYPE = "application/json;charset=utf-8"  # what api.hubapi.com sends
OBJECT_TYPES = ("contacts", "tasks", "notes")
MAX_BATCH_INPUTS = 100
SEARCH_MAX_LIMIT = 200
SEARCH_MAX_RESULTS = 10_000
SEARCH_MAX_GROUPS, SEARCH_MAX_FILTERS_PER_GROUP, SEARCH_MAX_FILTERS = 5, 6, 18
NOTE_BODY_MAX = 65_536
OPERATORS = {"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY",
             "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}
# HUBSPOT_DEFINED association type ids this server accepts: (from type, type id) -> (to type, label).
ASSOCIATION_TYPES = {("tasks", 204): ("contacts", "task_to_contact"),
                     ("notes", 202): ("contacts", "note_to_contact")}
# Timestamps HubSpot computes for every record, per object type: (created, modified).
TIMESTAMP_PROPERTIES = {"contacts": ("createdate", "lastmodifieddate"),
                        "tasks": ("hs_createdate", "hs_lastmodifieddate"),
                        "notes": ("hs_createdate", "hs_lastmodifieddate")}
# Properties returned when a read or search names none (engagements: UNCONFIRMED).
DEFAULT_PROPERTIES = {"contacts": ["createdate", "email", "firstname", "hs_object_id",
                                   "lastmodifieddate", "lastname"],
                      "tasks": ["hs_createdate", "hs_lastmodifieddate", "hs_object_id"],
                      "notes": ["hs_createdate", "hs_lastmodifieddate", "hs_object_id"]}
# Country calling codes for the phone model below (a prefix-free subset of ITU E.164).
CALLING_CODES = ("1", "7", "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43",
                 "44", "45", "46", "47", "48", "49", "52", "55", "61", "64", "65", "81", "82",
                 "86", "91", "351", "352", "353", "358", "852", "971", "972")
THREADS_PATH = "/conversations/v3/conversations/threads"
DEFAULT_OWNERS = ({"id": "501", "email": "owner@example.com", "firstName": "Olive",
                   "lastName": "Owner", "userId": 9001},)


class QuietHandler(WSGIRequestHandler):
    """Request handler that keeps werkzeug's access log out of test output."""

    def log(self, *args, **kwargs) -> None:
        """Log nothing."""


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server answered: query values are lists, json is the parsed body."""

    method: str
    path: str
    query: dict
    json: Any
    status: int
    at: float = 0.0  # wall-clock time it was answered (benchmarks measure delays with it)


class HubSpotError(Exception):
    """An error answer: raised by handlers, turned into a response by the dispatcher."""

    def __init__(self, status: int, message: str, category: str | None = "VALIDATION_ERROR", **extra):
        super().__init__(message)
        self.status = status
        self.body = {"status": "error", "message": message, **extra}
        if category:
            self.body["category"] = category


# ----------------------------------------------------------------------------- helpers


def iso(epoch_s: float) -> str:
    """Format a time like HubSpot: ``2025-11-04T03:44:52.657Z``."""
    moment = datetime.fromtimestamp(epoch_s, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time_ms(value: str) -> float | None:
    """Read epoch milliseconds or ISO 8601 (date or datetime); None when it is neither."""
    if re.fullmatch(r"-?\d+", value):
        return float(value)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp() * 1000


def phone_digits(raw: str | None) -> tuple[str, str] | None:
    """Split a phone number into (calling code, national digits).

    UNCONFIRMED model of how HubSpot fills ``hs_searchable_calculated_phone_number``/``_mobile_number``
    ("without country code"): non-digits dropped; a leading ``+`` or ``00`` names the country code;
    without one, an 11-digit number starting with 1 is NANP and anything else is taken as national.
    """
    if not raw or not raw.strip():
        return None
    text = raw.strip()
    digits = re.sub(r"\D", "", text)
    international = text.startswith("+") or text.startswith("00")
    if text.startswith("00"):
        digits = digits[2:]
    if international:
        code = next((c for c in CALLING_CODES if digits.startswith(c)), None)
        if code:
            return code, digits[len(code):]
        return "", digits
    if len(digits) == 11 and digits.startswith("1"):
        return "1", digits[1:]
    return "1", digits


def calculated_phone_properties(props: dict) -> dict:
    """The searchable phone properties HubSpot derives from ``phone`` and ``mobilephone``."""
    out = {}
    for source, stem in (("phone", "phone"), ("mobilephone", "mobile")):
        parts = phone_digits(props.get(source))
        out[f"hs_searchable_calculated_{stem}_number"] = parts[1] if parts else None
        out[f"hs_searchable_calculated_international_{stem}_number"] = (
            f"+{parts[0]}{parts[1]}" if parts and parts[0] else None)
    return out


def apply_changes(properties: dict, changes: dict) -> None:
    """Set properties in place; None or "" clears one, as HubSpot does for an empty string."""
    for name, value in changes.items():
        if value in (None, ""):
            properties.pop(name, None)
        else:
            properties[name] = value


def typed(value: Any, prop_type: str) -> Any:
    """A comparable form of a stored or filter value for a property of ``prop_type``."""
    text = str(value).strip()
    if prop_type == "number":
        try:
            return float(text)
        except ValueError:
            return None
    if prop_type in ("date", "datetime"):
        return parse_time_ms(text)
    return text.lower()


def tokens(value: str) -> list[str]:
    """Words of a value as CONTAINS_TOKEN sees them (UNCONFIRMED: split on spaces and punctuation)."""
    lowered = value.lower()
    return [lowered] + [t for t in re.split(r"[\s@.,;:_\-+()/]+", lowered) if t]


def error_detail(name: str, code: str, message: str) -> dict:
    """One entry of a VALIDATION_ERROR's ``errors`` list."""
    return {"message": message, "code": code, "context": {"propertyName": [name]}}


def validation_error(details: list[dict]) -> HubSpotError:
    """The 400 HubSpot answers for invalid property values (shape from HubSpot's object API docs)."""
    legacy = [{"isValid": False, "message": d["message"], "error": d["code"],
               "name": d["context"]["propertyName"][0], "localizedErrorMessage": d["message"]}
              for d in details]
    text = "Property values were not valid: " + json.dumps(legacy, separators=(",", ":"))
    return HubSpotError(400, text, errors=details)


def definition(name: str, label: str, prop_type: str = "string", field_type: str = "text", *,
               group: str = "contactinformation", options: list | None = None,
               read_only: bool = False, hubspot_defined: bool = True, external: bool = False) -> dict:
    """A property definition in the shape ``GET /crm/v3/properties/{objectType}`` returns."""
    stamp = iso(time.time())
    return {"name": name, "label": label, "type": prop_type, "fieldType": field_type,
            "groupName": group, "description": "", "displayOrder": -1, "hidden": False,
            "formField": not read_only, "hubspotDefined": hubspot_defined, "calculated": read_only,
            "externalOptions": external, "hasUniqueValue": name == "email", "archived": False,
            "createdAt": stamp, "updatedAt": stamp,
            "options": [{"label": o, "value": o, "displayOrder": i, "hidden": False}
                        for i, o in enumerate(options or [])],
            "modificationMetadata": {"archivable": not hubspot_defined, "readOnlyValue": read_only,
                                     "readOnlyDefinition": hubspot_defined}}


def default_definitions() -> dict[str, dict[str, dict]]:
    """HubSpot's default properties that this project reads or writes, per object type."""
    enum = "enumeration"
    contacts = [
        definition("email", "Email"), definition("firstname", "First Name"),
        definition("lastname", "Last Name"), definition("company", "Company Name"),
        definition("jobtitle", "Job Title"),
        definition("phone", "Phone Number", field_type="phonenumber"),
        definition("mobilephone", "Mobile Phone Number", field_type="phonenumber"),
        definition("hubspot_owner_id", "Contact owner", enum, "select", external=True),
        definition("lifecyclestage", "Lifecycle Stage", enum, "radio", options=[
            "subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity",
            "customer", "evangelist", "other"]),
        definition("hs_lead_status", "Lead Status", enum, "radio", options=[
            "NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED", "ATTEMPTED_TO_CONTACT",
            "CONNECTED", "BAD_TIMING"]),
    ] + [definition(f"hs_searchable_calculated{kind}_{stem}_number", f"Calculated {stem} number",
                    "phone_number", "phonenumber", read_only=True)
         for kind in ("", "_international") for stem in ("phone", "mobile")]
    tasks = [
        definition("hs_task_subject", "Task Title", group="task"),
        definition("hs_task_body", "Notes", field_type="textarea", group="task"),
        definition("hs_task_status", "Task Status", enum, "select", group="task", options=[
            "NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"]),
        definition("hs_task_priority", "Priority", enum, "select", group="task",
                   options=["LOW", "MEDIUM", "HIGH"]),
        definition("hs_task_type", "Task Type", enum, "select", group="task",
                   options=["CALL", "EMAIL", "TODO"]),
        definition("hs_timestamp", "Due date", "datetime", "date", group="task"),
        definition("hubspot_owner_id", "Assigned to", enum, "select", group="task", external=True),
    ]
    notes = [
        definition("hs_note_body", "Note body", field_type="html", group="note"),
        definition("hs_timestamp", "Activity date", "datetime", "date", group="note"),
        definition("hs_attachment_ids", "Attachment IDs", field_type="text", group="note"),
        definition("hubspot_owner_id", "Activity assigned to", enum, "select", group="note",
                   external=True),
    ]
    result = {}
    for object_type, props in (("contacts", contacts), ("tasks", tasks), ("notes", notes)):
        created, modified = TIMESTAMP_PROPERTIES[object_type]
        props += [definition("hs_object_id", "Record ID", "number", "number", read_only=True),
                  definition(created, "Create Date", "datetime", "date", read_only=True),
                  definition(modified, "Last Modified Date", "datetime", "date", read_only=True)]
        result[object_type] = {p["name"]: p for p in props}
    return result


class RollingWindow:
    """Counts events in the last ``span_s`` seconds of an injectable clock."""

    def __init__(self, limit: int | None, span_s: float, clock: Callable[[], float]):
        self.limit, self.span_s, self.clock = limit, span_s, clock
        self.events: deque[float] = deque()

    def used(self) -> int:
        """Events still inside the window."""
        cutoff = self.clock() - self.span_s
        while self.events and self.events[0] <= cutoff:
            self.events.popleft()
        return len(self.events)

    def full(self) -> bool:
        """Whether one more event would exceed the limit."""
        return self.limit is not None and self.used() >= self.limit

    def add(self) -> None:
        """Count one event now."""
        self.events.append(self.clock())

    def remaining(self) -> int:
        """How many more events fit."""
        return max(0, (self.limit or 0) - self.used())


@dataclass
class Record:
    """A stored CRM object; ``versions`` is what search sees: (visible from, property snapshot)."""

    id: str
    properties: dict
    created: float
    updated: float
    versions: list


@dataclass
class Forced:
    """A response ``fail_next`` forces onto matching requests."""

    prefix: str
    method: str | None
    status: int
    count: int
    headers: dict
    body: Any
    until: float | None = None  # on the server's clock; None: only the count limits it


# ----------------------------------------------------------------------------- the server


class HubSpotTestServer:
    """A HubSpot CRM v3 look-alike on 127.0.0.1 in a background thread; state lives on the instance.

    ``limit_per_window``/``window_s``: the rolling ten-second limit (None: no limit, no headers).
    ``daily_limit``: None sends no daily headers. ``search_per_second``: None disables it.
    ``search_lag_s``: a public attribute too; a change applies to writes made after it.
    ``owners``: dicts with id, email, firstName, lastName, userId; ``hubspot_owner_id`` must be one.
    ``clock``: the monotonic clock for limits and search lag (inject a fake one to avoid sleeping).
    """

    def __init__(self, access_token: str = "test-token", *, limit_per_window: int | None = 100,
                 window_s: float = 10.0, daily_limit: int | None = None,
                 search_per_second: int | None = 5, search_lag_s: float = 0.0,
                 owners: list[dict] | None = None, portal_id: int = 12345678,
                 clock: Callable[[], float] = time.monotonic, scopes: list[str] | None = None,
                 port: int = 0):
        self.access_token = access_token
        self.scopes = list(scopes) if scopes is not None else [
            "crm.objects.contacts.read", "crm.objects.contacts.write", "crm.schemas.contacts.write",
            "crm.objects.owners.read", "conversations.read"]
        self.search_lag_s = search_lag_s
        self.portal_id = portal_id
        self._clock = clock
        self._lock = threading.RLock()
        self._window = RollingWindow(limit_per_window, window_s, clock)
        self._search_window = RollingWindow(search_per_second, 1.0, clock)
        self._daily = RollingWindow(daily_limit, float("inf"), clock)
        self._owners = [dict(o) for o in (owners if owners is not None else DEFAULT_OWNERS)]
        self._records: dict[str, dict[str, Record]] = {t: {} for t in OBJECT_TYPES}
        self._definitions = default_definitions()
        self._groups = {t: {} for t in OBJECT_TYPES}
        for object_type, group, label in (("contacts", "contactinformation", "Contact information"),
                                          ("tasks", "task", "Task information"),
                                          ("notes", "note", "Note information")):
            self._groups[object_type][group] = {"name": group, "label": label, "displayOrder": -1,
                                                "archived": False}
        self._associations: list[dict] = []
        self._threads: dict[str, dict] = {}  # Conversations: thread id -> thread
        self._messages: dict[tuple[str, str], dict] = {}  # (thread id, message id) -> message
        self._requests: list[RecordedRequest] = []
        self._forced: list[Forced] = []
        self._next_id = 1001
        self._server = None
        self._port = port  # 0: the OS chooses at the first start; later starts reuse it
        self._thread: threading.Thread | None = None
        self._routes = Map([
            Rule("/crm/v3/objects/<object_type>/search", methods=["POST"], endpoint="search"),
            Rule("/crm/v3/objects/<object_type>/batch/update", methods=["POST"],
                 endpoint="batch_update"),
            Rule("/crm/v3/objects/<object_type>/batch/create", methods=["POST"],
                 endpoint="batch_create"),
            Rule("/crm/v3/objects/<object_type>/batch/read", methods=["POST"], endpoint="batch_read"),
            Rule("/crm/v3/objects/<object_type>", methods=["POST"], endpoint="create"),
            Rule("/crm/v3/objects/<object_type>/<object_id>", methods=["GET"], endpoint="read"),
            Rule("/crm/v3/objects/<object_type>/<object_id>", methods=["PATCH"], endpoint="update"),
            Rule("/crm/v3/properties/<object_type>/groups", methods=["GET"], endpoint="list_groups"),
            Rule("/crm/v3/properties/<object_type>/groups", methods=["POST"], endpoint="create_group"),
            Rule("/crm/v3/properties/<object_type>", methods=["GET"], endpoint="list_properties"),
            Rule("/crm/v3/properties/<object_type>", methods=["POST"], endpoint="create_property"),
            Rule("/crm/v3/properties/<object_type>/<name>", methods=["GET"], endpoint="read_property"),
            Rule("/crm/v3/properties/<object_type>/<name>", methods=["PATCH"],
                 endpoint="update_property"),
            Rule("/crm/v3/owners/", methods=["GET"], endpoint="owners", strict_slashes=False),
            Rule("/oauth/v2/private-apps/get/access-token-info", methods=["POST"], endpoint="token_info"),
            Rule(f"{THREADS_PATH}/<thread_id>", methods=["GET"], endpoint="read_thread"),
            Rule(f"{THREADS_PATH}/<thread_id>/messages/<message_id>", methods=["GET"],
                 endpoint="read_message"),
        ])

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> "HubSpotTestServer":
        """Listen (on an OS-assigned port the first time, the same port again after ``stop``) and serve."""
        self._server = make_server("127.0.0.1", self._port, self._wsgi, threaded=True,
                                   request_handler=QuietHandler)
        self._port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="hubspot-test-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> "HubSpotTestServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``, without a trailing slash (the client appends ``/crm/...``)."""
        return f"http://127.0.0.1:{self._server.server_port}"

    # ------------------------------------------------------------------ test helpers

    @property
    def contacts(self) -> dict[str, dict]:
        """Snapshot: contact id -> current properties."""
        return self._snapshot("contacts")

    @property
    def tasks(self) -> dict[str, dict]:
        """Snapshot: task id -> current properties."""
        return self._snapshot("tasks")

    @property
    def notes(self) -> dict[str, dict]:
        """Snapshot: note id -> current properties."""
        return self._snapshot("notes")

    @property
    def properties(self) -> dict[str, dict]:
        """Snapshot: contact property name -> definition."""
        with self._lock:
            return copy.deepcopy(self._definitions["contacts"])

    @property
    def property_groups(self) -> dict[str, dict]:
        """Snapshot: contact property group name -> group."""
        with self._lock:
            return copy.deepcopy(self._groups["contacts"])

    @property
    def associations(self) -> list[dict]:
        """Every association made: fromObjectType, fromId, toObjectType, toId, associationTypeId."""
        with self._lock:
            return copy.deepcopy(self._associations)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request answered, in order."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        with self._lock:
            self._requests.clear()

    def associated_ids(self, from_type: str, from_id: str, to_type: str = "contacts") -> list[str]:
        """Ids of ``to_type`` records associated with one record."""
        with self._lock:
            return [a["toId"] for a in self._associations if a["fromObjectType"] == from_type
                    and a["fromId"] == str(from_id) and a["toObjectType"] == to_type]

    def add_contact(self, properties: dict, *, indexed: bool = True) -> str:
        """Seed a contact without validation or a request; ``indexed`` makes it searchable at once."""
        with self._lock:
            record = self._insert("contacts", {k: str(v) for k, v in properties.items()})
            if indexed:
                record.versions[-1] = (self._clock(), record.versions[-1][1])
            return record.id

    def merge_contacts(self, primary_id: str, merged_id: str) -> None:
        """Merge like HubSpot's UI does: the merged record disappears (its id answers 404), the
        primary keeps its own values and gains the merged one's where it had none."""
        with self._lock:
            merged = self._records["contacts"].pop(str(merged_id))
            primary = self._records["contacts"][str(primary_id)]
            changes = {k: v for k, v in merged.properties.items() if k not in primary.properties and v}
            self._write("contacts", primary, changes)

    def add_conversation_thread(self, thread: dict) -> str:
        """Seed a Conversations thread: the JSON its GET answers, with at least ``id``."""
        thread_id = str(thread["id"])
        with self._lock:
            self._threads[thread_id] = copy.deepcopy({**thread, "id": thread_id})
        return thread_id

    def add_conversation_message(self, thread_id: str, message: dict) -> str:
        """Seed a message of a seeded thread: the JSON its GET answers, with at least ``id``."""
        thread_id, message_id = str(thread_id), str(message["id"])
        with self._lock:
            if thread_id not in self._threads:
                raise KeyError(f"seed thread {thread_id} with add_conversation_thread first")
            self._messages[(thread_id, message_id)] = copy.deepcopy(
                {**message, "id": message_id, "conversationsThreadId": thread_id})
        return message_id

    def define_property(self, name: str, prop_type: str = "string", field_type: str = "text", *,
                        options: list[str] | None = None, object_type: str = "contacts") -> None:
        """Seed a custom property definition."""
        with self._lock:
            self._definitions[object_type][name] = definition(
                name, name, prop_type, field_type, options=options, hubspot_defined=False,
                group=next(iter(self._groups[object_type])))

    def fail_next(self, path_prefix: str, status: int, count: int = 1, headers: dict | None = None,
                  body: Any = None, method: str | None = None) -> None:
        """Answer the next ``count`` requests whose path starts with ``path_prefix`` with ``status``.

        ``body`` may be a dict (sent as JSON), a str (sent as text/html, like a gateway page) or None
        (a HubSpot-style error body). Forced answers skip rate limiting and carry only ``headers``.
        """
        with self._lock:
            self._forced.append(Forced(path_prefix, method and method.upper(), status, count,
                                       dict(headers or {}), body))

    def fail_for(self, path_prefix: str, status: int, seconds: float, headers: dict | None = None,
                 body: Any = None, method: str | None = None) -> None:
        """Answer every request whose path starts with ``path_prefix`` with ``status`` for ``seconds``
        of the server's clock (a 429/500 storm, a gateway outage); ``body`` as for ``fail_next``."""
        with self._lock:
            self._forced.append(Forced(path_prefix, method and method.upper(), status, 1 << 62,
                                       dict(headers or {}), body, self._clock() + seconds))

    def clear_failures(self) -> None:
        """Drop every pending ``fail_next``/``fail_for``."""
        with self._lock:
            self._forced.clear()

    def daily_limit_body(self) -> dict:
        """The 429 body of the DAILY policy, as ``daily_limit`` answers it (for ``fail_for``)."""
        return {"status": "error", "message": "You have reached your daily limit.",
                "errorType": "RATE_LIMIT", "policyName": "DAILY",
                # groupName for DAILY: UNCONFIRMED, modelled on the ten-secondly one.
                "groupName": f"publicapi:private_app-api-calls-daily:{self.portal_id}"}

    # ------------------------------------------------------------------ dispatch

    def _wsgi(self, environ, start_response):
        """WSGI entry point: one request at a time, under the lock."""
        request = Request(environ)
        with self._lock:
            response, body = self._answer(request)
            self._requests.append(RecordedRequest(request.method, request.path,
                                                  dict(request.args.lists()), body,
                                                  response.status_code, time.time()))
        return response(environ, start_response)

    def _answer(self, request: Request) -> tuple[Response, Any]:
        """Authenticate, apply forced failures and limits, route, and shape the answer."""
        correlation, body = str(uuid.uuid4()), self._json_body_or_none(request)
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            response = self._error(HubSpotError(
                401, "Authentication credentials not found. This API supports OAuth 2.0 "
                "authentication and you can find more details at "
                "https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                "INVALID_AUTHENTICATION"), correlation)
        elif forced := self._take_forced(request):
            response = self._forced_response(forced, correlation)
        else:
            is_search = request.path.endswith("/search")
            try:
                response = self._route(request, self._json_body(request), is_search, correlation)
            except HubSpotError as error:
                response = self._error(error, correlation)
            self._rate_headers(response, is_search)
        response.headers["X-HubSpot-Correlation-Id"] = correlation
        return response, body

    def _route(self, request: Request, body: Any, is_search: bool, correlation: str) -> Response:
        """Find the endpoint, count the request against the limits, and run the handler."""
        try:
            endpoint, args = self._routes.bind("127.0.0.1").match(request.path, method=request.method)
        except (NotFound, MethodNotAllowed) as error:
            if error.code == 404:
                raise HubSpotError(404, "Resource not found", "OBJECT_NOT_FOUND") from error
            raise HubSpotError(405, "Method not allowed") from error
        limited = self._check_limits(is_search)
        if limited:
            return self._json(429, {**limited, "correlationId": correlation})
        status, payload = getattr(self, f"_do_{endpoint}")(request, body, **args)
        return self._json(status, payload)

    def _json_body_or_none(self, request: Request) -> Any:
        """The JSON body for the request log, None when absent or not JSON."""
        try:
            return self._json_body(request)
        except HubSpotError:
            return None

    def _json_body(self, request: Request) -> Any:
        """The parsed JSON body, None when empty; 400 when it is not JSON."""
        raw = request.get_data(as_text=True)
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError as error:
            raise HubSpotError(400, f"Invalid input JSON: {error}") from error

    def _take_forced(self, request: Request) -> Forced | None:
        """The first pending forced answer matching this request, used up by one."""
        for forced in self._forced:
            if (forced.count > 0 and request.path.startswith(forced.prefix)
                    and forced.method in (None, request.method)
                    and (forced.until is None or self._clock() < forced.until)):
                forced.count -= 1
                return forced
        return None

    def _forced_response(self, forced: Forced, correlation: str) -> Response:
        """The response ``fail_next`` asked for."""
        if isinstance(forced.body, (str, bytes)):
            response = Response(forced.body, status=forced.status, content_type="text/html")
        elif forced.body is not None:
            response = self._json(forced.status, forced.body)
        elif forced.status == 429:
            response = self._json(429, {**self._ten_secondly_body(), "correlationId": correlation})
        else:
            response = self._error(HubSpotError(forced.status, f"Forced {forced.status} by the test",
                                                "INTERNAL_ERROR" if forced.status >= 500
                                                else "VALIDATION_ERROR"), correlation)
        response.headers.update(forced.headers)
        return response

    def _check_limits(self, is_search: bool) -> dict | None:
        """Count this request; the 429 body when a limit is used up."""
        if self._daily.full():
            return self.daily_limit_body()
        window = self._search_window if is_search else self._window
        if window.full():
            if is_search:
                # Seen in captures: "You have reached your secondly limit." with errorType RATE_LIMIT;
                # policyName SECONDLY is from older captures (UNCONFIRMED for today's search API).
                return {"status": "error", "message": "You have reached your secondly limit.",
                        "errorType": "RATE_LIMIT", "policyName": "SECONDLY"}
            return self._ten_secondly_body()
        window.add()
        self._daily.add()
        return None

    def _ten_secondly_body(self) -> dict:
        """The burst-limit 429 body as captured from api.hubapi.com (no ``category`` field)."""
        return {"status": "error", "message": "You have reached your ten_secondly_rolling limit.",
                "errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING",
                "groupName": f"publicapi:private_app-api-calls-ten-secondly:1512050:{self.portal_id}"}

    def _rate_headers(self, response: Response, is_search: bool) -> None:
        """Add HubSpot's X-HubSpot-RateLimit-* headers (none of the ten-second ones on search)."""
        if self._window.limit is not None and not is_search:
            response.headers["X-HubSpot-RateLimit-Max"] = str(self._window.limit)
            response.headers["X-HubSpot-RateLimit-Remaining"] = str(self._window.remaining())
            response.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] = str(
                int(self._window.span_s * 1000))
        if self._daily.limit is not None:
            response.headers["X-HubSpot-RateLimit-Daily"] = str(self._daily.limit)
            response.headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(self._daily.remaining())

    @staticmethod
    def _json(status: int, payload: Any) -> Response:
        """A JSON response."""
        return Response(json.dumps(payload), status=status, content_type=JSON_TYPE)

    def _error(self, error: HubSpotError, correlation: str) -> Response:
        """An error response with HubSpot's body shape."""
        return self._json(error.status, {**error.body, "correlationId": correlation})

    # ------------------------------------------------------------------ records

    def _snapshot(self, object_type: str) -> dict[str, dict]:
        """Copy of every record's current properties."""
        with self._lock:
            return {rid: dict(r.properties) for rid, r in self._records[object_type].items()}

    def _insert(self, object_type: str, properties: dict) -> Record:
        """Store a new record with HubSpot's computed properties."""
        record_id, now = str(self._next_id), time.time()
        self._next_id += 1
        record = Record(record_id, {}, now, now, [])
        self._records[object_type][record_id] = record
        self._write(object_type, record, properties)
        return record

    def _write(self, object_type: str, record: Record, changes: dict) -> None:
        """Apply property changes ("" clears) and queue the new version for search."""
        record.updated = time.time()
        created_name, modified_name = TIMESTAMP_PROPERTIES[object_type]
        changes = {**changes, "hs_object_id": record.id, created_name: iso(record.created),
                   modified_name: iso(record.updated)}
        apply_changes(record.properties, changes)
        if object_type == "contacts":
            apply_changes(record.properties, calculated_phone_properties(record.properties))
        record.versions.append((self._clock() + self.search_lag_s,
                                (dict(record.properties), record.created, record.updated)))

    def _object_type(self, object_type: str) -> str:
        """Validate the path's object type."""
        if object_type not in OBJECT_TYPES:
            # Message seen for unknown types; UNCONFIRMED for every endpoint.
            raise HubSpotError(400, f"Unable to infer object type from: {object_type}")
        return object_type

    def _find(self, object_type: str, object_id: str, id_property: str | None = None) -> Record:
        """A record by id (or by a unique property); 404 OBJECT_NOT_FOUND otherwise."""
        records = self._records[object_type]
        if id_property and id_property != "hs_object_id":
            match = next((r for r in records.values() if str(r.properties.get(id_property, "")).lower()
                          == object_id.lower()), None)
        else:
            match = records.get(object_id)
        if match is None:
            raise HubSpotError(404, "Object not found.  objectId are usually numeric.",
                               "OBJECT_NOT_FOUND", context={"id": [object_id]})
        return match

    def _public(self, object_type: str, record: Record, names: list[str] | None = None) -> dict:
        """A record as SimplePublicObject: all set properties, or the named ones (null when unset)."""
        props = record.properties
        if names:
            props = {n: props.get(n) for n in names if n in self._definitions[object_type]}
            props.update({k: record.properties.get(k) for k in ("hs_object_id",
                                                                 *TIMESTAMP_PROPERTIES[object_type])})
        return {"id": record.id, "properties": dict(props), "createdAt": iso(record.created),
                "updatedAt": iso(record.updated), "archived": False}

    # ------------------------------------------------------------------ validation

    def _validate(self, object_type: str, properties: Any, creating: bool) -> dict:
        """Check property values against the definitions; the values as strings, else a 400."""
        if not isinstance(properties, dict):
            raise HubSpotError(400, "Invalid input JSON: `properties` must be an object")
        values, details = {}, []
        for name, value in properties.items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            elif value is not None and not isinstance(value, str):
                value = str(value) if isinstance(value, (int, float)) else value
            values[name] = value
            problem = self._check_value(object_type, name, value)
            if problem:
                details.append(error_detail(name, *problem))
        if creating and object_type in ("tasks", "notes") and not values.get("hs_timestamp"):
            # Required per HubSpot's engagement docs; code and message UNCONFIRMED.
            details.append(error_detail("hs_timestamp", "REQUIRED_PROPERTY",
                                        'Property "hs_timestamp" is required'))
        if details:
            raise validation_error(details)
        return values

    def _check_value(self, object_type: str, name: str, value: Any) -> tuple[str, str] | None:
        """(code, message) when one property value is invalid."""
        spec = self._definitions[object_type].get(name)
        if spec is None:
            return "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'
        if spec["modificationMetadata"]["readOnlyValue"]:
            # Code and message UNCONFIRMED.
            return "READ_ONLY_VALUE", f'"{name}" is a read only property; its value cannot be set.'
        if value in (None, ""):
            return None
        if not isinstance(value, str):
            return "INVALID_VALUE", f"{value!r} is not a valid value for {name}"  # UNCONFIRMED
        return self._check_typed(object_type, spec, value)

    def _check_typed(self, object_type: str, spec: dict, value: str) -> tuple[str, str] | None:
        """Type-specific checks; codes other than INVALID_OPTION are UNCONFIRMED."""
        name, kind = spec["name"], spec["type"]
        if name == "hubspot_owner_id" and value not in {str(o["id"]) for o in self._owners}:
            return "INVALID_OWNER_ID", f"{value} is not a valid owner id"
        if kind == "enumeration" and not spec["externalOptions"]:
            allowed = [o["value"] for o in spec["options"]]
            chosen = value.split(";") if spec["fieldType"] == "checkbox" else [value]
            if any(v not in allowed for v in chosen):
                return "INVALID_OPTION", (f"{value} was not one of the allowed options: "
                                          f"[{', '.join(allowed)}]")
        if kind == "number" and typed(value, "number") is None:
            return "INVALID_DECIMAL", f"{value} was not a valid number"
        if kind in ("date", "datetime") and parse_time_ms(value) is None:
            return "INVALID_DATE", f"{value} was not a valid date"
        if kind == "bool" and value.lower() not in ("true", "false"):
            return "INVALID_BOOLEAN", f"{value} was not a valid boolean"
        if name == "email" and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
            return "INVALID_EMAIL", f"Email address {value} is invalid"
        if name == "hs_note_body" and len(value) > NOTE_BODY_MAX:
            return "INVALID_LENGTH", f"hs_note_body is longer than {NOTE_BODY_MAX} characters"
        return None

    def _check_email_unique(self, values: dict, record_id: str | None = None) -> None:
        """409 CONFLICT like HubSpot when another contact has this email (on update: UNCONFIRMED)."""
        email = (values.get("email") or "").lower()
        for other in self._records["contacts"].values():
            if email and other.id != record_id and other.properties.get("email", "").lower() == email:
                raise HubSpotError(409, f"Contact already exists. Existing ID: {other.id}", "CONFLICT")

    def _validate_associations(self, object_type: str, associations: Any) -> list[tuple]:
        """(to type, to id, type id, category) for each association; 400 when one is invalid."""
        found = []
        for item in associations or []:
            to_id = str(((item or {}).get("to") or {}).get("id", ""))
            for spec in (item or {}).get("types") or [{}]:
                type_id, category = spec.get("associationTypeId"), spec.get("associationCategory")
                target = ASSOCIATION_TYPES.get((object_type, type_id))
                if category != "HUBSPOT_DEFINED" or target is None:
                    raise HubSpotError(400, f"Association type {category}/{type_id} is not valid for "
                                       f"{object_type} on this test server")  # message UNCONFIRMED
                if to_id not in self._records[target[0]]:
                    raise HubSpotError(400, f"One or more associations are invalid: {target[0]} "
                                       f"{to_id} does not exist")  # message UNCONFIRMED
                found.append((target[0], to_id, type_id, category))
        return found

    # ------------------------------------------------------------------ object endpoints

    def _do_create(self, request, body, object_type):
        """POST /crm/v3/objects/{type}: 201 SimplePublicObject."""
        return 201, self._create_one(self._object_type(object_type), body or {})

    def _create_one(self, object_type: str, body: dict) -> dict:
        """Validate and store one record with its associations."""
        values = self._validate(object_type, body.get("properties", {}), creating=True)
        links = self._validate_associations(object_type, body.get("associations"))
        if object_type == "contacts":
            self._check_email_unique(values)
        record = self._insert(object_type, values)
        for to_type, to_id, type_id, category in links:
            self._associations.append({"fromObjectType": object_type, "fromId": record.id,
                                       "toObjectType": to_type, "toId": to_id,
                                       "associationTypeId": type_id, "associationCategory": category})
        return self._public(object_type, record)

    def _do_batch_create(self, request, body, object_type):
        """POST .../batch/create: all-or-nothing, 201 BatchResponse (multi-status not modelled)."""
        object_type, inputs = self._object_type(object_type), self._inputs(body)
        for item in inputs:
            self._validate(object_type, (item or {}).get("properties", {}), creating=True)
            self._validate_associations(object_type, (item or {}).get("associations"))
        started = time.time()
        results = [self._create_one(object_type, item) for item in inputs]
        return 201, {"status": "COMPLETE", "results": results, "startedAt": iso(started),
                     "completedAt": iso(time.time())}

    def _do_token_info(self, request, body):
        """POST /oauth/v2/private-apps/get/access-token-info: the token's scopes (shape UNCONFIRMED)."""
        if (body or {}).get("tokenKey") != self.access_token:
            raise HubSpotError(404, "token not found", "OBJECT_NOT_FOUND")
        return 200, {"userId": 1, "hubId": self.portal_id, "appId": 2, "scopes": list(self.scopes)}

    def _do_batch_read(self, request, body, object_type):
        """POST .../batch/read: the named properties of each id; 207 with OBJECT_NOT_FOUND for missing ones."""
        object_type, inputs = self._object_type(object_type), self._inputs(body)
        names = list((body or {}).get("properties") or []) or DEFAULT_PROPERTIES[object_type]
        started, results, missing = time.time(), [], []
        for item in inputs:
            record = self._records[object_type].get(str((item or {}).get("id", "")))
            if record is None:
                missing.append(str((item or {}).get("id", "")))
            else:
                results.append(self._public(object_type, record, names))
        payload = {"status": "COMPLETE", "results": results, "startedAt": iso(started), "completedAt": iso(time.time())}
        if not missing:
            return 200, payload
        payload.update(numErrors=1, errors=[{"status": "error", "category": "OBJECT_NOT_FOUND",
                                             "message": f"Could not get some {object_type[:-1].upper()} objects, "
                                                        "they may be deleted or not exist.",
                                             "context": {"ids": missing}}])
        return 207, payload

    def _do_read(self, request, body, object_type, object_id):
        """GET /crm/v3/objects/{type}/{id}: properties, idProperty and associations query params."""
        object_type = self._object_type(object_type)
        record = self._find(object_type, object_id, request.args.get("idProperty"))
        names = [n for v in request.args.getlist("properties") for n in v.split(",") if n]
        names = names or DEFAULT_PROPERTIES[object_type]
        result = self._public(object_type, record, names)
        wanted = [t for v in request.args.getlist("associations") for t in v.split(",") if t]
        if wanted:
            result["associations"] = self._associations_of(object_type, record.id, wanted)
        return 200, result

    def _associations_of(self, object_type: str, record_id: str, wanted: list[str]) -> dict:
        """The v3 ``associations`` block of a record, in both directions."""
        block = {}
        for other in wanted:
            results = []
            for a in self._associations:
                label = ASSOCIATION_TYPES[(a["fromObjectType"], a["associationTypeId"])][1]
                if a["fromObjectType"] == object_type and a["fromId"] == record_id \
                        and a["toObjectType"] == other:
                    results.append({"id": a["toId"], "type": label})
                elif a["toObjectType"] == object_type and a["toId"] == record_id \
                        and a["fromObjectType"] == other:
                    results.append({"id": a["fromId"], "type": "_to_".join(label.split("_to_")[::-1])})
            if results:
                block[other] = {"results": results}
        return block

    def _do_update(self, request, body, object_type, object_id):
        """PATCH /crm/v3/objects/{type}/{id}: 200 SimplePublicObject."""
        object_type = self._object_type(object_type)
        record = self._find(object_type, object_id, request.args.get("idProperty"))
        values = self._validate(object_type, (body or {}).get("properties", {}), creating=False)
        if object_type == "contacts":
            self._check_email_unique(values, record.id)
        self._write(object_type, record, values)
        return 200, self._public(object_type, record)

    def _inputs(self, body: Any) -> list:
        """The ``inputs`` of a batch request; 400 past 100 of them."""
        inputs = (body or {}).get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list):
            raise HubSpotError(400, "Invalid input JSON: `inputs` must be a list")
        if len(inputs) > MAX_BATCH_INPUTS:
            # The limit is documented; this message is UNCONFIRMED.
            raise HubSpotError(400, f"Too many inputs: {len(inputs)}, the limit is {MAX_BATCH_INPUTS}")
        return inputs

    def _do_batch_update(self, request, body, object_type):
        """POST .../batch/update: 200 when all exist, 207 with OBJECT_NOT_FOUND errors otherwise."""
        object_type, inputs = self._object_type(object_type), self._inputs(body)
        ids = [str((item or {}).get("id", "")) for item in inputs]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:  # message as seen in a captured response
            raise HubSpotError(400, f"Duplicate IDs found in batch input: [{', '.join(duplicates)}]. "
                               "IDs must be unique")
        values = [self._validate(object_type, (item or {}).get("properties", {}), False)
                  for item in inputs]
        started, results, missing = time.time(), [], []
        for record_id, changes in zip(ids, values):
            record = self._records[object_type].get(record_id)
            if record is None:
                missing.append(record_id)
                continue
            self._write(object_type, record, changes)
            results.append(self._public(object_type, record))
        payload = {"status": "COMPLETE", "results": results, "startedAt": iso(started),
                   "completedAt": iso(time.time())}
        if not missing:
            return 200, payload
        # As captured: only status/category/message/context per error (no `errors`, no `links`).
        payload["numErrors"] = 1
        payload["errors"] = [{"status": "error", "category": "OBJECT_NOT_FOUND",
                              "message": f"Could not get some {object_type[:-1].upper()} objects, "
                                         "they may be deleted or not exist. Check that ids are valid.",
                              "context": {"ids": missing}}]
        return 207, payload

    # ------------------------------------------------------------------ search

    def _do_search(self, request, body, object_type):
        """POST .../search over what is visible to search now."""
        object_type = self._object_type(object_type)
        body = body if isinstance(body, dict) else {}
        if body.get("query"):
            raise HubSpotError(400, "Free-text `query` is not modelled by this test server")
        groups = self._validated_groups(object_type, body.get("filterGroups") or [])
        limit, after = self._paging(body)
        now = self._clock()
        visible = []
        for record in self._records[object_type].values():
            seen = [version for at, version in record.versions if at <= now]
            if seen:
                visible.append((record.id, *seen[-1]))
        matches = [v for v in visible if self._matches_groups(object_type, v[0], v[1], groups)]
        matches.sort(key=lambda v: int(v[0]))
        for key, descending in reversed(self._sorts(body.get("sorts") or [])):
            kind = self._definitions[object_type].get(key, {}).get("type", "string")
            present = [v for v in matches if v[1].get(key) not in (None, "")]
            absent = [v for v in matches if v[1].get(key) in (None, "")]
            present.sort(key=lambda v: typed(v[1][key], kind), reverse=descending)
            matches = present + absent
        names = body.get("properties") or DEFAULT_PROPERTIES[object_type]
        page = matches[after:after + limit]
        payload = {"total": len(matches), "results": [
            self._public(object_type, Record(rid, props, created, updated, []), list(names))
            for rid, props, created, updated in page]}
        if after + limit < len(matches):
            payload["paging"] = {"next": {"after": str(after + limit)}}
        return 200, payload

    def _validated_groups(self, object_type: str, groups: Any) -> list[list[dict]]:
        """filterGroups within HubSpot's limits, on defined properties and known operators."""
        if not isinstance(groups, list) or len(groups) > SEARCH_MAX_GROUPS:
            raise HubSpotError(400, f"Too many filter groups: the limit is {SEARCH_MAX_GROUPS}")
        filters = [list((g or {}).get("filters") or []) for g in groups]
        if any(len(f) > SEARCH_MAX_FILTERS_PER_GROUP for f in filters) or \
                sum(map(len, filters)) > SEARCH_MAX_FILTERS:
            raise HubSpotError(400, "Too many filters: at most 6 a group and 18 in all")
        for f in (f for group in filters for f in group):
            name, operator = f.get("propertyName"), f.get("operator")
            if operator not in OPERATORS:
                raise HubSpotError(400, f"Unknown filter operator: {operator}")
            # UNCONFIRMED: HubSpot may ignore a filter on an undefined property; here it is a 400.
            if name not in self._definitions[object_type] and not str(name).startswith("associations."):
                raise HubSpotError(400, f'Property "{name}" does not exist on {object_type}')
        return filters

    @staticmethod
    def _paging(body: dict) -> tuple[int, int]:
        """(limit, offset) from the body; 400 past HubSpot's documented limits."""
        try:
            limit, after = int(body.get("limit") or 10), int(body.get("after") or 0)
        except (TypeError, ValueError) as error:
            raise HubSpotError(400, "`limit` and `after` must be integers") from error
        if limit > SEARCH_MAX_LIMIT or limit < 0:
            raise HubSpotError(400, f"limit must be at most {SEARCH_MAX_LIMIT}")  # message UNCONFIRMED
        if after >= SEARCH_MAX_RESULTS:
            raise HubSpotError(400, f"Paging past {SEARCH_MAX_RESULTS} results is not supported")
        return limit, after

    @staticmethod
    def _sorts(sorts: list) -> list[tuple[str, bool]]:
        """(property, descending) pairs from ``["-createdate"]`` or ``[{propertyName, direction}]``."""
        out = []
        for item in sorts:
            if isinstance(item, dict):
                out.append((item.get("propertyName"), item.get("direction") == "DESCENDING"))
            else:
                out.append((str(item).lstrip("-"), str(item).startswith("-")))
        return out

    def _matches_groups(self, object_type: str, record_id: str, props: dict, groups: list) -> bool:
        """OR over groups of AND over filters; no groups matches everything."""
        return not groups or any(all(self._matches(object_type, record_id, props, f) for f in group)
                                 for group in groups)

    def _matches(self, object_type: str, record_id: str, props: dict, flt: dict) -> bool:
        """One filter against one record's searchable properties."""
        name, operator = flt["propertyName"], flt["operator"]
        if name.startswith("associations."):
            linked = set(self.associated_ids(object_type, record_id, name.split(".", 1)[1] + "s"))
            return str(flt.get("value")) in linked if operator == "EQ" else False
        actual = props.get(name)
        if operator == "HAS_PROPERTY":
            return actual not in (None, "")
        if operator == "NOT_HAS_PROPERTY":
            return actual in (None, "")
        kind = self._definitions[object_type][name]["type"]
        if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
            pattern = str(flt.get("value", "")).lower()
            hit = actual is not None and any(fnmatch.fnmatchcase(t, pattern) for t in tokens(actual))
            return hit if operator == "CONTAINS_TOKEN" else not hit
        have = typed(actual, kind) if actual not in (None, "") else None
        if operator in ("IN", "NOT_IN"):
            # UNCONFIRMED: HubSpot documents lowercase values for IN on strings; compared without case.
            hit = have is not None and have in {typed(v, kind) for v in flt.get("values") or []}
            return hit if operator == "IN" else not hit
        want = typed(flt.get("value", ""), kind)
        if operator in ("EQ", "NEQ"):
            hit = have is not None and have == want
            # UNCONFIRMED: NEQ also matches records without the property.
            return hit if operator == "EQ" else not hit
        if have is None or want is None:
            return False
        if operator == "BETWEEN":
            high = typed(flt.get("highValue", ""), kind)
            return high is not None and want <= have <= high
        return {"LT": have < want, "LTE": have <= want, "GT": have > want, "GTE": have >= want}[operator]

    # ------------------------------------------------------------------ properties and owners

    def _do_list_properties(self, request, body, object_type):
        """GET /crm/v3/properties/{type}."""
        return 200, {"results": list(self._definitions[self._object_type(object_type)].values())}

    def _do_read_property(self, request, body, object_type, name):
        """GET /crm/v3/properties/{type}/{name}."""
        return 200, self._property(self._object_type(object_type), name)

    def _property(self, object_type: str, name: str) -> dict:
        """A definition, or 404 (message UNCONFIRMED)."""
        spec = self._definitions[object_type].get(name)
        if spec is None:
            raise HubSpotError(404, f"Unable to find property {name} on object type {object_type}",
                               "OBJECT_NOT_FOUND")
        return spec

    def _do_create_property(self, request, body, object_type):
        """POST /crm/v3/properties/{type}: 201, or 409 when the name exists."""
        object_type, body = self._object_type(object_type), body or {}
        missing = [f for f in ("name", "label", "type", "fieldType", "groupName") if not body.get(f)]
        if missing:
            raise HubSpotError(400, f"Missing required fields: {', '.join(missing)}")
        name = body["name"]
        if name in self._definitions[object_type]:
            # 409 is confirmed; the category and message are UNCONFIRMED (third-party code expects this).
            raise HubSpotError(409, f"Property named '{name}' already exists.", "OBJECT_ALREADY_EXISTS")
        self._check_property_shape(object_type, body)
        spec = definition(name, body["label"], body["type"], body["fieldType"],
                          group=body["groupName"], hubspot_defined=False)
        spec["options"] = [{"hidden": False, "displayOrder": i, **o}
                           for i, o in enumerate(body.get("options") or [])]
        spec.update({k: body[k] for k in ("description", "displayOrder", "hidden", "formField",
                                          "hasUniqueValue") if k in body})
        self._definitions[object_type][name] = spec
        return 201, spec

    def _check_property_shape(self, object_type: str, body: dict) -> None:
        """400 unless name, type, fieldType, group and options are acceptable (messages UNCONFIRMED)."""
        if not re.fullmatch(r"[a-z][a-z0-9_]*", body["name"]):
            raise HubSpotError(400, f"Invalid property name: {body['name']}")
        if body["type"] not in ("string", "number", "date", "datetime", "enumeration", "bool"):
            raise HubSpotError(400, f"Invalid property type: {body['type']}")
        if body["fieldType"] not in ("textarea", "text", "date", "file", "number", "select", "radio",
                                     "checkbox", "booleancheckbox", "calculation_equation",
                                     "phonenumber", "html"):
            raise HubSpotError(400, f"Invalid fieldType: {body['fieldType']}")
        if body["groupName"] not in self._groups[object_type]:
            raise HubSpotError(400, f"Property group {body['groupName']} does not exist")
        if body["type"] == "enumeration" and body["fieldType"] != "booleancheckbox" \
                and not body.get("options"):
            raise HubSpotError(400, "Enumeration properties need options")

    def _do_update_property(self, request, body, object_type, name):
        """PATCH /crm/v3/properties/{type}/{name}: 200 with the new definition."""
        object_type, body = self._object_type(object_type), body or {}
        spec = self._property(object_type, name)
        if "groupName" in body and body["groupName"] not in self._groups[object_type]:
            raise HubSpotError(400, f"Property group {body['groupName']} does not exist")
        for key in ("label", "description", "groupName", "type", "fieldType", "displayOrder",
                    "hidden", "formField"):
            if key in body:
                spec[key] = body[key]
        if "options" in body:
            spec["options"] = [{"hidden": False, "displayOrder": i, **o}
                               for i, o in enumerate(body["options"] or [])]
        spec["updatedAt"] = iso(time.time())
        return 200, spec

    def _do_list_groups(self, request, body, object_type):
        """GET /crm/v3/properties/{type}/groups."""
        return 200, {"results": list(self._groups[self._object_type(object_type)].values())}

    def _do_create_group(self, request, body, object_type):
        """POST /crm/v3/properties/{type}/groups: 201, or 409 when the name exists."""
        object_type, body = self._object_type(object_type), body or {}
        if not body.get("name") or not body.get("label"):
            raise HubSpotError(400, "Missing required fields: name, label")
        if body["name"] in self._groups[object_type]:
            raise HubSpotError(409, f"Property group named '{body['name']}' already exists.",
                               "OBJECT_ALREADY_EXISTS")  # category and message UNCONFIRMED
        group = {"name": body["name"], "label": body["label"],
                 "displayOrder": body.get("displayOrder", -1), "archived": False}
        self._groups[object_type][body["name"]] = group
        return 201, group

    def _do_read_thread(self, request, body, thread_id):
        """GET /conversations/v3/conversations/threads/{threadId}."""
        thread = self._threads.get(thread_id)
        if thread is None:
            raise HubSpotError(404, f"Thread {thread_id} not found", "OBJECT_NOT_FOUND")
        return 200, copy.deepcopy(thread)

    def _do_read_message(self, request, body, thread_id, message_id):
        """GET .../threads/{threadId}/messages/{messageId}: 404 unless the message is in that thread."""
        if thread_id not in self._threads:
            raise HubSpotError(404, f"Thread {thread_id} not found", "OBJECT_NOT_FOUND")
        message = self._messages.get((thread_id, message_id))
        if message is None:
            raise HubSpotError(404, f"Message {message_id} not found in thread {thread_id}",
                               "OBJECT_NOT_FOUND")
        return 200, copy.deepcopy(message)

    def _do_owners(self, request, body):
        """GET /crm/v3/owners/: the configured owners, filtered by ``email``, paged by ``after``."""
        stamp = iso(time.time())
        owners = [{"type": "PERSON", "archived": False, "createdAt": stamp, "updatedAt": stamp,
                   "teams": [], **o} for o in self._owners]
        email = request.args.get("email")
        if email:
            owners = [o for o in owners if str(o.get("email", "")).lower() == email.lower()]
        limit, after = int(request.args.get("limit", 100)), int(request.args.get("after", 0))
        payload = {"results": owners[after:after + limit]}
        if after + limit < len(owners):
            payload["paging"] = {"next": {"after": str(after + limit)}}
        return 200, payload
