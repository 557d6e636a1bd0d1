"""/admin/connectors: every source's webhook URL, secret, deliveries, refusals, settings and a test delivery."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from connectors.registry import VENDOR_CONFIGS
from integration.web import refusals
from integration.web.admin import config_forms, connector_stats, samples
from integration.web.admin.auth import admin_required, login_required, runtime

bp = Blueprint("admin_connectors", __name__, url_prefix="/admin/connectors")


def webhook_url(source: str) -> str:
    """The address to paste into the provider: PUBLIC_BASE_URL when set, else this request's host."""
    base = runtime().settings.public_base_url or request.host_url
    return f"{base.rstrip('/')}/webhooks/{source}"


@bp.get("/")
@login_required
def index():
    rt = runtime()
    counts = connector_stats.accepted(rt.db, rt.settings.tzinfo)
    rows = [{
        "source": source, "title": config.title, "url": webhook_url(source),
        "secret_set": bool(rt.settings.source_secrets(source)),
        "accepted": counts.get(source), "refused": refusals.summary(rt.redis, source),
    } for source, config in VENDOR_CONFIGS.items()]
    return render_template("admin/connectors.html", rows=rows)


@bp.get("/<source>")
@login_required
def detail(source: str):
    return _render(source, _config(source))


@bp.post("/<source>")
@admin_required
def save(source: str):
    config = _config(source)
    for message, category in config_forms.save_and_report(config, runtime(), request.form):
        flash(message, category)
    return redirect(url_for(".detail", source=source))


@bp.post("/<source>/test")
@admin_required
def test_delivery(source: str):
    """Sign a sample with the source's secret and post it to this app's own webhook route."""
    config = _config(source)
    secrets = runtime().settings.source_secrets(source)
    if not samples.supported(source):
        abort(400, f"There is no sample delivery for {config.title} yet.")
    if not secrets:
        flash(f"{config.title}'s webhook secret is not set, so nothing can be signed and a delivery would be"
              " refused: set it below first.", "error")
        return redirect(url_for(".detail", source=source))
    body, headers = samples.build(source, secrets[0], url=webhook_url(source))
    # Posted with this request's host, so the URL the route sees is the one signed (Twilio, HubSpot sign URLs).
    response = current_app.test_client().post(f"/webhooks/{source}", data=body, headers=headers,
                                              base_url=request.host_url)
    result = {"status": response.status_code, "body": response.get_data(as_text=True)[:2000],
              "ok": response.status_code == 200}
    flash(f"Test delivery answered {response.status_code}.", "ok" if result["ok"] else "error")
    return _render(source, config, result)


def _render(source: str, config, result: dict | None = None):
    rt = runtime()
    return render_template(
        "admin/connector.html", source=source, config=config, url=webhook_url(source),
        secret_set=bool(rt.settings.source_secrets(source)),
        accepted=connector_stats.accepted(rt.db, rt.settings.tzinfo).get(source),
        refused=refusals.summary(rt.redis, source), last_event=connector_stats.last_event(rt.db, source),
        last_error=connector_stats.last_error(rt.db, source), fields=config_forms.field_views(config, rt),
        can_test=samples.supported(source), result=result)


def _config(source: str):
    config = VENDOR_CONFIGS.get(source)
    if config is None:
        abort(404, f"No connector is called {source!r}.")
    return config
