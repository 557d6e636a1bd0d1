"""`undertone hubspot setup`: create the property group and every property the service writes.

Idempotent: an existing property (409) is compared with our definition and updated when it differs.
Also reads the token's scopes and says which ones are missing. Two token kinds answer differently:
private apps at POST /oauth/v2/private-apps/get/access-token-info, OAuth at GET /oauth/v1/access-tokens/{t}.
Which scopes tasks and notes need is not settled in HubSpot's docs (UNCONFIRMED): we require the
contacts scopes and the contacts schema scope, and report the rest as recommended.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import requests
from hubspot.crm.properties import (
    OptionInput,
    PropertyCreate,
    PropertyGroupCreate,
    PropertyUpdate,
)

from connectors.common import defaults as http_defaults
from connectors.crm import CRMError
from connectors.hubspot import defaults
from connectors.hubspot.api import HubSpotAPI
from connectors.hubspot.schema import CONTACT_PROPERTIES, GROUP

REQUIRED_SCOPES = ("crm.objects.contacts.read", "crm.objects.contacts.write", "crm.schemas.contacts.write")
RECOMMENDED_SCOPES = ("crm.objects.owners.read", "conversations.read")
COMPARED = ("label", "type", "fieldType", "groupName", "description")


@dataclass
class SetupReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    scopes: list[str] | None = None  # None: the token's scopes could not be read
    missing_scopes: list[str] = field(default_factory=list)
    missing_recommended: list[str] = field(default_factory=list)


def setup(api: HubSpotAPI, access_token: str, host: str = defaults.HUBSPOT_API_BASE) -> SetupReport:
    report = SetupReport()
    check_scopes(access_token, host, report)
    _ensure_group(api)
    for definition in CONTACT_PROPERTIES:
        _ensure_property(api, definition, report)
    return report


def check_scopes(access_token: str, host: str, report: SetupReport) -> None:
    scopes = _token_scopes(access_token, host.rstrip("/"))
    report.scopes = scopes
    if scopes is not None:
        report.missing_scopes = [s for s in REQUIRED_SCOPES if s not in scopes]
        report.missing_recommended = [s for s in RECOMMENDED_SCOPES if s not in scopes]


def _token_scopes(token: str, host: str) -> list[str] | None:
    timeout = (http_defaults.HTTP_CONNECT_TIMEOUT_S, http_defaults.HTTP_READ_TIMEOUT_S)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        answer = requests.post(f"{host}/oauth/v2/private-apps/get/access-token-info", json={"tokenKey": token},
                               headers=headers, timeout=timeout)
        if answer.status_code != 200:
            answer = requests.get(f"{host}/oauth/v1/access-tokens/{token}", headers=headers, timeout=timeout)
        if answer.status_code != 200:
            return None
        scopes = answer.json().get("scopes")
    except (requests.RequestException, ValueError):
        return None
    return list(scopes) if isinstance(scopes, list) else None


def _ensure_group(api: HubSpotAPI) -> None:
    body = PropertyGroupCreate(name=GROUP["name"], label=GROUP["label"], display_order=GROUP["displayOrder"])
    try:
        api.call(lambda **kw: api.client.crm.properties.groups_api.create_with_http_info("contacts", body, **kw))
    except CRMError as exc:
        if exc.status != 409:
            raise


def _ensure_property(api: HubSpotAPI, definition: dict, report: SetupReport) -> None:
    name = definition["name"]
    options = [OptionInput(label=o, value=o, display_order=i, hidden=False) for i, o in enumerate(definition.get("options", []))]
    create = PropertyCreate(name=name, label=definition["label"], type=definition["type"], field_type=definition["fieldType"],
                            group_name=GROUP["name"], description=definition.get("description", ""), options=options or None)
    try:
        api.call(lambda **kw: api.client.crm.properties.core_api.create_with_http_info("contacts", create, **kw))
        report.created.append(name)
        return
    except CRMError as exc:
        if exc.status != 409:
            raise
    existing = api.call(lambda **kw: api.client.crm.properties.core_api.get_by_name_with_http_info("contacts", name, **kw))
    if _differs(existing, definition):
        update = PropertyUpdate(label=definition["label"], type=definition["type"], field_type=definition["fieldType"],
                                group_name=GROUP["name"], description=definition.get("description", ""),
                                options=options or None)
        api.call(lambda **kw: api.client.crm.properties.core_api.update_with_http_info("contacts", name, update, **kw))
        report.updated.append(name)
    else:
        report.unchanged.append(name)


def _differs(existing, definition: dict) -> bool:
    current = {"label": existing.label, "type": existing.type, "fieldType": existing.field_type,
               "groupName": existing.group_name, "description": existing.description or ""}
    wanted = {**{k: definition.get(k, "") for k in COMPARED}, "groupName": GROUP["name"]}
    have_options = sorted(o.value for o in existing.options or [])
    return current != wanted or have_options != sorted(definition.get("options", []))


OWNER_PAGES = 20  # 20 pages of 500: portals with more owners than that are not checked to the end


def owner_ids(access_token: str, host: str) -> dict[str, str] | None:
    """Every owner's id -> "name <email>" (GET /crm/v3/owners, paged); None when HubSpot cannot say (no
    crm.objects.owners.read scope, unreachable, or more owners than OWNER_PAGES pages hold)."""
    timeout = (http_defaults.HTTP_CONNECT_TIMEOUT_S, http_defaults.HTTP_READ_TIMEOUT_S)
    headers, owners, after = {"Authorization": f"Bearer {access_token}"}, {}, None
    for _ in range(OWNER_PAGES):
        params = {"limit": 500, **({"after": after} if after else {})}
        try:
            answer = requests.get(f"{host.rstrip('/')}/crm/v3/owners/", params=params, headers=headers, timeout=timeout)
            if answer.status_code != 200:
                return None
            page = answer.json()
        except (requests.RequestException, ValueError):
            return None
        for owner in page.get("results") or []:
            name = " ".join(str(owner.get(k) or "") for k in ("firstName", "lastName")).strip()
            owners[str(owner.get("id"))] = f"{name} <{owner.get('email', '')}>".strip()
        after = ((page.get("paging") or {}).get("next") or {}).get("after")
        if not after:
            return owners
    return None
