"""What the flair model reads: text normalised the way its training tweets were (artifact setting `normalise_text`).

Links and user handles carry no sentiment but cost many word pieces each (`http://t.co/A4K2B86PBv` is a
dozen), so they become the placeholders `http` and `@user` (the convention of TweetEval, Barbieri et al.
2020). HTML entities that tweets and help-desk exports carry (`&amp;`, `&lt;3`) are decoded, and runs of
white space become one space. Applied alike in training and scoring, so the two never drift apart.
"""
from __future__ import annotations

import html
import re

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@])@\w{1,30}")
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """The text with links, user handles, HTML entities and white space normalised."""
    text = html.unescape(text)
    text = _URL.sub("http", text)
    text = _HANDLE.sub("@user", text)
    return _SPACE.sub(" ", text).strip()
