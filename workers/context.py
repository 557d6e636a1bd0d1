"""Per-process state for workers: settings, database, Redis, the scorer and the CRM writer, built once."""
from __future__ import annotations

from functools import lru_cache

from connectors.crm import CRMWriter
from integration.runtime import Runtime
from integration.settings import Settings
from scoring.base import Scorer


@lru_cache(maxsize=1)
def runtime() -> Runtime:
    return Runtime(Settings())


@lru_cache(maxsize=1)
def scorer() -> Scorer:
    """The configured scorer (SCORER), loaded once per worker process."""
    from scoring.factory import make_scorer

    settings = runtime().settings
    model_dir = str(settings.scorer_model_dir) if settings.scorer_model_dir else None
    return make_scorer(settings.scorer, model_dir).load()


@lru_cache(maxsize=1)
def analyzer():
    """Scorer, escalation rules (ESCALATION_RULES_PATH, COMPETITORS) and themes, loaded once per process."""
    from scoring.analysis import Analyzer
    from scoring.escalation import EscalationRules
    from scoring.themes import ThemeMatcher

    settings = runtime().settings
    rules = EscalationRules.load(settings.escalation_rules_path, settings.competitors.split(","))
    embed = detector = None
    if settings.theme_embeddings and settings.scorer != "lexicon":  # the AI extra is in use: torch is loaded anyway
        from scoring.embeddings import encode as embed
        from scoring.escalation_detector import load_default

        detector = load_default(embed)
    return Analyzer(scorer(), rules, ThemeMatcher.load(settings.themes_path, embed=embed), detector)


def connector_for(rt: Runtime):
    """Builds a source's connector with its API credentials, for parsing and hydration."""
    from connectors import registry

    return lambda source: registry.inbound(source, api=rt.settings.source_api(source))


def crm_writer(rt: Runtime) -> CRMWriter:
    """HubSpot when a token is configured (rate-limited through Redis), otherwise the built-in sink."""
    settings = rt.settings
    if settings.hubspot_access_token is not None:
        from connectors.hubspot.api import Budgets
        from connectors.hubspot.writer import HubSpotWriter

        budgets = Budgets.shared(rt.worker_redis, settings.hubspot_tier)
        return HubSpotWriter(settings.hubspot_access_token.get_secret_value(), host=settings.hubspot_api_base,
                             budgets=budgets)
    from integration.sync.sink import SinkWriter

    return SinkWriter(rt.db)


def sync_options():
    """How the CRM sync behaves where the CRM has no match, who owns tasks, which follow-up rules."""
    from integration.sync.content import follow_up_rules
    from integration.sync.flush import SyncOptions

    settings = runtime().settings
    rules = follow_up_rules(str(settings.follow_up_rules_path)) if settings.follow_up_rules_path else None
    return SyncOptions(create_contacts=settings.crm_create_contacts, default_owner_id=settings.hubspot_default_owner_id,
                       rules=rules)


def warm() -> None:
    """Load everything a job needs before the worker forks, so each work horse starts ready.

    RQ forks a work horse per job; whatever the parent has not imported or built, every job pays for
    again (the connector modules, phone metadata, the ORM's mapper set-up, the HubSpot client).
    """
    import importlib

    import phonenumbers
    from sqlalchemy.orm import configure_mappers

    from connectors import registry

    analyzer()
    for target in (*registry.INBOUND.values(), *registry.TAG_WRITERS.values()):
        importlib.import_module(target.partition(":")[0])
    for module in ("connectors.hubspot.writer", "integration.sync.flush", "integration.pipeline.processing",
                   "integration.sync.helpdesk_tags"):
        importlib.import_module(module)
    phonenumbers.parse("+14155550100")
    configure_mappers()
    engine = runtime().db.engine
    with engine.connect():  # the dialect learns the server once, here...
        pass
    engine.dispose()  # ...and no connection crosses the fork: each work horse opens its own


def reset() -> None:
    """Forget cached state (tests change the environment between cases)."""
    runtime.cache_clear()
    scorer.cache_clear()
    analyzer.cache_clear()
