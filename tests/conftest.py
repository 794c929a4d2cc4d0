"""Shared fixtures: synthetic worlds generated once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.world import simulate_world

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny_world")
    simulate_world("tiny", 11, out, workers=1)
    return out


@pytest.fixture(scope="session")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("small_world")
    simulate_world("small", 7, out, workers=2)
    return out
