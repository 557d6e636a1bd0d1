"""What every console page is checked for in the browser: no console error or failed request, no sideways
scroll, no serious or critical axe-core violation."""
from __future__ import annotations

SERIOUS = ("async () => (await axe.run(document)).violations"
           ".filter(v => ['serious', 'critical'].includes(v.impact))"
           ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))")


def record_problems(page, problems: list[str]) -> None:
    """Console errors, page errors, failed requests and 4xx/5xx answers on this page go into `problems`."""
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed request: {r.url}"))
    page.on("response", lambda r: problems.append(f"{r.status}: {r.url}") if r.status >= 400 else None)


def assert_no_sideways_scroll(page, name: str, width: int) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{name} scrolls sideways at {width} px by {overflow}px"


def serious_violations(page, axe_source: str, label: str) -> list[str]:
    """axe-core's serious and critical findings, each prefixed with `label`."""
    page.evaluate(axe_source)  # evaluated, not injected as a tag: the CSP allows no inline script
    return [f"{label}: {v}" for v in page.evaluate(SERIOUS)]
