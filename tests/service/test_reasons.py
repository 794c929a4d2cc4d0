"""service/reasons.py: stored reasons parsed straight into the API's model, linking to the service's pages."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from models.reasons import Reason, decode_reasons, docs_link, encode_reasons
from service.reasons import ReasonOut, indicator_link, public_reasons

finite = st.floats(allow_nan=False, allow_infinity=False)
ids = st.text(alphabet="ABCDEFGRV0123456789", min_size=1, max_size=4)
stored_reasons = st.lists(
    st.builds(
        lambda i, title, value, detail, contribution: Reason(i, title, value, detail, contribution, docs_link(i)),
        ids,
        st.text(),
        st.none() | finite,
        st.text(),
        finite,
    ),
    max_size=5,
)


def test_each_reason_links_to_the_services_indicator_page() -> None:
    stored = encode_reasons([Reason("E13", "Risk of recruiters", 0.5, "8 of 14", 0.49, docs_link("E13"))])
    assert public_reasons(stored) == [
        ReasonOut(
            indicator_id="E13",
            title="Risk of recruiters",
            value=0.5,
            detail="8 of 14",
            contribution=0.49,
            link="/v1/indicators/E13",
        )
    ]
    assert public_reasons("[]") == []


def test_stored_text_with_whitespace_and_integral_numbers_is_read_as_floats() -> None:
    text = json.dumps([{**Reason("E01", "t", None, "d", 1.0, docs_link("E01"))._asdict(), "contribution": 1}], indent=1)
    (reason,) = public_reasons(text)
    assert reason.value is None and reason.contribution == 1.0 and isinstance(reason.contribution, float)


@given(stored_reasons)
def test_the_api_shows_what_the_models_decoder_reads_but_the_link(typed: list[Reason]) -> None:
    text = encode_reasons(typed)
    shown = public_reasons(text)
    expected = [r._replace(link=indicator_link(r.indicator_id)) for r in decode_reasons(text)]
    # repr: the same floats to the bit (-0.0 included), in the stored order
    assert [repr(tuple(r.model_dump().values())) for r in shown] == [repr(tuple(r)) for r in expected]
