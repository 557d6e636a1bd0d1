"""The text normalisation the flair model is trained and scored on."""
import pytest

from scoring.model_text import normalise


@pytest.mark.parametrize("text, expected", [
    ("Thanks @JaneDoe_1 for the fix!", "Thanks @user for the fix!"),
    ("see http://t.co/A4K2B86PBv and https://example.com/a?b=1 now", "see http and http now"),
    ("www.acme.com is down", "http is down"),
    ("Tom &amp; Jerry &lt;3", "Tom & Jerry <3"),
    ("  two\tlines\nhere  ", "two lines here"),
    ("mail me at bob@example.com", "mail me at bob@example.com"),  # an e-mail address is not a handle
    ("@@", "@@"),
    ("", ""),
])
def test_normalise(text, expected):
    assert normalise(text) == expected


@pytest.mark.parametrize("text, expected", [
    (r"Yeah\u002c I\u2019d go", "Yeah, I\u2019d go"),  # as the SemEval tweets carry them
    (r"VH1\u2019s \"Mob Wives\"", 'VH1\u2019s "Mob Wives"'),
    (r"first line\nsecond\tthird", "first line second third"),
    (r"so good \ud83d\ude00!", "so good \U0001F600!"),  # a surrogate pair is one emoji
    (r"broken \ud83d here", r"broken \ud83d here"),  # a lone surrogate stays as written
    (r"a\\nb", "a\\nb"),  # an escaped backslash, then a plain n
    (r"path \z stays", r"path \z stays"),
    (r"\u0041&amp;B", "A&B"),
])
def test_normalise_decodes_literal_escapes(text, expected):
    assert normalise(text) == expected
