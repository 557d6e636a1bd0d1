"""body_checks: the substring pre-filter in front of the NUL/surrogate pattern never hides a suspect body."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.base import MalformedPayload
from connectors.common import body_checks

_PIECES = st.sampled_from([b"\x00", b"\\u0000", b"\\U0000", b"%00", b"\\ud800", b"\\uDC00", b"%ed%a0%80", b"%ED%B0",
                           b"\\ud83d\\ude00", b"\\u00e9", b"%41", b"a", b"{", b'"', b"\\", b"u", b"%", b"e"])


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(_PIECES, st.binary(max_size=4)), max_size=12).map(b"".join))
def test_the_pre_filter_passes_every_body_the_pattern_would_flag(raw):
    if body_checks._SUSPECT.search(raw):
        assert body_checks._may_be_suspect(raw)


@pytest.mark.parametrize("raw", [b'{"text": "a\\u0000b"}', b'{"text": "\\ud800"}', b"text=a%00b", b"text=%ED%A0%80",
                                 b'{"text": "\x00"}'])
def test_bodies_with_a_nul_or_a_lone_surrogate_are_refused(raw):
    with pytest.raises(MalformedPayload):
        body_checks.check_storable(raw, "generic")


@pytest.mark.parametrize("raw", [b'{"text": "caf\\u00e9 \\ud83d\\ude00"}', b"text=caf%C3%A9", b'{"text": "plain"}'])
def test_clean_bodies_pass(raw):
    body_checks.check_storable(raw, "generic")
