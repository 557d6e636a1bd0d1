"""/admin/alerts: where alerts and the weekly digest go (settings), a test alert, the digest's preview, recent
alerts with their delivery state and recent digest sends."""
from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from connectors.registry import NOTIFIER_CONFIGS
from integration import schedule
from integration.alerts import delivery
from integration.digest import sending
from integration.settings import DigestConfig
from integration.store.models import Alert, utcnow
from integration.web.admin import config_forms
from integration.web.admin.auth import admin_required, login_required, runtime

bp = Blueprint("admin_alerts", __name__, url_prefix="/admin/alerts")
GROUPS = {"digest": DigestConfig, **NOTIFIER_CONFIGS}
RECENT = 50

# The preview is the e-mail itself, shown in a frame of this page: its styles are inline (as mail clients need),
# so only this response allows inline style, and it runs in a sandbox with no script at all.
PREVIEW_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; "
               "base-uri 'none'; form-action 'none'; sandbox allow-popups allow-popups-to-escape-sandbox")


@bp.get("/")
@login_required
def index():
    return _render()


@bp.post("/settings/<group>")
@admin_required
def save(group: str):
    config = _group(group)
    for message, category in config_forms.save_and_report(config, runtime(), request.form):
        flash(message, category)
    return redirect(url_for(".index") + f"#settings-{group}")


@bp.post("/test")
@admin_required
def test_alert():
    """A test alert to every configured alert destination; the page shows each one's answer."""
    results = delivery.send_test_alert(runtime().settings)
    if not results:
        flash("No alert destination is configured: set SLACK_WEBHOOK_URL or TEAMS_WEBHOOK_URL first.", "error")
    else:
        ok = all(v == "sent" for v in results.values())
        flash("Test alert sent." if ok else "The test alert was not delivered everywhere.", "ok" if ok else "error")
    return _render(test_results=results)


@bp.get("/digest-preview")
@login_required
def digest_preview():
    """The digest e-mail (HTML) of a week (default: the one the schedule last made due)."""
    from connectors.email.digest_html import render as render_html
    from integration.digest import build, render

    rt = runtime()
    try:
        week = request.args.get("week") or sending.due_week(rt.settings)
        first_day = schedule.week_from_key(week)
    except ValueError as exc:
        abort(400, str(exc))
    response = make_response(render_html(render.message(build.build(rt.db, rt.settings, first_day))))
    response.headers["Content-Security-Policy"] = PREVIEW_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


def _render(test_results: dict | None = None):
    rt = runtime()
    settings = rt.settings
    with rt.db.session() as session:
        alerts = list(session.scalars(select(Alert).order_by(Alert.id.desc()).limit(RECENT)))
        session.expunge_all()
    try:
        due, upcoming = sending.due_week(settings), schedule.next_due(settings.digest_schedule, settings.tzinfo,
                                                                      utcnow())
    except ValueError:
        due, upcoming = None, None
    groups = [{"name": name, "title": config.title, "fields": config_forms.field_views(config, rt)}
              for name, config in GROUPS.items()]
    return render_template(
        "admin/alerts.html", groups=groups, alerts=alerts, digests=sending.recent(rt.db),
        alert_targets=delivery.destinations(settings), digest_targets=sending.destinations(settings),
        due_week=due, next_due=upcoming, test_results=test_results, can_edit=current_user.is_admin)


def _group(name: str):
    config = GROUPS.get(name)
    if config is None:
        abort(404, f"No settings group is called {name!r}.")
    return config
