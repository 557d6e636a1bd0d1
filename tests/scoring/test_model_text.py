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
