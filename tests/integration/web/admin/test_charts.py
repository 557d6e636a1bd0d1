"""The server-drawn chart geometry: scores map onto the plot, a period without data breaks the line."""
from __future__ import annotations

from integration.web.admin import charts


def test_scores_map_to_the_plot_and_gaps_break_the_line():
    chart = charts.score_line([("a", 1.0, "top"), ("b", None, "none"), ("c", -1.0, "bottom"), ("d", 0.0, "mid"),
                               ("e", 3.0, "beyond")])
    top, bottom = chart.top, chart.height - chart.bottom
    assert [p["y"] for p in chart.points] == [top, bottom, chart.zero_y, top]  # 3.0 is drawn at the top edge
    assert chart.zero_y == (top + bottom) / 2
    assert len(chart.segments) == 2 and chart.segments[0].count(",") == 1  # "a" alone, then "c d e"
    xs = [p["x"] for p in chart.points]
    assert xs == sorted(xs) and chart.left < xs[0] and xs[-1] < chart.width - chart.right
    assert [t["label"] for t in chart.x_ticks] == ["a", "c", "e"]  # every other, the latest always
    assert [t["label"] for t in chart.y_ticks] == ["-1.0", "-0.5", "0", "+0.5", "+1.0"]


def test_no_data_draws_no_line():
    chart = charts.score_line([("a", None, ""), ("b", None, "")])
    assert chart.points == [] and chart.segments == []
    assert charts.week_label("2026-09-07") == "Sep 7"
