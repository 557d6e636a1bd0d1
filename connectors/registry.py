"""The explicit registry: a source name in /webhooks/<source> -> its connector class.

Connector modules are imported only when their source is used, so the web process stays small.
An unknown source and an unconfigured source fail closed (404 and 401 on the web path).
"""
from __future__ import annotations

import importlib
from typing import Sequence

from connectors.base import InboundConnector
from connectors.common.config import VendorConfig

INBOUND = {
    "quo": "connectors.quo.inbound:QuoConnector",
    "twilio": "connectors.twilio.inbound:TwilioConnector",
    "aircall": "connectors.aircall.inbound:AircallConnector",
    "dialpad": "connectors.dialpad.inbound:DialpadConnector",
    "zendesk": "connectors.zendesk.inbound:ZendeskConnector",
    "intercom": "connectors.intercom.inbound:IntercomConnector",
    "freshdesk": "connectors.freshdesk.inbound:FreshdeskConnector",
    "hubspot": "connectors.hubspot.inbound:HubSpotWebhooksConnector",
    "generic": "connectors.generic.inbound:GenericConnector",
    "import": "connectors.generic.inbound:ImportConnector",  # backfill rows; has no secret, so the web refuses it
}


# Help desks whose tickets get sentiment tags written back: source name -> its tag writer.
TAG_WRITERS = {
    "zendesk": "connectors.zendesk.tags:ZendeskTagWriter",
    "intercom": "connectors.intercom.tags:IntercomTagWriter",
    "freshdesk": "connectors.freshdesk.tags:FreshdeskTagWriter",
}


def _vendor_configs() -> dict[str, type[VendorConfig]]:
    """Each source's typed settings class; small pydantic modules, cheap to import on the web path."""
    from connectors.aircall.config import AircallConfig
    from connectors.dialpad.config import DialpadConfig
    from connectors.freshdesk.config import FreshdeskConfig
    from connectors.generic.config import GenericConfig
    from connectors.hubspot.config import HubSpotConfig
    from connectors.intercom.config import IntercomConfig
    from connectors.quo.config import QuoConfig
    from connectors.twilio.config import TwilioConfig
    from connectors.zendesk.config import ZendeskConfig

    configs = (QuoConfig, TwilioConfig, AircallConfig, DialpadConfig, ZendeskConfig, IntercomConfig,
               FreshdeskConfig, HubSpotConfig, GenericConfig)
    return {config.source: config for config in configs}


VENDOR_CONFIGS = _vendor_configs()


# Destinations of alerts and digests: name -> its Notifier class (connectors/notify.py).
NOTIFIERS = {
    "slack": "connectors.slack.notify:SlackNotifier",
    "teams": "connectors.teams.notify:TeamsNotifier",
    "email": "connectors.email.notify:EmailNotifier",
    "notion": "connectors.notion.notify:NotionNotifier",
}


def _notifier_configs() -> dict[str, type[VendorConfig]]:
    """Each destination's typed settings class."""
    from connectors.email.config import EmailConfig
    from connectors.notion.config import NotionConfig
    from connectors.slack.config import SlackConfig
    from connectors.teams.config import TeamsConfig

    return {config.source: config for config in (SlackConfig, TeamsConfig, EmailConfig, NotionConfig)}


NOTIFIER_CONFIGS = _notifier_configs()


def notifier(name: str, values):
    """The notifier `name` built from an object holding its settings (the service's Settings)."""
    target = NOTIFIERS.get(name)
    if target is None:
        raise UnknownSource(name)
    module_name, _, class_name = target.partition(":")
    config = NOTIFIER_CONFIGS[name].from_values(values)
    return getattr(importlib.import_module(module_name), class_name)(config)


class UnknownSource(LookupError):
    """No connector has this name."""


def inbound_class(source: str) -> type[InboundConnector]:
    """The connector class for a source name; UnknownSource when there is none."""
    target = INBOUND.get(source)
    if target is None:
        raise UnknownSource(source)
    module_name, _, class_name = target.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def inbound(source: str, secrets: Sequence[str] = (), **options) -> InboundConnector:
    """A connector instance; `secrets` may be empty where only parse() will be called (workers)."""
    return inbound_class(source)(secrets, **options)


def tag_writer(source: str, api: dict):
    """The tag writer of a help desk (ValueError from it when credentials are missing); None for others."""
    target = TAG_WRITERS.get(source)
    if target is None:
        return None
    module_name, _, class_name = target.partition(":")
    return getattr(importlib.import_module(module_name), class_name)(api)
