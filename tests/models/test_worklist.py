"""Worklists: the exploration share of random picks, flagged, and expected findings."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.worklist import build_worklist, exploration_count, seed_for


def ranked(n: int) -> list[dict[str, object]]:
    return [{"entity_id": f"E{i:04d}", "rank": i + 1, "probability": 1.0 / (i + 2)} for i in range(n)]


@given(
    n=st.integers(1, 400),
    capacity=st.integers(1, 120),
    share=st.floats(0.0, 0.5),
    seed=st.integers(0, 2**32),
)
def test_exploration_share_and_picks(n: int, capacity: int, share: float, seed: int) -> None:
    rows = ranked(n)
    wl = build_worklist(rows, capacity, share, seed)
    k = min(capacity, n)
    assert len(wl.items) == k
    explore = [r for r in wl.items if r["exploration"]]
    top = [r for r in wl.items if not r["exploration"]]
    assert len(explore) == exploration_count(k, share)
    # model picks are exactly the top of the ranking; exploration picks come from below them
    assert [r["rank"] for r in top] == list(range(1, len(top) + 1))
    assert all(int(str(r["rank"])) > len(top) for r in explore)
    assert len({r["entity_id"] for r in wl.items}) == k
    expected = sum(float(str(r["probability"])) for r in wl.items)
    assert wl.expected_findings == pytest.approx(expected)
    assert wl.expected_findings == pytest.approx(wl.expected_findings_ranked + wl.expected_findings_exploration)


def test_default_share_is_ten_percent_and_same_seed_same_list() -> None:
    rows = ranked(1000)
    a = build_worklist(rows, 50, seed=seed_for("run-1", "employer"))
    b = build_worklist(rows, 50, seed=seed_for("run-1", "employer"))
    assert sum(r["exploration"] for r in a.items) == 5
    assert [r["entity_id"] for r in a.items] == [r["entity_id"] for r in b.items]
    c = build_worklist(rows, 50, seed=seed_for("run-2", "employer"))
    assert [r["entity_id"] for r in a.items] != [r["entity_id"] for r in c.items]


def test_exploration_picks_are_spread_over_the_rest() -> None:
    rows = ranked(200)
    lists = [build_worklist(rows, 20, 0.1, seed).items for seed in range(300)]
    ranks = [int(str(r["rank"])) for items in lists for r in items if r["exploration"]]
    # uniform over ranks 19..200: mean near 109.5, and both halves of the remainder are visited
    assert 95 < sum(ranks) / len(ranks) < 125
    assert min(ranks) < 40 and max(ranks) > 180


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="capacity"):
        build_worklist(ranked(5), 0)
    with pytest.raises(ValueError, match="exploration share"):
        build_worklist(ranked(5), 3, 1.5)
