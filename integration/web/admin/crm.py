"""/admin/crm: HubSpot token status, test connection, run setup, scopes, unmatched contacts, rate limits, flushes."""
from __future__ import annotations

import requests
from flask import Blueprint, flash, redirect, render_template, request, url_for

from connectors.common.config import reveal
from connectors.registry import VENDOR_CONFIGS
from integration import defaults
from integration.web.admin import config_forms, crm_state
from integration.web.admin.auth import admin_required, login_required, runtime

bp = Blueprint("admin_crm", __name__, url_prefix="/admin/crm")
HUBSPOT = VENDOR_CONFIGS["hubspot"]


@bp.get("/")
@login_required
def index(check: dict | None = None):
    rt = runtime()
    settings = rt.settings
    page = max(1, request.args.get("page", 1, type=int))
    return render_template(
        "admin/crm.html", token_set=settings.hubspot_access_token is not None,
        fields=config_forms.field_views(HUBSPOT, rt), statuses=crm_state.contact_statuses(rt.db),
        unmatched=crm_state.problem_contacts(rt.db, "unmatched", page),
        errors=crm_state.problem_contacts(rt.db, "error"), flush=crm_state.last_flush(rt.db),
        rate=crm_state.rate_limit_state(rt.redis), page=page, page_size=defaults.ADMIN_PAGE_SIZE,
        check=check)


@bp.post("/")
@admin_required
def save():
    changed, errors = config_forms.save_form(HUBSPOT, runtime(), request.form)
    for message in errors:
        flash(message, "error")
    if not errors:
        flash(f"Saved: {', '.join(n.upper() for n in changed)}." if changed else "Nothing changed.")
    return redirect(url_for(".index"))


@bp.post("/test")
@admin_required
def test_connection():
    """Read the contact properties and the token's scopes: says whether the token works and what it lacks."""
    from connectors.hubspot.setup import SetupReport, check_scopes

    token, host = _token()
    if not token:
        flash("No HubSpot token: contacts go to the built-in CRM sink.", "error")
        return redirect(url_for(".index"))
    try:
        answer = requests.get(f"{host}/crm/v3/properties/contacts", headers={"Authorization": f"Bearer {token}"},
                              timeout=(defaults.TEST_DELIVERY_TIMEOUT_S, defaults.TEST_DELIVERY_TIMEOUT_S))
        reached = answer.status_code == 200
        message = "HubSpot answered: the token can read contact properties." if reached else (
            f"HubSpot answered {answer.status_code}: {_hubspot_message(answer)}")
    except requests.RequestException as exc:
        reached, message = False, f"HubSpot could not be reached: {type(exc).__name__}"
    report = SetupReport()
    check_scopes(token, host, report)
    return index(check={"ok": reached, "message": message, "scopes": report.scopes,
                        "missing": report.missing_scopes, "recommended": report.missing_recommended})


@bp.post("/setup")
@admin_required
def run_setup():
    """Create or update the `undertone` properties in HubSpot (idempotent), and check the scopes."""
    from connectors.crm import CRMError
    from connectors.hubspot.api import HubSpotAPI
    from connectors.hubspot.setup import setup

    token, host = _token()
    if not token:
        flash("Set the HubSpot access token first.", "error")
        return redirect(url_for(".index"))
    try:
        report = setup(HubSpotAPI(token, host), token, host)
    except CRMError as exc:
        flash(f"HubSpot refused: {exc}", "error")
        return redirect(url_for(".index"))
    flash(f"Setup done: {len(report.created)} created, {len(report.updated)} updated, "
          f"{len(report.unchanged)} unchanged.")
    return index(check={"ok": not report.missing_scopes, "message": "Properties are in place.",
                        "scopes": report.scopes, "missing": report.missing_scopes,
                        "recommended": report.missing_recommended})


def _token() -> tuple[str, str]:
    settings = runtime().settings
    return reveal(settings.hubspot_access_token), settings.hubspot_api_base.rstrip("/")


def _hubspot_message(answer) -> str:
    try:
        return str(answer.json().get("message") or answer.reason)[:300]
    except ValueError:
        return answer.reason
