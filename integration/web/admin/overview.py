"""What /admin/ (the Overview) shows, every figure an answer of the insights (`registry.answer_many`):
this week against last week, the 12-week trend, top themes, praise, spikes, open escalations and the
customers waiting for a reply. Nothing here counts interactions itself."""
from __future__ import annotations

from datetime import datetime, timedelta

from integration.insights import params
from integration.insights.registry import answer_many
from integration.insights.trend import week_start
from integration.runtime import Runtime
from integration.store.models import utcnow

TREND_WEEKS = 12  # weeks in the chart, this one included
THEME_DAYS = 30  # window of the top themes and of what customers praise
LIST_ROWS = 5  # themes, praise and spikes shown
PEOPLE_ROWS = 10  # escalations and customers waiting shown


def asks(tz, now: datetime) -> dict[str, tuple[str, params.Query]]:
    """The questions the overview asks (key -> insight name and query); weeks start on Monday in TIMEZONE."""
    monday = week_start(now.astimezone(tz).date())
    return {
        "this_week": ("mix", params.MixQuery(since=monday)),
        "last_week": ("mix", params.MixQuery(since=monday - timedelta(weeks=1), until=monday - timedelta(days=1))),
        "trend": ("trend", params.TrendQuery(since=monday - timedelta(weeks=TREND_WEEKS - 1))),
        "themes": ("themes", params.ThemesQuery(days=THEME_DAYS, limit=LIST_ROWS)),
        "praise": ("themes", params.ThemesQuery(days=THEME_DAYS, sentiment="positive", limit=LIST_ROWS)),
        "spikes": ("spikes", params.SpikesQuery(limit=LIST_ROWS)),
        "escalations": ("escalations", params.EscalationsQuery(limit=PEOPLE_ROWS)),
        "unanswered": ("unanswered", params.UnansweredQuery(limit=PEOPLE_ROWS)),
    }


def answers(rt: Runtime, now: datetime | None = None) -> dict[str, dict]:
    """Every answer the overview shows, from one refresh of the rollups at one moment."""
    now = now or utcnow()
    return answer_many(asks(rt.settings.tzinfo, now), rt.db, rt.settings, now)
