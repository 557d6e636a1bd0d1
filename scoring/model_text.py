"""What the flair model reads: text normalised the way its training tweets were (artifact setting `normalise_text`).

Links and user handles carry no sentiment but cost many word pieces each (`http://t.co/A4K2B86PBv` is a
dozen), so they become the placeholders `http` and `@user` (the convention of TweetEval, Barbieri et al.
2020). HTML entities that tweets and help-desk exports carry (`&amp;`, `&lt;3`) are decoded, and so are the
literal escape sequences that JSON exports leave in text (`\\u2019`, `\\u002c`, `\\"`, `\\n` written out as
characters: over 10,000 of them in the SemEval tweets); runs of white space become one space. Applied alike in
training and scoring, so the two never drift apart.
"""
from __future__ import annotations

import html
import re

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@])@\w{1,30}")
_SPACE = re.compile(r"\s+")
# a UTF-16 surrogate pair first (an emoji written as two escapes), then one code unit, then a one-letter escape
_ESCAPE = re.compile(r"\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})|\\u([0-9a-fA-F]{4})"
                     r"|\\([nrt\"/\\])")
_SIMPLE = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "/": "/", "\\": "\\"}


def _unescape(match: re.Match) -> str:
    high, low, unit, letter = match.groups()
    if high:
        return chr(0x10000 + ((int(high, 16) - 0xD800) << 10) + (int(low, 16) - 0xDC00))
    if unit:
        code = int(unit, 16)
        return match.group(0) if 0xD800 <= code <= 0xDFFF else chr(code)  # a lone surrogate stays as written
    return _SIMPLE[letter]


def decode_escapes(text: str) -> str:
    """The text with literal `\\uXXXX` (and surrogate pairs), `\\n`, `\\r`, `\\t`, `\\"`, `\\/` and `\\\\` decoded."""
    return _ESCAPE.sub(_unescape, text) if "\\" in text else text


def normalise(text: str) -> str:
    """The text with links, user handles, escape sequences, HTML entities and white space normalised."""
    text = html.unescape(decode_escapes(text))
    text = _URL.sub("http", text)
    text = _HANDLE.sub("@user", text)
    return _SPACE.sub(" ", text).strip()
