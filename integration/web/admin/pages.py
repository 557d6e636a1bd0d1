"""The console's home, the Overview (figures from the insights), and its error page."""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, render_template

from integration.insights import definitions
from integration.web.admin import charts, overview
from integration.web.admin.auth import login_required, runtime

bp = Blueprint("admin_pages", __name__, url_prefix="/admin")


@bp.get("/")
@login_required
def home():
    """The Overview: this week against last, the 12-week trend, themes, praise, spikes, escalations, waiting."""
    found = overview.answers(runtime())
    weeks = found["trend"]["weeks"]
    chart = charts.score_line([
        (charts.week_label(w["week_start"]), w["mean_score"],
         f"Week of {w['week_start']}: " + (f"mean score {w['mean_score']:+.2f} from {w['interactions']} "
                                           f"interactions" if w["interactions"] else "no interactions"))
        for w in weeks])
    return render_template("admin/overview.html", a=found, chart=chart, weeks=weeks,
                           labels=definitions.LABELS, spike_min=definitions.SPIKE_MIN_CUSTOMERS,
                           theme_days=overview.THEME_DAYS)


@bp.app_template_filter("isotime")
def isotime(value: str | None) -> str:
    """An ISO 8601 UTC instant from an insight answer as "2026-11-30 14:05 UTC"."""
    if not value:
        return "—"
    return datetime.fromisoformat(value.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M UTC")


def error_page(code: int | None, name: str, description: str | None):
    """An HTML error inside the console's layout."""
    return render_template("admin/error.html", code=code, name=name, description=description), code or 500
