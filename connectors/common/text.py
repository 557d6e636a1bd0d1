"""Cleaning customer text from help desks and e-mail: HTML to plain text, quoted history removed,
and characters no database stores (NUL, lone surrogates) taken out of whatever a worker stores."""
from __future__ import annotations

import dataclasses
import re
from typing import Any

_BLANK_LINES = re.compile(r"\n\s*\n+")
_SPACES = re.compile(r"[ \t\u00a0]+")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL (PostgreSQL refuses it) and lone surrogates (not UTF-8)
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


def storable(text: str) -> str:
    """`text` without NUL and lone surrogates: PostgreSQL refuses the one, UTF-8 cannot encode the other."""
    return _UNSTORABLE.sub("", text) if _UNSTORABLE.search(text) else text


def storable_fields(value: Any) -> Any:
    """`value` with `storable` applied to every string inside it (dataclasses, tuples, lists, dicts)."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, (list, tuple)):
        return type(value)(storable_fields(v) for v in value)
    if isinstance(value, dict):
        return {storable_fields(k): storable_fields(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: storable_fields(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
        return dataclasses.replace(value, **changes)
    return value
