"""Alert rows -> the AlertMessage a notifier sends: who, channel, line, agent, reason, quote, score, links."""
from __future__ import annotations

from urllib.parse import quote

from connectors.notify import AlertMessage
from integration.store.models import Alert


def message(alerts: list[Alert], public_base_url: str | None, held: bool = False,
            hubspot_portal_id: str | None = None) -> AlertMessage:
    """One message for one alert, or for all alerts held through quiet hours."""
    items = tuple(_item(alert, public_base_url, hubspot_portal_id) for alert in alerts)
    if held or len(alerts) > 1:
        return AlertMessage(f"{len(alerts)} alert(s) raised during quiet hours", items, "batch")
    alert = alerts[0]
    title = f"Escalation: {alert.reason}" if alert.kind == "escalation" else f"Spike: {alert.theme}"
    return AlertMessage(title[:150], items, alert.kind)


def _item(alert: Alert, base: str | None, portal: str | None) -> dict:
    facts = alert.facts or {}
    if alert.kind == "spike":
        return {"heading": f"Spike: {alert.reason}",
                "facts": [("Theme", facts.get("theme")), ("Customers", facts.get("customers")),
                          ("Since", facts.get("since"))],
                "links": [("Admin page", _admin(base, "alerts"))]}
    shown = [("Customer", facts.get("customer")), ("Channel", facts.get("channel")), ("Line", facts.get("line")),
             ("Agent", facts.get("agent")), ("Score", f"{facts.get('score')} ({facts.get('label')})"),
             ("Reason", alert.reason)]
    links = [("CRM record", _crm_link(facts.get("crm_id"), portal)), ("Conversation", facts.get("url")),
             ("Admin page", _admin(base, f"interactions/{alert.interaction_id}"))]
    return {"heading": f"{facts.get('customer')}: {alert.reason}", "facts": [(k, v) for k, v in shown if v],
            "quote": alert.evidence, "links": [(label, url) for label, url in links if url]}


def _crm_link(crm_id: str | None, portal: str | None) -> str | None:
    """The HubSpot record page; needs the portal id (HUBSPOT_PORTAL_ID, when the settings have it)."""
    crm, _, record = (crm_id or "").partition(":")
    if crm == "hubspot" and record and portal:
        return f"https://app.hubspot.com/contacts/{quote(str(portal), safe='')}/record/0-1/{quote(record, safe='')}"
    return None


def _admin(base: str | None, path: str) -> str | None:
    return f"{base.rstrip('/')}/admin/{path}" if base else None
