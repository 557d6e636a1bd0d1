"""Charts drawn on the server as SVG geometry (the templates write the elements, so text is escaped and no
inline style is needed: colours come from admin.css classes). Numbers in, coordinates out."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

SCORE_MIN, SCORE_MAX = -1.0, 1.0
SCORE_TICKS = (-1.0, -0.5, 0.0, 0.5, 1.0)


@dataclass
class Chart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    y_ticks: list[dict] = field(default_factory=list)  # {"y", "label"}
    x_ticks: list[dict] = field(default_factory=list)  # {"x", "label"}
    segments: list[str] = field(default_factory=list)  # polyline "x,y x,y" runs (a gap where no data)
    points: list[dict] = field(default_factory=list)  # {"x", "y", "title"}
    zero_y: float = 0.0


def _y(chart: Chart, value: float) -> float:
    span = chart.height - chart.top - chart.bottom
    return round(chart.top + (SCORE_MAX - value) / (SCORE_MAX - SCORE_MIN) * span, 1)


def _x(chart: Chart, index: int, count: int) -> float:
    span = chart.width - chart.left - chart.right
    return round(chart.left + (span * (index + 0.5) / count if count else 0), 1)


def score_line(values: list[tuple[str, float | None, str]], width: int = 560, height: int = 300,
               tick_labels: bool = True) -> Chart:
    """A line of mean scores (-1..+1) over equally spaced periods: [(x label, score or None, point title)].
    A period without a score breaks the line instead of drawing it through zero."""
    chart = Chart(width, height, left=74 if tick_labels else 34, right=26 if tick_labels else 6,
                  top=14 if tick_labels else 8, bottom=46 if tick_labels else 8)
    chart.zero_y = _y(chart, 0.0)
    chart.y_ticks = [{"y": _y(chart, v), "label": f"{v:+.1f}" if v else "0"} for v in SCORE_TICKS]
    run: list[str] = []
    for index, (label, score, title) in enumerate(values):
        x = _x(chart, index, len(values))
        if (len(values) - 1 - index) % 2 == 0:  # every other period is labelled, the latest always
            chart.x_ticks.append({"x": x, "label": label})
        if score is None:
            if run:
                chart.segments.append(" ".join(run))
            run = []
            continue
        y = _y(chart, max(SCORE_MIN, min(SCORE_MAX, score)))
        run.append(f"{x},{y}")
        chart.points.append({"x": x, "y": y, "title": title})
    if run:
        chart.segments.append(" ".join(run))
    return chart


def week_label(day: str | date) -> str:
    """"Sep 8" for a week's Monday (ISO date or date)."""
    day = date.fromisoformat(day) if isinstance(day, str) else day
    return f"{day:%b} {day.day}"
