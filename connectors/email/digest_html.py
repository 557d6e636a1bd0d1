"""The weekly digest as an HTML e-mail that mail clients render: tables and inline styles only (no script, no
external CSS or images), charts drawn as table cells whose widths are the bars (Gmail, Outlook and Apple Mail
all render those; an image chart would need attachments and is blocked by default in many clients)."""
from __future__ import annotations

from html import escape

from connectors.notify import DigestBar, DigestMessage, DigestPart, DigestTable

COLOURS = {"negative": "#c0392b", "neutral": "#8a9599", "positive": "#1e8449"}
FONT = "font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;"
CELL = "padding:4px 8px;border-bottom:1px solid #e3e6e8;text-align:left;font-size:13px;"


def render(digest: DigestMessage) -> str:
    """The whole e-mail body (a complete HTML document, 640 px wide at most)."""
    parts = "".join(_part(part) for part in digest.parts)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(digest.title)}</title></head>"
        f'<body style="margin:0;padding:0;background:#f4f6f7;{FONT}color:#1c2833;">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f4f6f7;">'
        '<tr><td align="center" style="padding:16px 8px;">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
        'style="max-width:640px;width:100%;table-layout:fixed;background:#ffffff;border-radius:6px;">'
        f'<tr><td style="padding:20px 24px 8px 24px;"><h1 style="margin:0 0 4px 0;font-size:22px;">'
        f"{escape(digest.title)}</h1>"
        f'<p style="margin:0;color:#566573;font-size:13px;">{escape(digest.subtitle)}</p></td></tr>'
        f"{parts}"
        '<tr><td style="padding:12px 24px 20px 24px;color:#566573;font-size:12px;">Sent by Undertone. Every '
        "figure comes from the insights functions (the same answers as the insights API).</td></tr>"
        "</table></td></tr></table></body></html>")


def _part(part: DigestPart) -> str:
    html = [f'<tr><td style="padding:14px 24px 4px 24px;border-top:1px solid #e3e6e8;">'
            f'<h2 style="margin:0 0 6px 0;font-size:17px;">{escape(part.heading)}</h2>']
    if part.summary:
        html.append(f'<p style="margin:0 0 8px 0;font-size:14px;line-height:1.45;">{escape(part.summary)}</p>')
    if part.chart:
        html.append(_chart(part.chart))
    if part.lines:
        html.append('<ul style="margin:0 0 8px 0;padding-left:20px;font-size:14px;line-height:1.45;">')
        for line in part.lines:
            links = "".join(f' <a href="{escape(url, quote=True)}" style="color:#1a5276;">{escape(label)}</a>'
                            for label, url in line.links)
            html.append(f'<li style="margin-bottom:4px;">{escape(line.text)}{links}</li>')
        html.append("</ul>")
    if part.table and part.table.rows:
        html.append(_table(part.table))
    html.append("</td></tr>")
    return "".join(html)


def _chart(bars: tuple[DigestBar, ...]) -> str:
    """A horizontal stacked bar per row; widths are proportions of the largest total, so rows compare."""
    largest = max((sum(n for _, n in bar.segments) for bar in bars), default=0) or 1
    rows = []
    for bar in bars:
        total = sum(n for _, n in bar.segments)
        cells = "".join(
            f'<td width="{max(1, round(100 * n / largest))}%" bgcolor="{COLOURS.get(name, "#5d6d7e")}" '
            f'style="background:{COLOURS.get(name, "#5d6d7e")};height:14px;font-size:0;line-height:0;" '
            f'title="{escape(name)} {n}">&nbsp;</td>' for name, n in bar.segments if n)
        rest = 100 - sum(max(1, round(100 * n / largest)) for _, n in bar.segments if n)
        if rest > 0 or not total:
            cells += f'<td width="{max(rest, 1)}%" style="font-size:0;line-height:0;">&nbsp;</td>'
        counts = ", ".join(f"{n} {name}" for name, n in bar.segments)
        rows.append(
            f'<tr><td style="width:90px;padding:3px 8px 3px 0;font-size:12px;white-space:nowrap;">{escape(bar.label)}'
            f'</td><td style="padding:3px 0;"><table role="presentation" width="100%" cellpadding="0" '
            f'cellspacing="0"><tr>{cells}</tr></table></td></tr>'
            f'<tr><td></td><td style="padding:0 0 4px 0;font-size:11px;color:#566573;">{escape(counts)}'
            f'{"; " + escape(bar.note) if bar.note else ""}</td></tr>')
    legend = " ".join(f'<span style="color:{colour};">&#9632;</span> {name}' for name, colour in COLOURS.items())
    return ('<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="margin:4px 0 6px 0;">'
            + "".join(rows) + f'</table><p style="margin:0 0 8px 0;font-size:11px;color:#566573;">{legend}</p>')


def _table(table: DigestTable) -> str:
    head = "".join(f'<th scope="col" style="{CELL}background:#eaf0f1;">{escape(c)}</th>' for c in table.columns)
    body = "".join("<tr>" + "".join(f'<td style="{CELL}">{escape(str(c))}</td>' for c in row) + "</tr>"
                   for row in table.rows)
    return ('<div style="overflow-x:auto;"><table cellpadding="0" cellspacing="0" '
            f'style="border-collapse:collapse;width:100%;margin:4px 0 8px 0;"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")
