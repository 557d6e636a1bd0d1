"""Cleaning customer text from help desks and e-mail: HTML to plain text, quoted history removed."""
from __future__ import annotations

import re

_BLANK_LINES = re.compile(r"\n\s*\n+")
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLOCKS = ["p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "table", "ul", "ol"]


def html_to_text(html: str | None) -> str:
    """Visible text of an HTML fragment, one line per block, without scripts or styles."""
    if not html:
        return ""
    if "<" not in html:
        return _tidy(html)
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "head"]):
        tag.decompose()
    for quote in soup.select("blockquote, .gmail_quote, .zendesk_quote"):
        quote.decompose()  # quoted history in HTML e-mails
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for block in soup.find_all(_BLOCKS):
        block.append("\n")  # inline tags (<b>, <a>) stay within their line
    return _tidy(soup.get_text())


def latest_reply(text: str | None) -> str:
    """The newest part of an e-mail body: quoted history ("On … wrote:", "> …") and signatures removed."""
    if not text:
        return ""
    from mailparser_reply import EmailReplyParser

    reply = EmailReplyParser(languages=["en", "de", "fr", "es", "nl"]).parse_reply(text=text)
    return _tidy(reply or text)


def clean_message(body: str | None, *, is_html: bool = True) -> str:
    """HTML (if any) to text, then quoted history removed."""
    text = html_to_text(body) if is_html else (body or "")
    return latest_reply(text)


def _tidy(text: str) -> str:
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
