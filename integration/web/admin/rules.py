"""/admin/rules: escalation rules, the negative-score threshold, follow-up task rules and the theme taxonomy.

The owner's edits are stored whole per kind (integration/store/rules.py) and reach every worker within
SETTINGS_REFRESH_S. "Try a sentence" posts the form as edited and asks a worker to judge the sentence
with those rules (integration/queues.py:try_rules): nothing is stored, and the web never loads a scorer.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from redis.exceptions import RedisError

from integration import defaults, queues
from integration.store import rules as owner_rules
from integration.web.admin import rules_form
from integration.web.admin.auth import admin_required, login_required, runtime

bp = Blueprint("admin_rules", __name__, url_prefix="/admin/rules")
MAX_SENTENCE_CHARS = 2000


def _current() -> tuple[dict, dict]:
    """(documents in force, where each comes from), read now from the database."""
    rt = runtime()
    settings, stored = rt.settings, owner_rules.stored_rules(rt.db)
    documents = {k: owner_rules.effective(k, settings, stored) for k in owner_rules.KINDS}
    return documents, {k: owner_rules.origin(k, settings, stored) for k in owner_rules.KINDS}


def _edited(documents: dict, origins: dict) -> tuple[dict, list[str]]:
    """The documents with the form's edits (kinds set in the environment stay as they are) and every problem."""
    edited, errors = {}, []
    for kind in owner_rules.KINDS:
        if origins[kind] == "environment":
            edited[kind] = documents[kind]
            continue
        edited[kind], type_errors = rules_form.apply(kind, documents[kind], request.form)
        errors += type_errors or owner_rules.validate(kind, edited[kind])
    return edited, errors


def _render(documents: dict, origins: dict, *, errors=(), tried=None, sentence: str = "", status: int = 200):
    env_paths = {k: owner_rules.in_environment(k, runtime().settings) for k in owner_rules.KINDS}
    new_theme = {f: request.form.get(f"th.{rules_form.NEW_THEME}.{f}", "") for f in
                 ("theme", "label", "keywords", "examples")} if errors else {}
    return render_template(
        "admin/rules.html", docs=documents, origins=origins, env_paths=env_paths, errors=list(errors),
        tried=tried, sentence=sentence, placeholders=owner_rules.PLACEHOLDERS, priorities=owner_rules.PRIORITIES,
        task_types=owner_rules.TASK_TYPES, titles=owner_rules.TITLES, new_theme=new_theme,
        competitors_env=runtime().settings.competitors, wait_s=defaults.TRY_RULES_WAIT_S), status


@bp.get("/")
@login_required
def index():
    documents, origins = _current()
    return _render(documents, origins)


@bp.post("/")
@admin_required
def save():
    documents, origins = _current()
    edited, errors = _edited(documents, origins)
    warning = None
    if not errors and edited["follow_up"] != documents["follow_up"]:
        errors, warning = _check_owners(edited["follow_up"])
    if errors:
        return _render(edited, origins, errors=errors, status=400)
    if warning:
        flash(warning, "error")
    rt, changed = runtime(), []
    for kind in owner_rules.KINDS:
        if origins[kind] != "environment" and edited[kind] != documents[kind]:
            owner_rules.save(rt.db, kind, edited[kind])
            changed.append(owner_rules.TITLES[kind].lower())
    if changed:
        rt.reload_settings()
        flash(f"Saved {', '.join(changed)}. Workers use them within {defaults.SETTINGS_REFRESH_S} seconds.")
    else:
        flash("Nothing changed.")
    return redirect(url_for(".index"))


def _check_owners(follow_up: dict) -> tuple[list[str], str | None]:
    """(errors, warning): a task owner HubSpot does not know would make HubSpot refuse the task, so it is
    refused here; when HubSpot cannot list its owners the rules are saved with a warning."""
    owners = {r["owner_id"]: r["reason"] for r in follow_up.get("rules", []) if r.get("owner_id")}
    settings = runtime().settings
    if not owners or settings.hubspot_access_token is None:
        return [], None
    from connectors.hubspot.setup import owner_ids

    known = owner_ids(settings.hubspot_access_token.get_secret_value(), settings.hubspot_api_base)
    if known is None:
        return [], ("Saved, but HubSpot could not list its owners (the token needs crm.objects.owners.read), so"
                    f" owner {', '.join(owners)} was not checked: HubSpot refuses tasks for an unknown owner.")
    return [f"Follow-up rule {reason!r}: HubSpot has no owner with ID {owner}"
            f" (its owners: {', '.join(f'{i} {n}' for i, n in list(known.items())[:10]) or 'none'})."
            for owner, reason in owners.items() if owner not in known], None


@bp.post("/try")
@admin_required
def try_sentence():
    """Judge a sentence with the rules as edited in the form, before saving; stores nothing."""
    documents, origins = _current()
    edited, errors = _edited(documents, origins)
    sentence = request.form.get("sentence", "").strip()
    if not sentence:
        errors.append("Type a sentence to try.")
    elif len(sentence) > MAX_SENTENCE_CHARS:
        errors.append(f"Try at most {MAX_SENTENCE_CHARS} characters.")
    if errors:
        return _render(edited, origins, errors=errors, sentence=sentence, status=400)
    try:
        tried = queues.try_rules(runtime().redis, edited, sentence)
    except RedisError:
        tried = {"error": "Redis is not reachable, so no worker can be asked. Nothing was saved."}
    except RuntimeError as exc:
        tried = {"error": f"The worker could not judge it: {exc}"}
    if tried is None:
        tried = {"error": f"No worker answered within {defaults.TRY_RULES_WAIT_S} seconds: is `undertone worker`"
                          " running (see Jobs)? Nothing was saved."}
    return _render(edited, origins, tried=tried, sentence=sentence, status=503 if "error" in tried else 200)


@bp.post("/reset")
@admin_required
def reset():
    kind = request.form.get("kind", "")
    kinds = owner_rules.KINDS if kind == "all" else (kind,) if kind in owner_rules.KINDS else ()
    if not kinds:
        flash("Choose which rules to reset.", "error")
        return redirect(url_for(".index"))
    rt = runtime()
    for each in kinds:
        owner_rules.reset(rt.db, each)
    rt.reload_settings()
    flash(f"Reset to defaults: {', '.join(owner_rules.TITLES[k].lower() for k in kinds)}.")
    return redirect(url_for(".index"))
