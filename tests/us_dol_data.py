"""Shared fixtures for the US DOL tests: the real public data in place (never copied into the repo)."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def require_data() -> Path:
    if not (DATA_DIR / "oflc_h2_disclosure").is_dir():
        pytest.skip(f"the US DOL public data is not at {DATA_DIR} (../shared/data beside the checkout)")
    return DATA_DIR
