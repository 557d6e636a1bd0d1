"""HubSpot CRM writer over `hubspot-api-client`: find a contact, set its properties, open a task.

The client's own urllib3 Retry does not retry POST/PATCH, so 429 and 5xx are handled here: a short
bounded retry in-call (honouring Retry-After), then CRMError(retryable=True) for the job's retry.
Batching, the shared rate limiter, notes and setup belong to the HubSpot write-back issue.
"""
from __future__ import annotations

import json
import logging
import random
import re
import time
from typing import Callable, TypeVar

import phonenumbers
from hubspot import HubSpot
from hubspot.crm.contacts import Filter, FilterGroup, PublicObjectSearchRequest, SimplePublicObjectInput
from hubspot.crm.objects.tasks import (
    AssociationSpec,
    PublicAssociationsForObject,
    PublicObjectId,
    SimplePublicObjectInputForCreate,
)

from connectors.crm import ContactKeys, CRMError, CRMWriter, TaskSpec
from integration import defaults

log = logging.getLogger(__name__)
T = TypeVar("T")

TASK_TO_CONTACT = 204  # HUBSPOT_DEFINED association type: task -> contact
NOT_RETRYABLE = {400, 401, 403, 404, 405, 410, 415, 422}


class HubSpotWriter(CRMWriter):
    """Writes through the official client; `host` points it at a local server in tests."""

    name = "hubspot"

    def __init__(self, access_token: str, host: str = defaults.HUBSPOT_API_BASE, sleep: Callable[[float], None] = time.sleep):
        self.client = HubSpot(access_token=access_token, host=host.rstrip("/"))
        self.sleep = sleep
        self.timeout = (defaults.HTTP_CONNECT_TIMEOUT_S, defaults.HTTP_READ_TIMEOUT_S)

    def find_contact(self, keys: ContactKeys) -> str | None:
        """Search phone, mobilephone and the calculated phone digits, then email (groups are OR'd)."""
        groups = _search_groups(keys)
        if not groups:
            return None
        request = PublicObjectSearchRequest(
            filter_groups=groups[:5],  # HubSpot allows at most 5 filter groups per search
            properties=["email", "phone", "mobilephone"],
            sorts=["createdate"],
            limit=10,
        )
        page = self._call(lambda: self.client.crm.contacts.search_api.do_search(
            public_object_search_request=request, _request_timeout=self.timeout))
        return page.results[0].id if page.results else None

    def update_contact(self, crm_id: str, properties: dict[str, str]) -> None:
        body = SimplePublicObjectInput(properties=properties)
        self._call(lambda: self.client.crm.contacts.basic_api.update(
            crm_id, simple_public_object_input=body, _request_timeout=self.timeout))

    def create_task(self, crm_id: str, task: TaskSpec) -> str:
        properties = {
            "hs_timestamp": task.due_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "hs_task_subject": task.subject,
            "hs_task_body": task.body,
            "hs_task_status": "NOT_STARTED",
            "hs_task_priority": task.priority,
            "hs_task_type": task.task_type,
        }
        if task.owner_id:
            properties["hubspot_owner_id"] = task.owner_id
        association = PublicAssociationsForObject(
            to=PublicObjectId(id=crm_id),
            types=[AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=TASK_TO_CONTACT)],
        )
        body = SimplePublicObjectInputForCreate(properties=properties, associations=[association])
        created = self._call(lambda: self.client.crm.objects.tasks.basic_api.create(
            simple_public_object_input_for_create=body, _request_timeout=self.timeout))
        return created.id

    def _call(self, fn: Callable[[], T]) -> T:
        """Run one API call with bounded retries for 429/5xx/timeouts; raise CRMError otherwise."""
        for attempt in range(1, defaults.HTTP_MAX_ATTEMPTS + 1):
            try:
                return fn()
            except Exception as exc:  # the client raises ApiException subclasses and urllib3 errors
                error = _to_crm_error(exc)
            wait = _wait_before_retry(error, attempt)
            if wait is None:
                raise error
            log.info("hubspot %s, retrying in %.1fs (attempt %d)", error, wait, attempt)
            self.sleep(wait)
        raise AssertionError("unreachable")


def _wait_before_retry(error: CRMError, attempt: int) -> float | None:
    """Seconds to wait before the next in-call attempt, or None to give up to the job's retry."""
    if not error.retryable or attempt >= defaults.HTTP_MAX_ATTEMPTS:
        return None
    if error.retry_after_s is not None:
        return error.retry_after_s if error.retry_after_s <= defaults.HTTP_MAX_INLINE_WAIT_S else None
    return min(defaults.HTTP_MAX_INLINE_WAIT_S, (2 ** attempt) * (0.5 + random.random() / 2))


def _to_crm_error(exc: Exception) -> CRMError:
    """Translate a client or transport exception; every field of HubSpot's error body is optional."""
    status = getattr(exc, "status", None)
    if not isinstance(status, int):
        return CRMError(f"transport error: {type(exc).__name__}: {exc}", retryable=True)
    body = _json_body(getattr(exc, "body", None))
    headers = {k.lower(): v for k, v in dict(getattr(exc, "headers", None) or {}).items()}
    message = body.get("message") or getattr(exc, "reason", None) or "HubSpot error"
    error = CRMError(message, status=status, retryable=status not in NOT_RETRYABLE, details=body)
    if status == 429:
        error.retry_after_s = _retry_after(headers, body)
    return error


def _retry_after(headers: dict, body: dict) -> float:
    """Retry-After when sent; a DAILY policy waits long (the job retry handles it); else the 10 s window."""
    if "retry-after" in headers:
        try:
            return float(headers["retry-after"])
        except ValueError:
            pass
    if body.get("policyName") == "DAILY":
        return 3600.0
    interval_ms = headers.get("x-hubspot-ratelimit-interval-milliseconds")
    return float(interval_ms) / 1000 if interval_ms and interval_ms.isdigit() else 10.0


def _json_body(raw) -> dict:
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _search_groups(keys: ContactKeys) -> list[FilterGroup]:
    groups = []
    for phone in keys.phones:
        groups.append(_eq("phone", phone))
        groups.append(_eq("mobilephone", phone))
        digits = _national_digits(phone)
        if digits:
            # Unconfirmed: this calculated property appears to hold the national number's digits.
            groups.append(_eq("hs_searchable_calculated_phone_number", digits))
    groups.extend(_eq("email", email) for email in keys.emails)
    if len(groups) > 5 and keys.emails:  # keep email in the five allowed groups
        groups = groups[:4] + [_eq("email", keys.emails[0])]
    return groups


def _eq(prop: str, value: str) -> FilterGroup:
    return FilterGroup(filters=[Filter(property_name=prop, operator="EQ", value=value)])


def _national_digits(e164: str) -> str | None:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    return re.sub(r"\D", "", str(number.national_number)) or None
