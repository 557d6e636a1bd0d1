"""Per-process state for workers: settings, database, Redis, the scorer and the CRM writer, built once."""
from __future__ import annotations

import json
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
    """The configured scorer (SCORER) and model (`model_dir`), loaded once per worker process, with
    WORKER_TORCH_THREADS torch threads (they also run the sentence embeddings: the setting is per process)."""
    from scoring.factory import make_scorer

    settings = runtime().settings
    return make_scorer(settings.scorer, model_dir(settings), threads=settings.worker_torch_threads).load()


def model_dir(settings: Settings) -> str | None:
    """SCORER_MODEL_DIR, else VAR_DIR/model when `undertone train --corrections` wrote a model there, else None
    (the shipped model)."""
    if settings.scorer_model_dir:
        return str(settings.scorer_model_dir)
    adapted = settings.var_dir / "model"
    return str(adapted) if (adapted / "config.json").is_file() else None


_built: dict = {}  # the analyzer, the rules key it was built from, and the settings and stored rules it was checked on
_scoring: dict = {}  # "thread": the ScoringThread analyses run on, once a worker asked for one (score_on_own_thread)


def score_on_own_thread(idle: bool) -> None:
    """From now on this process's analyses run on a thread of their own, at SCHED_IDLE when `idle`
    (WORKER_SCORING_IDLE; workers/scoring_thread.py). The worker calls it before it warms anything."""
    from workers.scoring_thread import ScoringThread

    _scoring["thread"] = ScoringThread(idle)
    _scoring["thread"].start()
    _built.clear()


def analyzer():
    """Scorer, escalation rules and themes: the console's copies (or ESCALATION_RULES_PATH / THEMES_PATH, or
    the shipped files) and COMPETITORS. Rebuilt when the rules in force change, which each job checks at
    most every SETTINGS_REFRESH_S (one version query), so an owner's edit applies without a restart."""
    from integration.store import rules as owner_rules

    rt = runtime()
    settings = rt.settings_now()
    stored = rt.stored_rules
    if _built and _built["settings"] is settings and _built["stored"] is stored:
        return _built["analyzer"]  # nothing was refreshed since: the same objects, no work per job
    escalation = owner_rules.effective("escalation", settings, stored)
    themes = owner_rules.effective("themes", settings, stored)
    key = json.dumps([escalation, themes, settings.competitors, settings.theme_embeddings, settings.scorer],
                     sort_keys=True)
    if _built.get("key") != key:
        built = build_analyzer(scorer(), escalation, themes, settings)
        if "thread" in _scoring:
            from workers.scoring_thread import AnalyzerOnThread

            built = AnalyzerOnThread(built, _scoring["thread"])
        _built.update(analyzer=built, key=key)
    _built.update(settings=settings, stored=stored)
    return _built["analyzer"]


def build_analyzer(scorer_, escalation: dict, themes: dict, settings: Settings):
    """An Analyzer from rules documents (given as data: scoring knows nothing of the console)."""
    from scoring.analysis import Analyzer
    from scoring.escalation import EscalationRules
    from scoring.themes import ThemeMatcher

    embed = detector = None
    if settings.theme_embeddings and settings.scorer != "lexicon":  # the AI extra is in use: torch is loaded anyway
        from scoring.embeddings import encode as embed
        from scoring.escalation_detector import load_default

        detector = load_default(embed)
    return Analyzer(scorer_, EscalationRules.from_document(escalation, settings.competitors.split(",")),
                    ThemeMatcher.from_document(themes, embed=embed), detector)


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
    """How the CRM sync behaves where the CRM has no match, who owns tasks, which follow-up rules (the console's
    copy, or FOLLOW_UP_RULES_PATH, or the shipped file)."""
    from integration.store import rules as owner_rules
    from integration.sync.flush import SyncOptions

    rt = runtime()
    settings = rt.settings_now()
    rules = owner_rules.effective("follow_up", settings, rt.stored_rules)
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
    _built.clear()
    _scoring.clear()
