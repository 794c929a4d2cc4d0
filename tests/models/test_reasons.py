"""Reasons: one encoder to the stored text and one decoder back, exact inverses, reading the stored format."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from models.reasons import Reason, decode_reasons, encode_reasons, reasons_text

# A score's reasons as the scoring renderer stored them (bytes of a published row).
STORED = (
    '[{"indicator_id":"E13","title":"Risk of the recruiters the employer uses","value":0.536611,'
    '"detail":"8 of 14 applications came through an unlicensed, lapsed or sanctioned intermediary; peers 4.9%",'
    '"contribution":0.495025,"link":"docs/indicators/E13.md"},'
    '{"indicator_id":"E01","title":"Passport retention","value":null,"detail":"not measured; peers 0.0%",'
    '"contribution":1.0,"link":"docs/indicators/E01.md"}]'
)
TYPED = [
    Reason(
        "E13",
        "Risk of the recruiters the employer uses",
        0.536611,
        "8 of 14 applications came through an unlicensed, lapsed or sanctioned intermediary; peers 4.9%",
        0.495025,
        "docs/indicators/E13.md",
    ),
    Reason("E01", "Passport retention", None, "not measured; peers 0.0%", 1.0, "docs/indicators/E01.md"),
]

finite = st.floats(allow_nan=False, allow_infinity=False)
reasons = st.lists(
    st.builds(Reason, st.text(), st.text(), st.none() | finite, st.text(), finite, st.text()), max_size=5
)


def test_decoding_the_stored_format_gives_the_typed_reasons() -> None:
    assert decode_reasons(STORED) == TYPED
    assert decode_reasons("[]") == []


def test_encoding_gives_the_stored_format_byte_for_byte() -> None:
    assert encode_reasons(TYPED) == STORED
    assert encode_reasons([]) == "[]"


def test_the_decoder_reads_stored_json_with_whitespace_and_integral_numbers() -> None:
    text = json.dumps([{**TYPED[1]._asdict(), "value": 2, "contribution": 1}], indent=1)
    (reason,) = decode_reasons(text)
    assert reason == TYPED[1]._replace(value=2.0, contribution=1.0)
    assert isinstance(reason.value, float) and isinstance(reason.contribution, float)


def test_the_decoder_can_stop_after_the_first_reasons() -> None:
    assert decode_reasons(STORED, top=1) == TYPED[:1]


@given(reasons)
def test_encode_then_decode_gives_the_same_reasons(typed: list[Reason]) -> None:
    text = encode_reasons(typed)
    assert decode_reasons(text) == typed
    stored = json.loads(text)
    assert stored == [r._asdict() for r in typed] and all(list(r) == list(Reason._fields) for r in stored)


def test_reasons_on_one_line_read_title_and_detail_in_order() -> None:
    assert reasons_text(TYPED) == (
        "Risk of the recruiters the employer uses: 8 of 14 applications came through an unlicensed, lapsed or "
        "sanctioned intermediary; peers 4.9%; Passport retention: not measured; peers 0.0%"
    )
    assert reasons_text([]) == ""
